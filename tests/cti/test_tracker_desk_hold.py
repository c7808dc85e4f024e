"""Hold from the agent desktop (docs/hold.md) in hand-built streams shaped like capture 17:
one Redirect with ExtraChannel takes both legs out of the bridge into the hold contexts, a
Redirect of the caller to hotline-resume bridges them again. The call must stay whole."""

from __future__ import annotations

from datetime import UTC, datetime

from cti.events import CallAbandoned, CallEnded, CallHeld, CallResumed, CallTransferred, SwitchEvent
from cti.snapshot import SwitchSnapshot
from tests.cti.test_tracker_flows import CALL, CALLER, T0, Stream, answered_by_queue

AGENT = "PJSIP/1001-00000011"


def names(events: list[SwitchEvent]) -> list[str]:
    return [type(e).__name__ for e in events if type(e).__name__ != "RecordingStarted"]


def hold(stream: Stream, *, agent_first: bool = False) -> None:
    """What the dual Redirect shows: both legs leave the bridge, then run the hold contexts."""
    order = [(AGENT, 1), (CALLER, 0)] if agent_first else [(CALLER, 1), (AGENT, 0)]
    for name, left in order:
        stream.bridge("bridge-1", name, leave=True, left=left)
    stream.send("BridgeDestroy", BridgeUniqueid="bridge-1", BridgeNumChannels="0")
    stream.exten(CALLER, "hotline-hold", "s", "NoOp", f"Hold {CALL} for {AGENT}")
    stream.exten(AGENT, "hotline-hold-agent", "s", "NoOp", f"Agent leg of {CALL} on hold")
    stream.exten(CALLER, "hotline-hold", "s", "Set", "HOTLINE_HOLD_STATE=held")
    stream.exten(CALLER, "hotline-hold", "s", "MusicOnHold", "default,900")
    stream.send("MusicOnHoldStart", **stream.chan(CALLER), Class="default")
    stream.exten(AGENT, "hotline-hold-agent", "s", "Wait", "960")


def resume(stream: Stream) -> None:
    """Redirect to hotline-resume: Bridge() moves the agent's leg into a new bridge with the
    caller, the agent's leg first, with no masquerade (capture 17)."""
    stream.send("MusicOnHoldStop", **stream.chan(CALLER))
    stream.exten(CALLER, "hotline-resume", "s", "Set", "HOTLINE_HOLD_STATE=resumed")
    stream.exten(CALLER, "hotline-resume", "s", "Bridge", f"{AGENT},x")
    stream.send("BridgeCreate", BridgeUniqueid="bridge-2", BridgeNumChannels="0")
    stream.bridge("bridge-2", AGENT, CALLER)


def test_hold_and_resume_report_held_and_resumed_and_the_call_goes_on() -> None:
    stream = Stream()
    answered_by_queue(stream)
    stream.at(12)
    hold(stream)
    assert [(type(e).__name__, e.channel) for e in stream.events[-1:]] == [("CallHeld", AGENT)]
    stream.at(30)
    resume(stream)
    assert [(type(e).__name__, e.channel) for e in stream.events[-1:]] == [("CallResumed", AGENT)]
    stream.at(40).send("HangupRequest", **stream.chan(CALLER))
    stream.bridge("bridge-2", CALLER, leave=True, left=1)
    stream.bridge("bridge-2", AGENT, leave=True, left=0)
    stream.hangup(AGENT)
    stream.hangup(CALLER)
    assert names(stream.events) == [
        *("CallOffered", "CallQueued", "CallRinging", "CallAnswered"),
        *("CallHeld", "CallResumed", "CallEnded"),
    ]
    [ended] = stream.of(CallEnded)
    assert (ended.agent, ended.talk_seconds, ended.cause) == ("PJSIP/1001", 32.0, "normal")


def test_the_legs_may_leave_the_bridge_in_either_order() -> None:
    stream = Stream()
    answered_by_queue(stream)
    hold(stream, agent_first=True)
    resume(stream)
    assert [type(e) for e in stream.events[-2:]] == [CallHeld, CallResumed]
    assert stream.of(CallTransferred) == []


