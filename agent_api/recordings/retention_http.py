"""Retention routes: legal holds, the purge run on demand, and the storage recordings use."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from aiohttp import web

from agent_api.context import audit, require
from agent_api.errors import InvalidBody
from agent_api.openapi import endpoint
from agent_api.recordings.access import SUPERVISOR, _out, _visible
from agent_api.recordings.schemas import HoldBody, PurgeResult, RecordingOut, StorageRow, StorageUse
from agent_api.recordings.service import _recordings
from agent_api.security import Principal, Role
from crm import recordings as index


@endpoint(
    "PUT",
    "/api/recordings/{recording_id}/hold",
    summary="Put a legal hold on a recording, or lift it (held recordings are never purged)",
    roles=SUPERVISOR,
    body=HoldBody,
    response=RecordingOut,
    tag="recordings",
    path_types={"recording_id": "integer"},
)
async def hold_recording(
    request: web.Request, principal: Principal | None, recording_id: int, body: HoldBody
) -> RecordingOut:
    me = require(principal)
    recording = await _visible(request, me, recording_id)
    if body.held and not body.reason.strip():
        raise InvalidBody("a legal hold needs a reason (case or request number)")
    db = _recordings(request).service.db
    await index.set_hold(db, recording.id, held=body.held, reason=body.reason.strip(), by=me.username)
    await audit(
        request, me.username, "recording-hold" if body.held else "recording-unhold", str(recording.id),
        reason=body.reason.strip(),
    )  # fmt: skip
    updated = await index.get_recording(db, recording.id)
    assert updated is not None
    return _out(updated, me)


@endpoint(
    "POST",
    "/api/recordings/purge",
    summary="Run the retention purge now (it also runs daily)",
    roles=(Role.ADMIN,),
    response=PurgeResult,
    tag="recordings",
)
async def purge_now(request: web.Request, principal: Principal | None) -> PurgeResult:
    me = require(principal)
    purged = await _recordings(request).service.purge()
    freed = sum(p.bytes for p in purged)
    await audit(request, me.username, "recording-purge-run", "", count=len(purged), bytes=freed)
    return PurgeResult(purged=[p.recording_id for p in purged], bytes=freed)


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.is_dir() else 0


@endpoint(
    "GET",
    "/api/recordings/storage",
    summary="Storage used by recordings, by state and format, and the disk's free space",
    roles=(Role.ADMIN,),
    response=StorageUse,
    tag="recordings",
)
async def storage_use(request: web.Request, principal: Principal | None) -> StorageUse:
    service = _recordings(request).service
    rows = await index.storage_use(service.db)
    spool, store = service.storage_paths()
    store_bytes, spool_bytes = await asyncio.to_thread(lambda: (_tree_bytes(store), _tree_bytes(spool)))
    disk = shutil.disk_usage(store if store.exists() else Path("."))
    return StorageUse(
        rows=[StorageRow(state=r.state, format=r.format, count=r.count, bytes=r.bytes) for r in rows],
        store_bytes=store_bytes,
        spool_bytes=spool_bytes,
        disk_total_bytes=disk.total,
        disk_free_bytes=disk.free,
    )
