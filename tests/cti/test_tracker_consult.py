"""The desktop's consult transfer as the real switch told it (tests/transcripts/live, Asterisk
22.10.1: AMI Atxfer on the agent's leg into hotline-consult, then CancelAtxfer, or the
atxfercomplete / atxferthreeway keys fed with PlayDTMF Receive), replayed through the tracker."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from cti.events import (
    CallAnswered,
    CallEnded,
    CallHeld,
    CallResumed,
    CallTransferred,
    ConferenceLeft,
    ConferenceStarted,
    ConsultAnswered,
    ConsultCancelled,
    ConsultStarted,
    MemberStatusChanged,
    RecordingStopped,
    SwitchEvent,
    TransferKind,
)
from cti.tracker import CallTracker

CAPTURES = Path(__file__).resolve().parents[1] / "transcripts" / "live"
SCENARIO = "test_a_consult_on_the_switch_is_reported_as_it_ends[{}]"


def messages(how: str) -> list[dict]:
    with gzip.open(CAPTURES / SCENARIO.format(how) / "ami.jsonl.gz", "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def replayed(how: str, tracker: CallTracker | None = None) -> list[SwitchEvent]:
    tracker = tracker or CallTracker()
    return [e for m in messages(how) for e in tracker.feed(m) if not isinstance(e, MemberStatusChanged)]


def after_answer(events: list[SwitchEvent]) -> list[str]:
    """The call's story after the first answer; the recording's own events aside."""
    names = [type(e).__name__ for e in events if not type(e).__name__.startswith("Recording")]
    return names[names.index("CallAnswered") + 1 :]


def test_a_consult_rings_the_second_agent_while_the_caller_is_held() -> None:
    events = replayed("cancel")
    [started] = [e for e in events if isinstance(e, ConsultStarted)]
    assert (started.agent, started.target) == ("PJSIP/1001", "PJSIP/1002")
    assert started.target_channel.startswith("PJSIP/1002-")
    held = next(e for e in events if isinstance(e, CallHeld))
    assert held.channel.startswith("PJSIP/1001-") and held.at <= started.at
    # Every event of the consult is the caller's call: the consult leg is no call of its own.
    assert {e.call_id for e in events if hasattr(e, "call_id")} == {started.call_id}


@pytest.mark.parametrize("how", ["complete", "cancel", "threeway", "agent-hangs-up", "target-hangs-up"])
def test_the_consulted_agent_picking_up_is_reported_once_without_answering_the_call(how: str) -> None:
    stream = messages(how)
    phone = next(
        m for m in stream if m.get("Event") == "DialBegin" and "hotline-consult" in m.get("Channel", "")
    )
    picked_up = next(
        m
        for m in stream
        if m.get("Event") == "DialEnd"
        and m.get("DestUniqueid") == phone["DestUniqueid"]
        and m.get("DialStatus") == "ANSWER"
    )
    events = replayed(how)
    [started] = [e for e in events if isinstance(e, ConsultStarted)]
    [answered] = [e for e in events if isinstance(e, ConsultAnswered)]
    assert (answered.agent, answered.target, answered.target_channel) == (
        "PJSIP/1001",
        "PJSIP/1002",
        phone["DestChannel"],
    )
    # The switch's DialEnd ANSWER of the consult leg, to the phone: the moment they picked up.
    assert answered.at.timestamp() == pytest.approx(float(picked_up["Timestamp"]), abs=0.01)
    assert answered.ring_seconds == pytest.approx((answered.at - started.at).total_seconds(), abs=0.01)
    # The call was answered once by the first agent; picking up the consult is no answer of it.
    until = events.index(answered)
    assert [e.agent for e in events[:until] if isinstance(e, CallAnswered)] == ["PJSIP/1001"]
    assert until > events.index(started)


def test_the_consult_talk_is_not_the_call_talk_time() -> None:
    """Talk time counts the caller's time with an agent: the first agent's until the
    completion, the second agent's from it; the consult's own talk (the caller on music) is
    not added once more when the consulted agent picks up."""
    events = replayed("complete")
    first, second = [e for e in events if isinstance(e, CallAnswered)]
    [answered] = [e for e in events if isinstance(e, ConsultAnswered)]
    ended = next(e for e in events if isinstance(e, CallEnded))
    assert answered.at < second.at
    caller_with_an_agent = (ended.at - first.at).total_seconds()
    assert ended.talk_seconds == pytest.approx(caller_with_an_agent, abs=0.01)


def test_a_three_way_call_counts_the_callers_talk_time_once() -> None:
    """Both agents talk with the caller at once: the call's talk time is the caller's time with
    an agent, not the sum of the two agents' time (each agent's own time is theirs, per agent)."""
    stream = messages("threeway")
    # The capture's first agent leaves at once; here the three talk 10 s more before they leave.
    leaves = next(
        i
        for i, m in enumerate(stream)
        if m.get("Event") == "Hangup" and m.get("Channel", "").startswith("PJSIP/1001")
    )
    later = [
        m | {"Timestamp": f"{float(m['Timestamp']) + 10.0:.6f}"} if "Timestamp" in m else m
        for m in stream[leaves:]
    ]
    tracker = CallTracker()
    events = [e for m in stream[:leaves] + later for e in tracker.feed(m)]
    [answered] = [e for e in events if isinstance(e, CallAnswered)]
    conference = next(e for e in events if isinstance(e, ConferenceStarted))
    left = next(e for e in events if isinstance(e, ConferenceLeft))
    ended = next(e for e in events if isinstance(e, CallEnded))
    assert (left.at - conference.at).total_seconds() > 10.0  # the two agents overlap 10 s
    assert ended.talk_seconds == pytest.approx((ended.at - answered.at).total_seconds(), abs=0.01)


def test_a_cancelled_consult_gives_the_caller_back_to_the_first_agent() -> None:
    events = replayed("cancel")
    assert after_answer(events) == [
        "CallHeld",
        "ConsultStarted",
        "ConsultAnswered",
        "CallResumed",
        "ConsultCancelled",
        "CallEnded",
    ]
    [cancelled] = [e for e in events if isinstance(e, ConsultCancelled)]
    assert (cancelled.agent, cancelled.target) == ("PJSIP/1001", "PJSIP/1002")
    assert next(e for e in events if isinstance(e, CallEnded)).agent == "PJSIP/1001"


def test_a_completed_consult_is_an_attended_transfer_answered_by_the_second_agent() -> None:
    events = replayed("complete")
    assert after_answer(events) == [
        "CallHeld",
        "ConsultStarted",
        "ConsultAnswered",
        "CallResumed",
        "CallTransferred",
        "CallAnswered",
        "CallEnded",
    ]
    [transfer] = [e for e in events if isinstance(e, CallTransferred)]
    assert (transfer.from_agent, transfer.to, transfer.kind) == (
        "PJSIP/1001",
        "PJSIP/1002",
        TransferKind.ATTENDED,
    )
    first, second = [e for e in events if isinstance(e, CallAnswered)]
    assert (second.agent, second.queue, second.wait_seconds) == ("PJSIP/1002", first.queue, 0.0)
    assert second.agent_channel.startswith("PJSIP/1002-") and second.ring_seconds > 1.0
    ended = next(e for e in events if isinstance(e, CallEnded))
    assert ended.agent == "PJSIP/1002" and ended.talk_seconds > 3.0
    # The caller's recording runs from the first answer to the end, through the transfer.
    stopped = [e for e in events if isinstance(e, RecordingStopped)]
    assert all(e.at >= second.at for e in stopped) and all(
        e.channel.startswith("PJSIP/trunk") for e in stopped
    )


def test_a_consult_made_a_three_way_call_leaves_the_other_two_talking_when_one_hangs_up() -> None:
    events = replayed("threeway")
    assert after_answer(events) == [
        "CallHeld",
        "ConsultStarted",
        "ConsultAnswered",
        "CallResumed",
        "ConferenceStarted",
        "ConferenceLeft",
        "CallEnded",
    ]
    [conference] = [e for e in events if isinstance(e, ConferenceStarted)]
    assert (conference.agent, conference.target) == ("PJSIP/1001", "PJSIP/1002")
    [left] = [e for e in events if isinstance(e, ConferenceLeft)]
    assert left.agent == "PJSIP/1001"
    assert not [e for e in events if isinstance(e, CallTransferred)]
    # The one who stayed with the caller is the agent the call ends with.
    assert next(e for e in events if isinstance(e, CallEnded)).agent == "PJSIP/1002"


def test_in_a_three_way_call_the_second_agent_may_leave_first() -> None:
    tracker = CallTracker()
    stream = messages("threeway")
    target = next(m["TransferTargetUniqueid"] for m in stream if m.get("Event") == "AttendedTransfer")
    phone = next(
        m for m in stream if m.get("Event") == "DialBegin" and "hotline-consult" in m.get("Channel", "")
    )
    first_agent_hangup = next(
        i
        for i, m in enumerate(stream)
        if m.get("Event") == "Hangup" and m.get("Channel", "").startswith("PJSIP/1001")
    )
    events = [e for m in stream[:first_agent_hangup] for e in tracker.feed(m)]
    assert any(isinstance(e, ConferenceStarted) for e in events) and target
    # Instead of the first agent, the consulted phone hangs up.
    hangup = dict(stream[first_agent_hangup])
    hangup |= {"Channel": phone["DestChannel"], "Uniqueid": phone["DestUniqueid"]}
    left = tracker.feed(hangup)
    assert [(type(e), e.agent) for e in left] == [(ConferenceLeft, "PJSIP/1002")]
    call = tracker.calls[phone["Linkedid"]]
    assert call.agent == "PJSIP/1001" and call.conference == {}


@pytest.mark.parametrize("how", ["complete", "cancel", "threeway", "agent-hangs-up", "target-hangs-up"])
def test_every_consult_capture_ends_its_call_once_with_holds_closed(how: str) -> None:
    events = replayed(how)
    assert len([e for e in events if isinstance(e, CallEnded)]) == 1
    assert len([e for e in events if isinstance(e, CallHeld)]) == len(
        [e for e in events if isinstance(e, CallResumed)]
    )


def test_the_desktops_consult_cancelled_then_completed_on_one_call_reads_as_it_happened() -> None:
    tracker = CallTracker()
    path = CAPTURES / "test_the_desktop_consults_cancels_then_completes_and_the_second_agent_has_the_caller"
    with gzip.open(path / "ami.jsonl.gz", "rt", encoding="utf-8") as lines:
        events = [e for line in lines for e in tracker.feed(json.loads(line))]
    events = [e for e in events if not isinstance(e, MemberStatusChanged)]
    assert after_answer(events) == [
        "CallHeld",
        "ConsultStarted",
        "ConsultAnswered",
        "CallResumed",
        "ConsultCancelled",
        "CallHeld",
        "ConsultStarted",
        "ConsultAnswered",
        "CallResumed",
        "CallTransferred",
        "CallAnswered",
        "CallEnded",
    ]


def test_an_agent_who_hangs_up_mid_consult_transfers_the_caller_though_asterisk_names_no_target() -> None:
    events = replayed("agent-hangs-up")
    assert after_answer(events) == [
        "CallHeld",
        "ConsultStarted",
        "ConsultAnswered",
        "CallResumed",
        "CallTransferred",
        "CallAnswered",
        "CallEnded",
    ]
    [transfer] = [e for e in events if isinstance(e, CallTransferred)]
    assert (transfer.from_agent, transfer.to, transfer.kind) == (
        "PJSIP/1001",
        "PJSIP/1002",
        TransferKind.ATTENDED,
    )
    assert next(e for e in events if isinstance(e, CallEnded)).agent == "PJSIP/1002"


def test_a_consulted_agent_who_hangs_up_gives_the_caller_back_to_the_first() -> None:
    events = replayed("target-hangs-up")
    # Here the consult's legs go before the agent's Unhold: cancelled, then resumed.
    assert after_answer(events) == [
        "CallHeld",
        "ConsultStarted",
        "ConsultAnswered",
        "ConsultCancelled",
        "CallResumed",
        "CallEnded",
    ]
    assert next(e for e in events if isinstance(e, CallEnded)).agent == "PJSIP/1001"
