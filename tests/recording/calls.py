"""A call as the tracker reports it, with the recording placed where the dialplan puts it."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cti.events import CallAnswered, CallEnded, CallOffered, CallQueued, EndCause, RecordingStarted
from recording.storage.paths import ASTERISK_MONITOR_DIR, leg_paths

T0 = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


def spool_path(call_id: str, uniqueid: str, at: datetime = T0) -> str:
    """``YYYY/MM/DD/<Linkedid>/<Uniqueid>.wav`` as ``hotline-record`` builds it."""
    return f"{at:%Y/%m/%d}/{call_id}/{uniqueid}.wav"


def place(spool: Path, relative: str, source: Path, legs: Sequence[Path] = ()) -> None:
    target = spool / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    for leg_relative, leg in zip(leg_paths(relative), legs, strict=False):
        shutil.copyfile(leg, spool / leg_relative)


def call_events(
    call_id: str,
    *,
    queue: str = "support",
    agent: str = "PJSIP/1001",
    caller: str = "13800138000",
    at: datetime = T0,
    talk_s: float = 7.0,
    monitor_dir: str = ASTERISK_MONITOR_DIR,
) -> tuple[list[object], list[object], str]:
    """(events up to the answer, the end, the recording's spool path)."""
    uniqueid = call_id
    relative = spool_path(call_id, uniqueid, at)
    channel = "PJSIP/trunk-00000001"
    start = [
        CallOffered(
            at=at, call_id=call_id, caller=caller, caller_name="", dialed="4008123456", channel=channel
        ),
        RecordingStarted(at=at, call_id=call_id, channel=channel, file=f"{monitor_dir}/{relative}"),
        CallQueued(at=at, call_id=call_id, queue=queue, position=1),
        CallAnswered(at=at + timedelta(seconds=5), call_id=call_id, agent=agent, queue=queue, wait_seconds=5),
    ]
    end = [
        CallEnded(
            at=at + timedelta(seconds=5 + talk_s),
            call_id=call_id,
            cause=EndCause.NORMAL,
            talk_seconds=talk_s,
            agent=agent,
        )
    ]
    return start, end, relative
