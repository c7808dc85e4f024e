"""Retention: remove recordings past their ``retain_until``, unless on legal hold.

The purge deletes the stored file (and the spool original of a recording that never
transcoded), marks the row purged, and leaves one log line and one audit entry per recording:
what was removed, when and why. Rows stay in the index so reports can still count the call.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from crm import audit
from crm import recordings as index
from crm.db import Database
from crm.recordings import Recording, RecordingState
from recording.errors import UnsafePath
from recording.storage.paths import safe_join

log = logging.getLogger(__name__)
ACTOR = "retention"


@dataclass(frozen=True, slots=True)
class Purged:
    recording_id: int
    call_id: str
    files: tuple[str, ...]
    bytes: int


def _files_of(recording: Recording, spool_dir: Path, store_dir: Path) -> list[Path]:
    files = []
    with contextlib.suppress(UnsafePath):
        if recording.stored_path:
            files.append(safe_join(store_dir, recording.stored_path))
        if recording.state is not RecordingState.STORED:
            for relative in (recording.spool_path, *recording.legs):
                files.append(safe_join(spool_dir, relative))
    return files


async def purge(db: Database, *, now: datetime, spool_dir: Path, store_dir: Path) -> tuple[Purged, ...]:
    """Remove every recording whose retention ended by ``now`` and is not held."""
    removed = []
    for recording in await index.expired(db, now):
        files, freed = [], 0
        for path in _files_of(recording, spool_dir, store_dir):
            with contextlib.suppress(FileNotFoundError):
                size = path.stat().st_size
                path.unlink()
                files.append(path.name)
                freed += size
        await index.update_recording(db, recording.id, state=RecordingState.PURGED)
        item = Purged(recording.id, recording.call_id, tuple(files), freed)
        removed.append(item)
        fields = {
            "recording_id": recording.id,
            "call_id": recording.call_id,
            "retain_until": recording.retain_until.isoformat() if recording.retain_until else "",
            "files": ",".join(files),
            "bytes": freed,
        }
        log.info("recording_purged", extra={"kv": fields})
        await audit.record(db, ACTOR, "recording-purge", target=str(recording.id), detail=fields, now=now)
    if removed:
        log.info("recording_purge_done", extra={"kv": {"count": len(removed)}})
    return tuple(removed)
