"""Every event the bus carries between packages travels between nodes and comes back equal."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acd.events import AgentsByState, AgentStateChanged, QueueStatsUpdated
from acd.models import AgentState
from cti.events import CallEnded, EndCause
from hotline.cluster.codec import CodecError, decode, encode, registry
from ivr.events import IvrCompleted, IvrOutcome, PathEntry

AT = datetime(2026, 11, 18, 2, 0, 1, 250_000, tzinfo=UTC)


def test_the_events_of_every_package_travel() -> None:
    names = registry()
    for name in ("cti.events:CallOffered", "acd.events:AgentStateChanged", "ivr.events:IvrCompleted"):
        assert name in names
    assert "recording.events:RecordingReady" in names


@pytest.mark.parametrize(
    "event",
    [
        CallEnded(AT, "c-1", EndCause.NORMAL, 42.5, cause_code=16, agent="PJSIP/1001"),
        AgentStateChanged(AT, "wang", AgentState.AVAILABLE, AgentState.LOGGED_OUT, "login", queues=("a",)),
        IvrCompleted(
            AT, "c-2", "PJSIP/trunk-1", "13800138000", "4008001234",
            (PathEntry("main", "menu", "1"), PathEntry("lookup", "lookup", "123456", "open")),
            "support", "support", 5, "zh", None, IvrOutcome.QUEUED, started_at=None,
        ),
        QueueStatsUpdated(AT, "support", 3, 12.0, 5, 1, 4, 0.8, 0.1, 9.5, 120.0, AgentsByState(available=2)),
    ],
)  # fmt: skip
def test_an_event_comes_back_equal(event: object) -> None:
    assert decode(encode(event)) == event


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(sorted(registry().items())).flatmap(lambda item: st.from_type(item[1])))
def test_any_event_of_any_kind_survives_the_trip(event: object) -> None:
    text = encode(event)
    assert encode(decode(text)) == text


def test_what_is_not_an_event_is_refused_with_a_reason() -> None:
    with pytest.raises(CodecError):
        encode(object())
    with pytest.raises(CodecError):
        decode("{not json")
    with pytest.raises(CodecError):
        decode(json.dumps({"t": "os:system", "f": {}}))
    with pytest.raises(CodecError):
        decode(json.dumps({"t": "cti.events:CallEnded", "f": {"at": AT.isoformat()}}))
