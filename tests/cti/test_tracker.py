"""The call tracker against the real Asterisk captures: every transcript's domain events, exactly.

The expected events live in tests/cti/expected/*.jsonl, one JSON object per event, checked by
hand against each transcript and its queue_log (docs/tracker.md says how each is derived).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cti.ami_protocol import AmiMessage, AmiParser
from cti.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallQueued,
    EndCause,
    SwitchEvent,
    SwitchResynced,
)
from cti.snapshot import SwitchSnapshot
from cti.tracker import HANDLERS, WANTED, CallTracker
from hotline.commands.replay import event_record

EXPECTED = Path(__file__).parent / "expected"
TRANSCRIPTS = Path(__file__).parents[1] / "transcripts"

LIST_ITEMS = {
    "CoreShowChannel": "channels",
    "QueueParams": "queue_status",
    "QueueMember": "queue_status",
    "QueueEntry": "queue_status",
    "BridgeListItem": "bridges",
}

SINGLE_CAPTURES = {
    "01-inbound-answered": "01-inbound-answered/01.ami",
    "02-abandoned": "02-abandoned/02.ami",
    "03-agent-states": "03-agent-states/03.ami",
    "04-originate": "04-originate/04.ami",
    "06-hangup-in-ivr": "06-hangup-in-ivr/06.ami",
    "08-misc-actions": "08-misc-actions/08.ami",
    "08-badlogin": "08-misc-actions/08-badlogin.ami",
    "11-hold": "11-hold/11.ami",
    "13-recording-control": "13-recording-control/13.ami",
    "14-fastagi-down": "14-fastagi-down/14.ami",
    "15-two-waiting": "15-resync-waiting/15.ami",
    "16-production-delivery": "16-production-delivery/16.ami",
    "17-desk-hold": "17-desk-hold/17.ami",
    "19-queue-withdraw": "19-queue-withdraw/19.ami",
}


def capture(relative: str) -> list[AmiMessage]:
    parser = AmiParser()
    messages = parser.feed((TRANSCRIPTS / relative).read_bytes())
    assert parser.malformed == []
    return messages


def stamp(message: AmiMessage) -> float:
    value = message.get("Timestamp")
    return float(value) if isinstance(value, str) else 0.0


def snapshot_of(reconnect: list[AmiMessage]) -> tuple[SwitchSnapshot, list[AmiMessage]]:
    """The SwitchSnapshot the AMI link would gather from a reconnect capture, and what follows it.

    Taken at the reconnect's login (its SuccessfulAuth); events after the last list item are the
    live stream that goes on after the resync.
    """
    login = next(m for m in reconnect if m.get("Event") == "SuccessfulAuth")
    lists: dict[str, list[AmiMessage]] = {"channels": [], "queue_status": [], "bridges": []}
    last_item = 0
    for index, message in enumerate(reconnect):
        kind = LIST_ITEMS.get(str(message.get("Event")))
        if kind:
            lists[kind].append(message)
            last_item = index
    snapshot = SwitchSnapshot(at=datetime.fromtimestamp(stamp(login), UTC), **lists)
    return snapshot, reconnect[last_item + 1 :]


def run(tracker: CallTracker, messages: Iterable[AmiMessage]) -> list[SwitchEvent]:
    events: list[SwitchEvent] = []
    for message in messages:
        events.extend(tracker.feed(message))
    return events


def records(events: Iterable[SwitchEvent]) -> list[dict]:
    return [json.loads(json.dumps(event_record(event))) for event in events]


def expected(name: str) -> list[dict]:
    return [json.loads(line) for line in (EXPECTED / f"{name}.jsonl").read_text().splitlines() if line]


def fixed_clock() -> datetime:
    return datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def scenario_events(name: str) -> list[SwitchEvent]:
    """The domain events of one named scenario, the way the tests (and the expected files) see it."""
    tracker = CallTracker(clock=fixed_clock)
    if name in SINGLE_CAPTURES:
        return run(tracker, capture(SINGLE_CAPTURES[name]))
    if name == "09-ami-reconnect":
        events = run(tracker, capture("09-ami-reconnect/09.ami"))
        snapshot, rest = snapshot_of(capture("09-ami-reconnect/09-reconnect.ami"))
        events += tracker.resync(snapshot)
        return events + run(tracker, rest)
    if name == "15-resync-waiting":
        snapshot, _ = snapshot_of(capture("15-resync-waiting/15-resync.ami"))
        events = tracker.resync(snapshot)
        after = [m for m in capture("15-resync-waiting/15.ami") if stamp(m) > snapshot.at.timestamp()]
        return events + run(tracker, after)
    raise KeyError(name)


SCENARIOS = [*SINGLE_CAPTURES, "09-ami-reconnect", "15-resync-waiting"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_transcript_gives_exactly_the_reviewed_domain_events(name: str) -> None:
    assert records(scenario_events(name)) == expected(name)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_call_ends_exactly_once_and_nothing_stays_open(name: str) -> None:
    events = scenario_events(name)
    call_ids = {getattr(e, "call_id", None) for e in events} - {None}
    ended = [e.call_id for e in events if isinstance(e, CallEnded)]
    assert sorted(ended) == sorted(call_ids)
    for call_id in call_ids:
        last = [e for e in events if getattr(e, "call_id", None) == call_id][-1]
        assert isinstance(last, CallEnded)


def test_answered_queue_call_carries_agent_queue_and_asterisk_times() -> None:
    events = {type(e).__name__: e for e in scenario_events("01-inbound-answered")}
    answered, ended = events["CallAnswered"], events["CallEnded"]
    # queue_log: CONNECT|1 (hold time) and COMPLETECALLER|1|4 (hold, talk)
    assert (answered.agent, answered.queue, answered.wait_seconds) == ("PJSIP/1001", "support", 1.0)
    assert answered.agent_channel == "PJSIP/1001-0000009b"
    assert (ended.talk_seconds, ended.agent, ended.cause, ended.cause_code) == (
        4.0,
        "PJSIP/1001",
        EndCause.NORMAL,
        16,
    )


def test_abandoned_call_reports_position_and_hold_time_before_it_ends() -> None:
    events = scenario_events("02-abandoned")
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("CallAbandoned") < kinds.index("CallEnded")
    abandoned = events[kinds.index("CallAbandoned")]
    # queue_log: ABANDON|1|1|4 (position, original position, wait)
    assert (abandoned.queue, abandoned.position, abandoned.original_position, abandoned.wait_seconds) == (
        "support",
        1,
        1,
        4.0,
    )


def test_reconnect_mid_call_neither_duplicates_nor_loses_the_call() -> None:
    events = scenario_events("09-ami-reconnect")
    resynced = [e for e in events if isinstance(e, SwitchResynced)]
    assert resynced == [
        SwitchResynced(at=resynced[0].at, calls=("1795415672.9",), members=1, phones=("PJSIP/1001",)),
    ]
    kinds = [type(e).__name__ for e in events if getattr(e, "call_id", None) == "1795415672.9"]
    assert kinds.count("CallOffered") == 1
    assert kinds.count("CallAnswered") == 1
    assert kinds.count("CallEnded") == 1
    ended = next(e for e in events if isinstance(e, CallEnded))
    assert (ended.cause, ended.talk_seconds, ended.agent) == (EndCause.NORMAL, 11.0, "PJSIP/1001")


def test_reconnect_snapshot_of_a_call_never_seen_adopts_it_as_answered() -> None:
    tracker = CallTracker(clock=fixed_clock)
    snapshot, rest = snapshot_of(capture("09-ami-reconnect/09-reconnect.ami"))
    adopted = records(tracker.resync(snapshot))
    assert [r["event"] for r in adopted] == [
        "CallOffered",
        "CallAnswered",
        "MemberStatusChanged",
        "SwitchResynced",
    ]
    assert adopted[1]["agent"] == "PJSIP/1001"
    assert adopted[1]["queue"] == "support"
    assert adopted[1]["agent_channel"] == "PJSIP/1001-00000009"
    ended = [e for e in run(tracker, rest) if isinstance(e, CallEnded)]
    assert len(ended) == 1
    assert ended[0].talk_seconds == 11.0  # AgentComplete's TalkTime, though we missed the start
    assert tracker.open_call_ids() == set()


def test_waiting_callers_known_only_from_the_snapshot_abandon_with_asterisk_figures() -> None:
    events = scenario_events("15-resync-waiting")
    abandoned = [e for e in events if type(e).__name__ == "CallAbandoned"]
    assert [(e.call_id, e.position, e.original_position, e.wait_seconds) for e in abandoned] == [
        ("1795416748.2", 1, 1, 9.0),
        ("1795416749.3", 1, 2, 9.0),
    ]


def test_resync_of_calls_already_known_adds_only_the_resynced_marker() -> None:
    whole = scenario_events("15-two-waiting")
    tracker = CallTracker(clock=fixed_clock)
    snapshot, _ = snapshot_of(capture("15-resync-waiting/15-resync.ami"))
    messages = capture("15-resync-waiting/15.ami")
    split = next(i for i, m in enumerate(messages) if stamp(m) > snapshot.at.timestamp())
    before, after = messages[:split], messages[split:]
    events = run(tracker, before)
    resync = tracker.resync(snapshot)
    events += run(tracker, after)
    assert resync == [SwitchResynced(at=snapshot.at, calls=("1795416748.2", "1795416749.3"), members=0)]
    assert records(events) == records(whole)


@pytest.mark.parametrize("name", sorted(SINGLE_CAPTURES))
def test_parsing_only_the_tracked_events_gives_the_same_domain_events(name: str) -> None:
    data = (TRANSCRIPTS / SINGLE_CAPTURES[name]).read_bytes()
    everything = run(CallTracker(clock=fixed_clock), AmiParser().feed(data))
    tracked = run(CallTracker(clock=fixed_clock), AmiParser(wanted=WANTED).feed(data))
    assert records(tracked) == records(everything)


def test_the_tracked_events_are_exactly_those_the_tracker_handles() -> None:
    assert frozenset(HANDLERS) == WANTED.events


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_call_is_both_answered_and_abandoned(name: str) -> None:
    events = scenario_events(name)
    answered = {e.call_id for e in events if isinstance(e, CallAnswered)}
    abandoned = {e.call_id for e in events if isinstance(e, CallAbandoned)}
    assert answered & abandoned == set()


def test_a_caller_taken_out_of_the_queue_alive_has_not_abandoned_until_they_hang_up() -> None:
    events = scenario_events("19-queue-withdraw")
    queued = [e.queue for e in events if isinstance(e, CallQueued)]
    abandoned = [(e.queue, e.wait_seconds) for e in events if isinstance(e, CallAbandoned)]
    assert queued == ["support", "support-fallback"]
    assert abandoned == [("support-fallback", 35.0)]
