"""The live suite's scenarios as the real switch told them (tests/transcripts/live, each kept by
``HOTLINE_LIVE_CAPTURE_DIR``: every AMI event of the scenario and its calls' queue_log lines),
replayed through the tracker. Whatever the scenario, the story must hold together: each call
offered ends exactly once, no call is both answered and abandoned, and what the tracker says of
each queued call is what Asterisk's queue_log says of it (where the real Hotline ran and wrote
its lines for the calls it delivered)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from crm.reporting.queue_log import parse_queue_log
from cti.ami_protocol import AmiMessage
from cti.events import CallAbandoned, CallAnswered, CallEnded, CallOffered, SwitchEvent
from cti.tracker import CallTracker

CAPTURES = Path(__file__).resolve().parents[1] / "transcripts" / "live"
SCENARIOS = sorted(folder.name for folder in CAPTURES.iterdir() if (folder / "ami.jsonl.gz").is_file())
# Scenarios that ran the real Hotline, which writes queue_log lines for the calls it delivers.
WITH_HOTLINE = sorted(name for name in SCENARIOS if (CAPTURES / name / "queue_log").is_file())


def replayed(name: str) -> list[SwitchEvent]:
    with gzip.open(CAPTURES / name / "ami.jsonl.gz", "rt", encoding="utf-8") as lines:
        messages: list[AmiMessage] = [json.loads(line) for line in lines]
    tracker = CallTracker()
    return [event for message in messages for event in tracker.feed(message)]


def test_there_are_captures_of_the_live_scenarios() -> None:
    assert len(SCENARIOS) >= 20 and len(WITH_HOTLINE) >= 15


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_call_ends_once_and_is_never_both_answered_and_abandoned(name: str) -> None:
    events = replayed(name)
    offered = [e.call_id for e in events if isinstance(e, CallOffered)]
    ended = [e.call_id for e in events if isinstance(e, CallEnded)]
    assert len(set(offered)) == len(offered)
    assert sorted(ended) == sorted(set(ended)), "a call ended twice"
    assert set(offered) <= set(ended), "a call offered never ended"
    answered = {e.call_id for e in events if isinstance(e, CallAnswered)}
    abandoned = {e.call_id for e in events if isinstance(e, CallAbandoned)}
    assert answered & abandoned == set()


@pytest.mark.parametrize("name", WITH_HOTLINE)
def test_the_tracker_and_queue_log_agree_on_each_queued_calls_outcome(name: str) -> None:
    calls, problems = parse_queue_log((CAPTURES / name / "queue_log").read_text().splitlines())
    assert problems == []
    events = replayed(name)
    answered = {e.call_id for e in events if isinstance(e, CallAnswered)}
    abandoned = {e.call_id for e in events if isinstance(e, CallAbandoned)}
    for call in calls:
        if call.outcome == "answered":
            assert call.call_id in answered, call
        elif call.outcome == "abandoned":
            assert call.call_id in abandoned, call
