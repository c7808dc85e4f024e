"""Pausing and resuming a live call's recording (e.g. while card data is read out)."""

from __future__ import annotations

from aiohttp import web

from agent_api.context import audit, require, services
from agent_api.errors import BadRequest, Conflict, Forbidden, NotFoundError
from agent_api.openapi import endpoint
from agent_api.recordings.access import EVERYONE, _is_supervisor, own_agents
from agent_api.recordings.schemas import PauseResult
from agent_api.recordings.service import _recordings
from agent_api.security import Principal
from crm import recordings as index
from cti.errors import SwitchError
from recording.errors import RecordingNotFound


async def _pause(request: web.Request, me: Principal, call_id: str, paused: bool) -> PauseResult:
    service = _recordings(request).service
    if len(call_id) > 64:
        raise BadRequest("call ids are at most 64 characters")
    recordings = await index.recordings_of_call(service.db, call_id)
    if not _is_supervisor(me) and not any(r.agent in own_agents(me) for r in recordings):
        raise Forbidden("agents may pause the recording of their own call only")
    try:
        channels = await service.set_paused(call_id, paused)
    except RecordingNotFound as exc:
        raise NotFoundError(str(exc)) from None
    except SwitchError as exc:
        raise Conflict(f"the switch refused: {exc}") from None
    services(request).desktop.recording_changed(call_id, paused)
    await audit(request, me.username, "recording-pause" if paused else "recording-resume", call_id)
    return PauseResult(channels=list(channels))


@endpoint(
    "POST",
    "/api/recordings/calls/{call_id}/pause",
    summary="Pause a call's recording (e.g. while card data is read out)",
    roles=EVERYONE,
    response=PauseResult,
    tag="recordings",
)
async def pause_recording(request: web.Request, principal: Principal | None, call_id: str) -> PauseResult:
    return await _pause(request, require(principal), call_id, True)


@endpoint(
    "POST",
    "/api/recordings/calls/{call_id}/resume",
    summary="Resume a paused recording",
    roles=EVERYONE,
    response=PauseResult,
    tag="recordings",
)
async def resume_recording(request: web.Request, principal: Principal | None, call_id: str) -> PauseResult:
    return await _pause(request, require(principal), call_id, False)