def test_every_message_twice_gives_the_same_events() -> None:
    once, twice = Stream(), Stream()
    original = twice.send

    def send_twice(event: str, **headers: str) -> list[SwitchEvent]:
        return original(event, **headers) + original(event, **headers)

    twice.send = send_twice  # type: ignore[method-assign]
    for stream in (once, twice):
        answered_by_queue(stream)
        hold(stream)
        resume(stream)
        hold(stream)
        stream.at(50).hangup(CALLER)
        stream.hangup(AGENT)
    assert names(twice.events) == names(once.events)
    assert names(once.events)[-4:] == ["CallHeld", "CallResumed", "CallHeld", "CallEnded"]


def test_the_agent_leg_hung_up_on_hold_ends_the_call_once_without_abandon_or_transfer() -> None:
    stream = Stream()
    answered_by_queue(stream)
    stream.at(12)
    hold(stream)
    stream.at(20).send("HangupRequest", **stream.chan(AGENT))
    stream.exten(AGENT, "hotline-hold-agent", "h", "ExecIf", f"1?SoftHangup({CALLER})")
    stream.send("SoftHangupRequest", **stream.chan(CALLER), Cause="16")
    stream.hangup(AGENT)
    stream.send("MusicOnHoldStop", **stream.chan(CALLER))
    stream.exten(CALLER, "hotline-hold", "h", "ExecIf", f"0?SoftHangup({AGENT})")
    stream.hangup(CALLER)
    assert names(stream.events)[-2:] == ["CallHeld", "CallEnded"]
    assert stream.of(CallAbandoned) == [] and stream.of(CallTransferred) == []
    [ended] = stream.of(CallEnded)
    assert ended.talk_seconds == 12.0  # answer at 8 to the agent's hang-up at 20
    assert stream.tracker.open_call_ids() == set()


def test_the_caller_hanging_up_on_hold_ends_the_call() -> None:
    stream = Stream()
    answered_by_queue(stream)
    hold(stream)
    stream.at(20).send("HangupRequest", **stream.chan(CALLER))
    stream.exten(CALLER, "hotline-hold", "h", "ExecIf", f"1?SoftHangup({AGENT})")
    stream.hangup(CALLER)
    stream.hangup(AGENT)
    assert names(stream.events)[-2:] == ["CallHeld", "CallEnded"]
    assert stream.of(CallAbandoned) == [] and stream.of(CallTransferred) == []


def test_past_the_limit_the_caller_back_in_the_queue_has_left_its_agent() -> None:
    stream = Stream()
    answered_by_queue(stream)
    hold(stream)
    stream.at(912).send("MusicOnHoldStop", **stream.chan(CALLER))
    stream.exten(CALLER, "hotline-hold", "s", "Set", "HOTLINE_HOLD_STATE=over")
    stream.exten(CALLER, "hotline-hold", "s", "SoftHangup", AGENT)
    stream.hangup(AGENT)
    stream.exten(CALLER, "hotline-hold", "s", "Goto", "hotline-requeue,s,1")
    stream.exten(CALLER, "hotline-requeue", "s", "Set", "HOTLINE_QUEUED_AT=")
    stream.join()
    transfers = stream.of(CallTransferred)
    assert [(t.from_agent, t.to) for t in transfers] == [("PJSIP/1001", "support")]
    # The hold is over when the caller leaves it (the agent's leg was already gone).
    assert [e.channel for e in stream.of(CallResumed)] == [AGENT]
    assert names(stream.events)[-4:] == ["CallHeld", "CallResumed", "CallTransferred", "CallQueued"]


def test_phone_hold_still_reports_from_hold_and_unhold_events() -> None:
    stream = Stream()
    answered_by_queue(stream)
    stream.send("Hold", **stream.chan(AGENT), MusicClass="default")
    stream.send("Unhold", **stream.chan(AGENT))
    assert [type(e) for e in stream.events[-2:]] == [CallHeld, CallResumed]


def test_a_call_held_across_a_reconnect_stays_held_and_is_resumed_after_it() -> None:
    stream = Stream()
    answered_by_queue(stream)
    hold(stream)
    listed = [
        {"Event": "CoreShowChannel", **stream.chan(name), "BridgeId": "", "Application": app}
        for name, app in ((CALLER, "MusicOnHold"), (AGENT, "Wait"))
    ]
    events = stream.tracker.resync(SwitchSnapshot(at=datetime.fromtimestamp(T0 + 60, UTC), channels=listed))
    assert names(events) == ["SwitchResynced"]  # neither ended nor answered again
    resume(stream)
    assert type(stream.events[-1]) is CallResumed
