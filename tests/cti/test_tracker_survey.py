"""The post-call survey on the real switch (tests/transcripts/live, docs/survey.md): the agent
hangs up first, the caller goes on to hotline-survey. The tracker ends the call there — not
later, when the caller hangs up after the survey — and reads no transfer into the caller's
leaving the dissolved bridge first."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from cti.ami_protocol import AmiMessage
from cti.events import CallAnswered, CallEnded, CallTransferred, RecordingStopped
from cti.tracker import SURVEY_CONTEXT, CallTracker

CAPTURE = (
    Path(__file__).resolve().parents[1]
    / "transcripts"
    / "live"
    / "test_an_agent_who_hangs_up_first_leaves_the_caller_to_the_survey_and_a_four_is_stored"
    / "ami.jsonl.gz"
)


def messages() -> list[AmiMessage]:
    with gzip.open(CAPTURE, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def test_the_call_ends_as_the_caller_enters_the_survey_with_its_recording_stopped() -> None:
    tracker = CallTracker()
    stream = messages()
    events_at: list[tuple[int, object]] = [(i, e) for i, m in enumerate(stream) for e in tracker.feed(m)]
    events = [e for _, e in events_at]
    assert [type(e) for e in events if isinstance(e, CallAnswered | CallEnded | CallTransferred)] == [
        CallAnswered,
        CallEnded,
    ]
    entered = next(i for i, m in enumerate(stream) if m.get("Context") == SURVEY_CONTEXT)
    [(ended_at, ended)] = [(i, e) for i, e in events_at if isinstance(e, CallEnded)]
    assert ended_at == entered
    assert ended.agent == "PJSIP/1001"
    # The survey itself runs after: its AGI and the caller's hang-up come later in the stream.
    survey_agi = [
        i
        for i, m in enumerate(stream)
        if m.get("Context") == SURVEY_CONTEXT and m.get("Application") == "AGI"
    ]
    hangups = [
        i for i, m in enumerate(stream) if m.get("Event") == "Hangup" and "trunk" in str(m.get("Channel"))
    ]
    assert survey_agi and survey_agi[0] > ended_at and hangups[-1] > survey_agi[0]
    stopped = [e for e in events if isinstance(e, RecordingStopped)]
    assert len(stopped) == 1 and events.index(stopped[0]) < events.index(ended)
