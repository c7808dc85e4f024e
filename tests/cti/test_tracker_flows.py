"""Flows no transcript covers, built as small streams in the shapes of the real events:
delivery by Redirect from a queue (docs/routing.md), Local channels, blind and attended
transfers, a Redirect out of a bridge, and a call that ended while the link was down.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cti.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallQueued,
    CallRinging,
    CallTransferred,
    EndCause,
    RecordingStopped,
    SwitchEvent,
    SwitchResynced,
    TransferKind,
)
from cti.snapshot import SwitchSnapshot
from cti.tracker import CallTracker

T0 = 1795500000.0
CALLER = "PJSIP/trunk-00000010"
CALL = "1795500000.10"


class Stream:
    """AMI messages in the shapes Asterisk 22 sends them, with a clock the test moves."""

    def __init__(self) -> None:
        self.t = T0
        self.channels: dict[str, tuple[str, str]] = {}  # name → (uniqueid, linkedid)
        self.tracker = CallTracker(clock=lambda: datetime.fromtimestamp(self.t, UTC))
        self.events: list[SwitchEvent] = []

    def at(self, seconds: float) -> Stream:
        self.t = T0 + seconds
        return self

    def send(self, event: str, **headers: str) -> list[SwitchEvent]:
        message = {"Event": event, "Timestamp": f"{self.t:.6f}", **headers}
        out = self.tracker.feed(message)
        self.events.extend(out)
        return out

    def chan(self, name: str) -> dict[str, str]:
        uniqueid, linkedid = self.channels[name]
        return {"Channel": name, "Uniqueid": uniqueid, "Linkedid": linkedid}

    def dest(self, name: str) -> dict[str, str]:
        uniqueid, linkedid = self.channels[name]
        return {"DestChannel": name, "DestUniqueid": uniqueid, "DestLinkedid": linkedid}

    def new(self, name: str, uniqueid: str, linkedid: str, state: str = "0", exten: str = "s") -> None:
        self.channels[name] = (uniqueid, linkedid)
        self.send(
            "Newchannel",
            **self.chan(name),
            ChannelState=state,
            ChannelStateDesc="Ring" if state == "4" else "Down",
            CallerIDNum="13800131000",
            CallerIDName="Caller 1",
            Exten=exten,
        )

    def inbound(self) -> None:
        self.new(CALLER, CALL, CALL, state="4", exten="4008123456")

    def exten(self, name: str, context: str, exten: str, app: str, data: str = "") -> None:
        self.send(
            "Newexten", **self.chan(name), Context=context, Extension=exten, Application=app, AppData=data
        )

    def join(self, queue: str = "support", position: int = 1) -> None:
        self.send("QueueCallerJoin", **self.chan(CALLER), Queue=queue, Position=str(position), Count="1")

    def leave(self, queue: str = "support") -> None:
        self.send("QueueCallerLeave", **self.chan(CALLER), Queue=queue, Position="1", Count="0")

    def dial(self, source: str | None, dest: str, status: str | None = None) -> None:
        source_headers = self.chan(source) if source else {}
        if status is None:
            self.send("DialBegin", **source_headers, **self.dest(dest), DialString=dest.split("-")[0])
        else:
            self.send("DialEnd", **source_headers, **self.dest(dest), DialStatus=status)

    def bridge(self, bridge: str, *names: str, leave: bool = False, left: int = 0) -> None:
        for index, name in enumerate(names):
            count = left if leave else index + 1
            event = "BridgeLeave" if leave else "BridgeEnter"
            self.send(event, BridgeUniqueid=bridge, BridgeNumChannels=str(count), **self.chan(name))

    def hangup(self, name: str, cause: str = "16") -> None:
        self.send("Hangup", **self.chan(name), Cause=cause)

    def of(self, kind: type) -> list:
        return [event for event in self.events if isinstance(event, kind)]


def answered_by_queue(
    stream: Stream, agent: str = "PJSIP/1001-00000011", uniqueid: str = "1795500010.11"
) -> None:
    stream.inbound()
    stream.at(5).join()
    stream.new(agent, uniqueid, CALL)
    stream.send(
        "AgentCalled",
        **stream.chan(CALLER),
        **stream.dest(agent),
        Queue="support",
        Interface=agent.split("-")[0],
    )
    stream.dial(CALLER, agent)
    stream.at(8).dial(CALLER, agent, "ANSWER")
    stream.leave()
    stream.send(
        "AgentConnect",
        **stream.chan(CALLER),
        **stream.dest(agent),
        Queue="support",
        Interface=agent.split("-")[0],
        HoldTime="3",
        RingTime="3",
    )
    stream.bridge("bridge-1", agent, CALLER)


# --- delivery by Redirect from the queue (docs/routing.md) ---------------------------------


def delivered_by_redirect(stream: Stream) -> str:
    agent = "PJSIP/1002-00000012"
    stream.inbound()
    stream.at(10).join()
    # As capture 16: app_queue reports the Redirect out of Queue() as an abandon, the channel
    # already at its new place and not hanging up.
    stream.at(25).exten(CALLER, "hotline-deliver", "1002", "Queue", "support,,,,180")
    stream.send(
        "QueueCallerAbandon",
        **stream.chan(CALLER),
        Queue="support",
        Position="1",
        OriginalPosition="1",
        HoldTime="15",
    )
    stream.leave()
    stream.exten(CALLER, "hotline-deliver", "1002", "Dial", "PJSIP/1002,20")
    stream.new(agent, "1795500025.12", CALL)
    stream.dial(CALLER, agent)
    stream.send("DialState", **stream.chan(CALLER), **stream.dest(agent), DialStatus="RINGING")
    return agent


def test_redirect_delivery_rings_and_answers_with_the_queue_the_caller_left() -> None:
    stream = Stream()
    agent = delivered_by_redirect(stream)
    stream.at(28).dial(CALLER, agent, "ANSWER")
    stream.bridge("bridge-2", agent, CALLER)
    stream.at(40).hangup(CALLER)
    stream.hangup(agent)
    ringing, answered, ended = stream.of(CallRinging), stream.of(CallAnswered), stream.of(CallEnded)
    assert [(r.agent, r.queue, r.agent_channel) for r in ringing] == [("PJSIP/1002", "support", agent)]
    assert [(a.agent, a.queue, a.wait_seconds, a.ring_seconds) for a in answered] == [
        ("PJSIP/1002", "support", 18.0, 3.0)
    ]
    assert [(e.talk_seconds, e.agent, e.cause) for e in ended] == [(12.0, "PJSIP/1002", EndCause.NORMAL)]
    assert stream.of(CallTransferred) == []
    assert stream.of(CallAbandoned) == []


def test_missed_delivery_puts_the_caller_back_in_queue_and_the_abandon_counts() -> None:
    stream = Stream()
    agent = delivered_by_redirect(stream)
    stream.at(45).dial(CALLER, agent, "NOANSWER")
    stream.hangup(agent, cause="19")
    stream.join(position=1)
    stream.at(50).send("HangupRequest", **stream.chan(CALLER))
    stream.send(
        "QueueCallerAbandon",
        **stream.chan(CALLER),
        Queue="support",
        Position="1",
        OriginalPosition="1",
        HoldTime="5",
    )
    stream.hangup(CALLER, cause="0")
    assert [type(e).__name__ for e in stream.events] == [
        "CallOffered",
        "CallQueued",
        "CallRinging",
        "CallQueued",
        "CallAbandoned",
        "CallEnded",
    ]
    assert stream.of(CallAbandoned)[0].wait_seconds == 5.0
    assert stream.of(CallEnded)[0].cause == EndCause.NORMAL


def test_caller_hanging_up_while_the_delivered_agent_rings_is_abandoned_from_the_queue() -> None:
    stream = Stream()
    agent = delivered_by_redirect(stream)
    stream.at(27).hangup(CALLER, cause="0")
    stream.hangup(agent, cause="26")
    abandoned = stream.of(CallAbandoned)
    assert [(a.queue, a.wait_seconds, a.position) for a in abandoned] == [("support", 17.0, 1)]
    kinds = [type(e).__name__ for e in stream.events]
    assert kinds[-2:] == ["CallAbandoned", "CallEnded"]


# --- Local channels --------------------------------------------------------------------------


def test_local_queue_member_rings_once_and_its_real_phone_carries_the_call() -> None:
    stream = Stream()
    one, two, phone = "Local/1001@agents-00000001;1", "Local/1001@agents-00000001;2", "PJSIP/1001-00000013"
    stream.inbound()
    stream.at(5).join()
    stream.new(one, "1795500005.20", CALL)
    stream.new(two, "1795500005.21", CALL, state="4", exten="1001")
    stream.send(
        "AgentCalled",
        **stream.chan(CALLER),
        **stream.dest(one),
        Queue="support",
        Interface="Local/1001@agents",
    )
    stream.dial(CALLER, one)
    stream.new(phone, "1795500005.22", CALL)
    stream.dial(two, phone)
    stream.at(7).dial(two, phone, "ANSWER")
    stream.dial(CALLER, one, "ANSWER")
    stream.send(
        "AgentConnect",
        **stream.chan(CALLER),
        **stream.dest(one),
        Queue="support",
        Interface="Local/1001@agents",
        HoldTime="2",
        RingTime="2",
    )
    stream.bridge("bridge-3", one, CALLER)
    stream.bridge("bridge-4", two, phone)
    stream.send("LocalOptimizationBegin", LocalOneChannel=one, LocalTwoChannel=two)
    stream.hangup(one)
    stream.hangup(two)
    stream.at(9).send("Hold", **stream.chan(phone))
    stream.at(20).send(
        "AgentComplete", **stream.chan(CALLER), **stream.dest(one), TalkTime="13", HoldTime="2"
    )
    stream.hangup(CALLER)
    stream.hangup(phone)
    assert [type(e).__name__ for e in stream.events] == [
        "CallOffered",
        "CallQueued",
        "CallRinging",
        "CallAnswered",
        "CallHeld",
        "CallEnded",
    ]
    assert stream.of(CallRinging)[0].agent == "Local/1001@agents"
    assert stream.of(CallHeld)[0].channel == phone
    assert stream.of(CallEnded)[0].talk_seconds == 13.0


def test_dial_through_a_local_channel_names_the_phone_that_rings() -> None:
    stream = Stream()
    one, two, phone = "Local/1003@deliver-00000002;1", "Local/1003@deliver-00000002;2", "PJSIP/1003-00000014"
    stream.inbound()
    stream.new(one, "1795500001.30", CALL)
    stream.new(two, "1795500001.31", CALL, state="4", exten="1003")
    stream.dial(CALLER, one)
    stream.new(phone, "1795500001.32", CALL)
    stream.at(1).dial(two, phone)
    stream.at(4).dial(two, phone, "ANSWER")
    stream.dial(CALLER, one, "ANSWER")
    assert [(r.agent, r.agent_channel) for r in stream.of(CallRinging)] == [("PJSIP/1003", phone)]
    assert [(a.agent, a.ring_seconds) for a in stream.of(CallAnswered)] == [("PJSIP/1003", 3.0)]
    assert len(stream.of(CallOffered)) == 1


# --- transfers -------------------------------------------------------------------------------


def blind_transfer(stream: Stream) -> None:
    stream.send(
        "BlindTransfer",
        Result="Success",
        TransfererChannel="PJSIP/1001-00000011",
        TransfererUniqueid="1795500010.11",
        TransfererLinkedid=CALL,
        TransfereeChannel=CALLER,
        TransfereeUniqueid=CALL,
        TransfereeLinkedid=CALL,
        IsExternal="No",
        Context="transfer",
        Extension="1002",
    )


def after_transfer_to_1002(stream: Stream) -> None:
    agent, target = "PJSIP/1001-00000011", "PJSIP/1002-00000015"
    stream.exten(CALLER, "transfer", "1002", "Dial", "PJSIP/1002,20,tT")
    stream.hangup(agent)
    stream.new(target, "1795500012.15", CALL)
    stream.dial(CALLER, target)
    stream.at(14).dial(CALLER, target, "ANSWER")
    stream.bridge("bridge-5", target, CALLER)
    stream.at(30).hangup(CALLER)
    stream.hangup(target)


def test_blind_transfer_moves_the_caller_to_the_next_agent() -> None:
    stream = Stream()
    answered_by_queue(stream)
    stream.at(12)
    blind_transfer(stream)
    stream.bridge("bridge-1", CALLER, leave=True, left=1)
    after_transfer_to_1002(stream)
    transfers = stream.of(CallTransferred)
    assert [(t.from_agent, t.to, t.kind) for t in transfers] == [("PJSIP/1001", "1002", TransferKind.BLIND)]
    assert [(a.agent, a.queue) for a in stream.of(CallAnswered)] == [
        ("PJSIP/1001", "support"),
        ("PJSIP/1002", ""),
    ]
    assert [(e.agent, e.talk_seconds) for e in stream.of(CallEnded)] == [("PJSIP/1002", 20.0)]


def test_blind_transfer_reported_once_whichever_comes_first_the_event_or_the_dialplan() -> None:
    stream = Stream()
    answered_by_queue(stream)
    stream.at(12).bridge("bridge-1", CALLER, leave=True, left=1)
    stream.exten(CALLER, "transfer", "1002", "Dial", "PJSIP/1002,20,tT")
    blind_transfer(stream)
    blind_transfer(stream)
    assert len(stream.of(CallTransferred)) == 1


def test_redirect_out_of_a_bridge_is_a_blind_transfer() -> None:
    stream = Stream()
    answered_by_queue(stream)
    stream.at(12).bridge("bridge-1", CALLER, leave=True, left=1)
    stream.exten(CALLER, "hotline-deliver", "1003", "Dial", "PJSIP/1003,20")
    transfers = stream.of(CallTransferred)
    assert [(t.from_agent, t.to, t.kind) for t in transfers] == [("PJSIP/1001", "1003", TransferKind.BLIND)]


def test_redirect_out_of_a_bridge_is_a_transfer_as_asterisk_writes_it() -> None:
    # Capture 17's order: the caller's new place (naming the application it ran) comes before
    # its BridgeLeave, and the target's first priority writes nothing more.
    stream = Stream()
    answered_by_queue(stream)
    stream.at(12).exten(CALLER, "hotline-transfer", "1003", "Queue", "support,tT,,,120")
    stream.bridge("bridge-1", CALLER, leave=True, left=1)
    transfers = stream.of(CallTransferred)
    assert [(t.from_agent, t.to, t.kind) for t in transfers] == [("PJSIP/1001", "1003", TransferKind.BLIND)]


def test_agent_hanging_up_first_is_not_a_transfer_though_the_caller_runs_dialplan_after() -> None:
    stream = Stream()
    answered_by_queue(stream)
    stream.at(12).send("HangupRequest", **stream.chan("PJSIP/1001-00000011"))
    stream.bridge("bridge-1", "PJSIP/1001-00000011", leave=True, left=1)
    stream.bridge("bridge-1", CALLER, leave=True, left=0)
    stream.hangup("PJSIP/1001-00000011")
    stream.exten(CALLER, "from-trunk", "4008123456", "AGI", "agi://127.0.0.1:4573/survey")
    stream.at(20).hangup(CALLER)
    assert stream.of(CallTransferred) == []
    assert [e.talk_seconds for e in stream.of(CallEnded)] == [4.0]


def test_attended_transfer_hands_the_caller_to_the_consulted_agent() -> None:
    stream = Stream()
    answered_by_queue(stream)
    consult, target = "PJSIP/1001-00000016", "PJSIP/1002-00000017"
    stream.at(12).send("Hold", **stream.chan("PJSIP/1001-00000011"))
    stream.new(consult, "1795500012.16", "1795500012.16", state="4", exten="1002")
    stream.new(target, "1795500012.17", "1795500012.16")
    stream.dial(consult, target)
    stream.at(15).dial(consult, target, "ANSWER")
    stream.bridge("bridge-6", target, consult)
    stream.at(20).send(
        "AttendedTransfer",
        Result="Success",
        OrigTransfererChannel="PJSIP/1001-00000011",
        OrigTransfererUniqueid="1795500010.11",
        SecondTransfererChannel=consult,
        SecondTransfererUniqueid="1795500012.16",
        TransfereeChannel=CALLER,
        TransfereeUniqueid=CALL,
        TransferTargetChannel=target,
        TransferTargetUniqueid="1795500012.17",
        DestType="Bridge",
        IsExternal="No",
    )
    stream.hangup("PJSIP/1001-00000011")
    stream.hangup(consult)
    stream.at(50).hangup(CALLER)
    stream.hangup(target)
    transfers = stream.of(CallTransferred)
    assert [(t.call_id, t.from_agent, t.to, t.kind) for t in transfers] == [
        (CALL, "PJSIP/1001", "PJSIP/1002", TransferKind.ATTENDED)
    ]
    ended = {e.call_id: e for e in stream.of(CallEnded)}
    assert set(ended) == {CALL, "1795500012.16"}
    assert (ended[CALL].agent, ended[CALL].talk_seconds) == (
        "PJSIP/1002",
        42.0,
    )  # 1001 talked 12 s, 1002 30 s
    assert ended["1795500012.16"].agent == ""  # the consulted agent went on with our caller


# --- the link was down -----------------------------------------------------------------------


def test_call_that_ended_while_the_link_was_down_ends_lost_with_its_recording_closed() -> None:
    stream = Stream()
    answered_by_queue(stream)
    stream.send("VarSet", **stream.chan(CALLER), Variable="MIXMONITOR_FILENAME", Value="/rec/a.wav")
    stream.send("MixMonitorStart", **stream.chan(CALLER))
    snapshot = SwitchSnapshot(at=datetime.fromtimestamp(T0 + 60, UTC))
    events = stream.tracker.resync(snapshot)
    assert [type(e).__name__ for e in events] == ["RecordingStopped", "CallEnded", "SwitchResynced"]
    stopped, ended, resynced = events
    assert isinstance(stopped, RecordingStopped) and stopped.file == "/rec/a.wav"
    assert isinstance(ended, CallEnded)
    assert (ended.cause, ended.cause_code, ended.agent) == (EndCause.LOST_DURING_DISCONNECT, 0, "PJSIP/1001")
    assert resynced == SwitchResynced(at=snapshot.at, calls=(), members=0)
    assert stream.tracker.open_call_ids() == set()
    stream.hangup(CALLER)  # the old connection's last words, late: nothing new
    assert stream.tracker.feed({"Event": "Hangup", **stream.chan(CALLER)}) == []


def test_queued_call_seen_answered_in_the_snapshot_is_answered_after_resync() -> None:
    stream = Stream()
    stream.inbound()
    stream.at(5).join()
    item = {
        "Event": "CoreShowChannel",
        "Channel": CALLER,
        "Uniqueid": CALL,
        "Linkedid": CALL,
        "BridgeId": "b-9",
    }
    agent = {
        "Event": "CoreShowChannel",
        "Channel": "PJSIP/1004-00000018",
        "Uniqueid": "1795500009.18",
        "Linkedid": CALL,
        "BridgeId": "b-9",
    }
    snapshot = SwitchSnapshot(at=datetime.fromtimestamp(T0 + 30, UTC), channels=[item, agent])
    events = stream.tracker.resync(snapshot)
    answered = [e for e in events if isinstance(e, CallAnswered)]
    assert [(a.agent, a.queue, a.wait_seconds) for a in answered] == [("PJSIP/1004", "support", 25.0)]
    assert not [e for e in events if isinstance(e, CallQueued | CallOffered)]


# --- queue priority, members, silent legs ----------------------------------------------------


def test_queue_priority_comes_from_queue_prio_not_the_dialplan_priority() -> None:
    stream = Stream()
    stream.inbound()
    stream.send("VarSet", **stream.chan(CALLER), Variable="QUEUE_PRIO", Value="10")
    stream.send(
        "QueueCallerJoin", **stream.chan(CALLER), Queue="support", Position="1", Count="1", Priority="6"
    )
    assert [(q.queue, q.priority) for q in stream.of(CallQueued)] == [("support", 10)]


def test_resync_reports_what_changed_among_members_while_the_link_was_down() -> None:
    stream = Stream()
    for queue, interface in (("support", "PJSIP/1001"), ("sales", "PJSIP/1002"), ("vip", "PJSIP/1009")):
        stream.send(
            "QueueMemberAdded", Queue=queue, Interface=interface, MemberName=interface, Status="1", Paused="0"
        )
    params = [{"Event": "QueueParams", "Queue": queue} for queue in ("support", "sales")]
    members = [
        {
            "Event": "QueueMember",
            "Queue": "support",
            "Name": "A",
            "Location": "PJSIP/1001",
            "Status": "2",
            "Paused": "1",
        },
        {
            "Event": "QueueMember",
            "Queue": "support",
            "Name": "C",
            "Location": "PJSIP/1003",
            "Status": "1",
            "Paused": "0",
        },
    ]
    members[0]["PausedReason"] = "lunch"
    snapshot = SwitchSnapshot(at=datetime.fromtimestamp(T0 + 5, UTC), queue_status=[*params, *members])
    events = stream.tracker.resync(snapshot)
    changes = [(e.queue, e.interface, str(e.change), e.paused, e.reason, e.device_state) for e in events[:-1]]
    assert changes == [
        ("sales", "PJSIP/1002", "removed", False, "", "NOT_INUSE"),
        ("support", "PJSIP/1001", "paused", True, "lunch", "INUSE"),
        ("support", "PJSIP/1001", "device", True, "lunch", "INUSE"),
        ("support", "PJSIP/1003", "added", False, "", "NOT_INUSE"),
    ]
    # The phones homed here: the members now, with vip's, a queue the snapshot did not list.
    phones = ("PJSIP/1001", "PJSIP/1003", "PJSIP/1009")
    assert events[-1] == SwitchResynced(at=snapshot.at, calls=(), members=2, phones=phones)


def test_a_leg_that_never_showed_as_a_call_ends_without_any_event() -> None:
    stream = Stream()
    stream.new("PJSIP/2001-00000020", "1795500100.40", "1795500100.40")
    stream.exten("PJSIP/2001-00000020", "spy", "1001", "ChanSpy", "PJSIP/1001,q")
    stream.hangup("PJSIP/2001-00000020")
    assert stream.events == []
    assert stream.tracker.calls == {}


def test_talk_time_is_asterisks_even_when_agent_complete_comes_after_the_agent_hung_up() -> None:
    stream = Stream()
    answered_by_queue(stream)
    agent = "PJSIP/1001-00000011"
    stream.at(12).bridge("bridge-1", agent, leave=True, left=1)
    stream.hangup(agent)
    stream.send("AgentComplete", **stream.chan(CALLER), **stream.dest(agent), TalkTime="5", Reason="agent")
    stream.at(15).hangup(CALLER)
    assert [(e.talk_seconds, e.agent) for e in stream.of(CallEnded)] == [(5.0, "PJSIP/1001")]
