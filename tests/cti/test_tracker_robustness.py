"""Duplicated, reordered, unknown and hostile input: the tracker never crashes, never reports a
call twice, and never leaves a call open once all its channels have hung up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_tracker import SINGLE_CAPTURES, capture, fixed_clock, records, run, scenario_events

from cti.events import CallAbandoned, CallEnded, SwitchResynced
from cti.snapshot import SwitchSnapshot
from cti.tracker import ENDED_MEMORY, CallTracker


@pytest.mark.parametrize("name", sorted(SINGLE_CAPTURES))
def test_every_message_delivered_twice_gives_the_same_events_as_once(name: str) -> None:
    doubled = [message for message in capture(SINGLE_CAPTURES[name]) for _ in range(2)]
    assert records(run(CallTracker(clock=fixed_clock), doubled)) == records(scenario_events(name))


def test_agent_connect_after_the_call_ended_changes_nothing() -> None:
    messages = capture("01-inbound-answered/01.ami")
    connect = next(m for m in messages if m.get("Event") == "AgentConnect")
    tracker = CallTracker(clock=fixed_clock)
    run(tracker, messages)
    assert tracker.feed(connect) == []
    assert tracker.open_call_ids() == set()


def test_hangup_before_the_abandon_still_abandons_once_then_ends() -> None:
    messages = capture("02-abandoned/02.ami")
    hangup = next(i for i, m in enumerate(messages) if m.get("Event") == "Hangup")
    abandon = next(i for i, m in enumerate(messages) if m.get("Event") == "QueueCallerAbandon")
    reordered = [*messages[:abandon], messages[hangup], *messages[abandon:hangup], *messages[hangup + 1 :]]
    events = run(CallTracker(clock=fixed_clock), reordered)
    assert [type(e).__name__ for e in events][-3:] == ["RecordingStopped", "CallAbandoned", "CallEnded"]
    abandoned = [e for e in events if isinstance(e, CallAbandoned)]
    assert [(a.queue, a.position) for a in abandoned] == [("support", 1)]
    assert abandoned[0].wait_seconds == pytest.approx(1795415635.165820 - 1795415631.662409, abs=1e-3)


def test_events_for_channels_never_seen_are_ignored() -> None:
    tracker = CallTracker(clock=fixed_clock)
    for event in (
        "Hangup",
        "AgentConnect",
        "QueueCallerJoin",
        "Hold",
        "MixMonitorStart",
        "DialBegin",
        "BridgeLeave",
    ):
        message = {
            "Event": event,
            "Uniqueid": "1.1",
            "Linkedid": "1.1",
            "DestUniqueid": "1.2",
            "Channel": "X/1-1",
        }
        assert tracker.feed(message) == []
    assert tracker.calls == {} and tracker.channels == {}


def test_a_message_whose_event_header_repeats_is_ignored() -> None:
    tracker = CallTracker(clock=fixed_clock)
    assert tracker.feed({"Event": ["Newchannel", "Hangup"], "Uniqueid": "1.1", "ChannelState": "4"}) == []
    assert tracker.calls == {}


def test_messages_without_timestamp_take_the_injected_clock() -> None:
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    tracker = CallTracker(clock=lambda: now)
    events = tracker.feed(
        {
            "Event": "Newchannel",
            "Channel": "PJSIP/t-1",
            "Uniqueid": "9.1",
            "Linkedid": "9.1",
            "ChannelState": "4",
        }
    )
    assert [e.at for e in events] == [now]


def test_memory_stays_bounded_over_many_calls() -> None:
    tracker = CallTracker(clock=fixed_clock)
    for n in range(ENDED_MEMORY + 500):
        uid = f"1795600000.{n}"
        head = {"Channel": f"PJSIP/trunk-{n:08x}", "Uniqueid": uid, "Linkedid": uid}
        tracker.feed({"Event": "Newchannel", "ChannelState": "4", **head})
        tracker.feed({"Event": "QueueCallerJoin", "Queue": "support", "Position": "1", **head})
        tracker.feed({"Event": "Hangup", "Cause": "16", **head})
    assert tracker.calls == {} and tracker.channels == {}
    assert len(tracker._ended) == ENDED_MEMORY


# --- arbitrary sequences ---------------------------------------------------------------------

EVENTS = [
    "Newchannel",
    "Newexten",
    "VarSet",
    "Rename",
    "DialBegin",
    "DialEnd",
    "AgentCalled",
    "AgentConnect",
    "AgentComplete",
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "BridgeEnter",
    "BridgeLeave",
    "BlindTransfer",
    "AttendedTransfer",
    "Hold",
    "Unhold",
    "MixMonitorStart",
    "MixMonitorStop",
    "HangupRequest",
    "SoftHangupRequest",
    "Hangup",
    "QueueMemberAdded",
    "QueueMemberRemoved",
    "QueueMemberPause",
    "QueueMemberStatus",
    "Bogus",
]
IDS = ["1.1", "1.2", "2.1", "2.2"]
NAMES = ["PJSIP/trunk-1", "PJSIP/1001-2", "Local/1@a-1;1", "Local/1@a-1;2", "PJSIP/1002-3", "x"]
ID_KEYS = [
    "Uniqueid",
    "Linkedid",
    "DestUniqueid",
    "TransfereeUniqueid",
    "TransfererUniqueid",
    "TransferTargetUniqueid",
    "OrigTransfererUniqueid",
]
OTHER = {
    "Channel": st.sampled_from(NAMES),
    "DestChannel": st.sampled_from(NAMES),
    "ChannelState": st.sampled_from(["0", "4", "6", "x"]),
    "Application": st.sampled_from(["AGI", "Dial", "Queue"]),
    "Extension": st.sampled_from(["1002", "h", "s"]),
    "Variable": st.sampled_from(["AGISTATUS", "MIXMONITOR_FILENAME", "QUEUE_PRIO", "OTHER"]),
    "Value": st.sampled_from(["SUCCESS", "/rec/a.wav", "5", ""]),
    "DialStatus": st.sampled_from(["ANSWER", "NOANSWER", "RINGING"]),
    "Queue": st.sampled_from(["support", "sales", ""]),
    "Interface": st.sampled_from(["PJSIP/1001", "", "Local/1@a"]),
    "Position": st.sampled_from(["1", "2", "-3", "x", ""]),
    "HoldTime": st.sampled_from(["1", "nan", "inf", "x", "-2"]),
    "TalkTime": st.sampled_from(["4", "1e308", "x"]),
    "Cause": st.sampled_from(["16", "17", "19", "0", "x", ""]),
    "Paused": st.sampled_from(["0", "1"]),
    "Status": st.sampled_from(["1", "2", "6", "99"]),
    "BridgeUniqueid": st.sampled_from(["b1", "b2"]),
    "BridgeNumChannels": st.sampled_from(["0", "1", "2"]),
    "Result": st.sampled_from(["Success", "Fail"]),
    "Timestamp": st.sampled_from(["1795400000.5", "1795400009.25", "garbage", "-1"]),
}
ID = st.sampled_from(IDS)
VALUES = {key: st.one_of(ID, ID, ID, st.lists(ID, max_size=2)) for key in ID_KEYS[1:]} | OTHER
MESSAGE = st.builds(
    lambda event, headers: {"Event": event, **headers},
    st.sampled_from([*EVENTS, *["Newchannel"] * 6, *["DialBegin", "Hangup"] * 2]),
    st.fixed_dictionaries({"Uniqueid": ID}, optional=VALUES),
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(MESSAGE, max_size=40))
def test_arbitrary_sequences_never_crash_and_every_call_ends_once_when_its_channels_hang_up(messages) -> None:
    tracker = CallTracker(clock=fixed_clock)
    events = run(tracker, messages)
    for uniqueid in list(tracker.channels):
        channel = tracker.channels.get(uniqueid)
        if channel is not None:
            events += tracker.feed({"Event": "Hangup", "Uniqueid": uniqueid, "Cause": "16"})
    assert tracker.channels == {}
    assert tracker.calls == {}
    assert tracker.open_call_ids() == set()
    ended = [e.call_id for e in events if isinstance(e, CallEnded)]
    assert len(ended) == len(set(ended))
    for call_id in {getattr(e, "call_id", None) for e in events} - {None}:
        assert call_id in ended
        last = [e for e in events if getattr(e, "call_id", None) == call_id][-1]
        assert isinstance(last, CallEnded)


LISTED = st.fixed_dictionaries(
    {"Event": st.just("CoreShowChannel"), "Uniqueid": ID, "Channel": st.sampled_from(NAMES)},
    optional={
        "Linkedid": ID,
        "BridgeId": st.sampled_from(["b1", "b2", ""]),
        "Application": st.sampled_from(["Queue", "Dial"]),
        "ApplicationData": st.sampled_from(["support,t", ""]),
    },
)
ENTRY = st.fixed_dictionaries(
    {"Event": st.just("QueueEntry"), "Queue": st.sampled_from(["support", "sales"]), "Uniqueid": ID},
    optional={"Position": st.sampled_from(["1", "x"]), "Wait": st.sampled_from(["3", "nan", "x"])},
)
MEMBER = st.fixed_dictionaries(
    {
        "Event": st.just("QueueMember"),
        "Queue": st.sampled_from(["support", "sales"]),
        "Location": st.sampled_from(["PJSIP/1001", "PJSIP/1002"]),
    },
    optional={"Status": st.sampled_from(["1", "2"]), "Paused": st.sampled_from(["0", "1"])},
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(MESSAGE, max_size=30),
    st.lists(LISTED, max_size=5),
    st.lists(st.one_of(ENTRY, MEMBER, st.just({"Event": "QueueParams", "Queue": "support"})), max_size=5),
    st.lists(MESSAGE, max_size=30),
)
def test_resync_in_the_middle_of_arbitrary_input_keeps_every_call_ending_once(
    before, listed, queues, after
) -> None:
    tracker = CallTracker(clock=fixed_clock)
    events = run(tracker, before)
    snapshot = SwitchSnapshot(at=fixed_clock(), channels=listed, queue_status=queues)
    resynced = tracker.resync(snapshot)
    assert isinstance(resynced[-1], SwitchResynced)
    assert set(resynced[-1].calls) == tracker.open_call_ids()
    events += resynced + run(tracker, after)
    for uniqueid in list(tracker.channels):
        if uniqueid in tracker.channels:
            events += tracker.feed({"Event": "Hangup", "Uniqueid": uniqueid, "Cause": "16"})
    assert tracker.calls == {} and tracker.channels == {}
    ended = [e.call_id for e in events if isinstance(e, CallEnded)]
    assert len(ended) == len(set(ended))
    assert {getattr(e, "call_id", None) for e in events} - {None} == set(ended)
