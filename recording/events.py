"""Events recording/ publishes on the bus once a recording is safe in the store or purged."""

from __future__ import annotations

from dataclasses import dataclass

from cti.events import CallEvent


@dataclass(frozen=True, slots=True)
class RecordingReady(CallEvent):
    """Transcoded, verified and indexed: playable from the store."""

    recording_id: int
    duration_s: float
    format: str


@dataclass(frozen=True, slots=True)
class RecordingFailed(CallEvent):
    recording_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class RecordingPurged(CallEvent):
    recording_id: int
