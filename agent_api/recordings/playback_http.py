"""Recording search and playback routes: search, one recording with its reviews, playback with
seeking (HTTP Range) and download, each audited.
"""

from __future__ import annotations

import time
from pathlib import Path

from aiohttp import web

from agent_api.context import audit, require
from agent_api.errors import BadRequest, Conflict, NotFoundError
from agent_api.i18n import language_of
from agent_api.openapi import endpoint
from agent_api.recordings.access import EVERYONE, _is_supervisor, _out, _visible, own_agents
from agent_api.recordings.qa_http import _review_out
from agent_api.recordings.schemas import RecordingDetail, SearchQuery, SearchResult
from agent_api.recordings.service import _recordings
from agent_api.security import Principal
from agent_api.streaming import send_file
from crm import recordings as index
from crm.recordings import RecordingQuery
from recording.errors import RecordingNotFound, UnsafePath

MEDIA_TYPES = {".mp3": "audio/mpeg", ".opus": "audio/ogg", ".ogg": "audio/ogg", ".wav": "audio/wav"}


@endpoint(
    "GET",
    "/api/recordings",
    summary="Search recordings (an agent sees their own calls only)",
    roles=EVERYONE,
    query=SearchQuery,
    response=SearchResult,
    tag="recordings",
)
async def search_recordings(
    request: web.Request, principal: Principal | None, query: SearchQuery
) -> SearchResult:
    me = require(principal)
    service = _recordings(request).service
    if query.since and query.until and query.until <= query.since:
        raise BadRequest("'until' must be after 'since'")
    found = await index.search(
        service.db,
        RecordingQuery(
            **query.model_dump(),
            agents=None if _is_supervisor(me) else own_agents(me),
        ),
    )
    return SearchResult(recordings=[_out(r, me) for r in found])


@endpoint(
    "GET",
    "/api/recordings/{recording_id}",
    summary="One recording with its QA reviews",
    roles=EVERYONE,
    response=RecordingDetail,
    tag="recordings",
    path_types={"recording_id": "integer"},
)
async def recording_detail(
    request: web.Request, principal: Principal | None, recording_id: int
) -> RecordingDetail:
    me = require(principal)
    recording = await _visible(request, me, recording_id)
    recordings = _recordings(request)
    reviews = await index.reviews_of(recordings.service.db, recording.id)
    return RecordingDetail(
        recording=_out(recording, me),
        reviews=[_review_out(r, recordings.forms, language_of(request)) for r in reviews],
    )


def _media_type(path: Path) -> str:
    return MEDIA_TYPES.get(path.suffix, "application/octet-stream")


async def _send(
    request: web.Request, me: Principal, recording_id: int, *, download: bool
) -> web.StreamResponse:
    recording = await _visible(request, me, recording_id)
    recordings = _recordings(request)
    try:
        path = recordings.service.file_of(recording)
    except RecordingNotFound as exc:
        raise NotFoundError(str(exc)) from None
    except UnsafePath as exc:
        raise Conflict(f"recording {recording_id} points outside the store: {exc}") from None
    target, call_id = str(recording.id), recording.call_id

    async def audited() -> None:
        if download:
            await audit(request, me.username, "recording-download", target, call_id=call_id)
        elif recordings.first_play(me.username, recording.id, time.monotonic()):
            await audit(request, me.username, "recording-play", target, call_id=call_id)

    return await send_file(
        request,
        path,
        media_type=_media_type(path),
        what="recording",
        download_name=f"recording-{recording.id}{path.suffix}" if download else "",
        before_sending=audited,
        id=recording.id,
        user=me.username,
    )


@endpoint(
    "GET",
    "/api/recordings/{recording_id}/audio",
    summary="Play a recording: HTTP Range requests for seeking (206 Partial Content)",
    roles=EVERYONE,
    tag="recordings",
    path_types={"recording_id": "integer"},
    produces="audio/mpeg",
)
async def play_recording(
    request: web.Request, principal: Principal | None, recording_id: int
) -> web.StreamResponse:
    return await _send(request, require(principal), recording_id, download=False)


@endpoint(
    "GET",
    "/api/recordings/{recording_id}/download",
    summary="Download a recording's file (audited)",
    roles=EVERYONE,
    tag="recordings",
    path_types={"recording_id": "integer"},
    produces="audio/mpeg",
)
async def download_recording(
    request: web.Request, principal: Principal | None, recording_id: int
) -> web.StreamResponse:
    return await _send(request, require(principal), recording_id, download=True)
