"""Recordings: search, playback with seeking (HTTP Range), download, QA scoring, holds, storage.

Who may hear what: supervisors and admins every recording; an agent only the calls they
answered (their results and scores too), with the caller's number masked. Every playback and
download goes to the audit log — a playback once per listener and recording per
``PLAY_AUDIT_WINDOW_S``, so a player's seeks (each a new Range request) do not flood it.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import aiohttp_jinja2
from aiohttp import web

from agent_api.context import audit, require, services
from agent_api.errors import ApiError, BadRequest, Conflict, Forbidden, InvalidBody, NotFoundError
from agent_api.i18n import catalog, language_of
from agent_api.openapi import Endpoint, endpoint
from agent_api.recordings.ranges import parse_range
from agent_api.recordings.schemas import (
    FormOut,
    Forms,
    HoldBody,
    PauseResult,
    PurgeResult,
    RecordingDetail,
    RecordingOut,
    ReviewBody,
    ReviewOut,
    ScoreRow,
    Scores,
    ScoresQuery,
    SearchQuery,
    SearchResult,
    StorageRow,
    StorageUse,
)
from agent_api.security import Principal, Role, principal_of
from crm import recordings as index
from crm.recordings import Recording, RecordingQuery
from cti.errors import SwitchError
from recording.errors import BadAnswers, RecordingNotFound, UnsafePath
from recording.quality import Form, load_forms, score
from recording.service import RecordingService

SUPERVISOR = (Role.SUPERVISOR, Role.ADMIN)
EVERYONE = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
PLAY_AUDIT_WINDOW_S = 600.0
MEDIA_TYPES = {".mp3": "audio/mpeg", ".opus": "audio/ogg", ".ogg": "audio/ogg", ".wav": "audio/wav"}
HERE = Path(__file__).parent
CHUNK_BYTES = 256 * 1024


class RecordingsUnavailable(ApiError):
    status = 503
    error_id = "recordings_unavailable"


class Recordings:
    """What the routes need: the service, the QA forms, and the playback audit memory."""

    def __init__(self, service: RecordingService, forms: dict[str, Form] | None = None) -> None:
        self.service = service
        self.forms = forms if forms is not None else load_forms()
        self._played: OrderedDict[tuple[str, int], float] = OrderedDict()

    def first_play(self, username: str, recording_id: int, now: float) -> bool:
        key = (username, recording_id)
        last = self._played.get(key)
        self._played[key] = now
        self._played.move_to_end(key)
        while len(self._played) > 10_000:
            self._played.popitem(last=False)
        return last is None or now - last > PLAY_AUDIT_WINDOW_S


RECORDINGS_KEY: web.AppKey[Recordings] = web.AppKey("recordings", Recordings)


def _recordings(request: web.Request) -> Recordings:
    found = request.app.get(RECORDINGS_KEY)
    if found is None:
        raise RecordingsUnavailable("recording is not configured on this server")
    return found


def _is_supervisor(principal: Principal) -> bool:
    return principal.has(Role.SUPERVISOR, Role.ADMIN)


def own_agents(principal: Principal) -> tuple[str, ...]:
    """How an agent's calls are named in the index: their account, or their phone's interface."""
    names = [principal.username]
    if principal.extension:
        names.append(f"PJSIP/{principal.extension}")
    return tuple(names)


def _mask(number: str) -> str:
    return number[:3] + "*" * (len(number) - 7) + number[-4:] if len(number) > 7 else number


def _out(recording: Recording, principal: Principal) -> RecordingOut:
    number = recording.number if _is_supervisor(principal) else _mask(recording.number)
    return RecordingOut(
        id=recording.id,
        call_id=recording.call_id,
        started_at=recording.started_at,
        ended_at=recording.ended_at,
        agent=recording.agent,
        queue=recording.queue,
        number=number,
        customer_id=recording.customer_id,
        disposition=recording.disposition,
        duration_s=recording.duration_s,
        size_bytes=recording.size_bytes,
        format=recording.format,
        channels=recording.channels,
        checksum=recording.checksum,
        talk_ratio=recording.talk_ratio,
        silence_ratio=recording.silence_ratio,
        crosstalk_s=recording.crosstalk_s,
        state=recording.state.value,
        error=recording.error,
        retain_until=recording.retain_until,
        held=recording.held,
        hold_reason=recording.hold_reason,
        qa_score=recording.qa_score,
    )


async def _visible(request: web.Request, principal: Principal, recording_id: int) -> Recording:
    recording = await index.get_recording(_recordings(request).service.db, recording_id)
    if recording is None:
        raise NotFoundError(f"no recording {recording_id}")
    if not _is_supervisor(principal) and recording.agent not in own_agents(principal):
        raise Forbidden("agents may only open the recordings of calls they answered")
    return recording


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


def _review_out(review: index.Review, forms: dict[str, Form]) -> ReviewOut:
    form = forms.get(review.form)
    sections = {}
    if form is not None:
        try:
            sections = score(form, review.answers).sections
        except BadAnswers:
            sections = {}  # the form changed since the review; the stored score stands
    return ReviewOut(
        id=review.id,
        reviewer=review.reviewer,
        form=review.form,
        score=review.score,
        sections=sections,
        answers=review.answers,
        comments=list(review.comments),  # type: ignore[arg-type]
        summary=review.summary,
        at=review.at,
    )


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
        recording=_out(recording, me), reviews=[_review_out(r, recordings.forms) for r in reviews]
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
    size = path.stat().st_size
    wanted = parse_range(request.headers.get("Range"), size)
    if download:
        await audit(request, me.username, "recording-download", str(recording.id), call_id=recording.call_id)
    elif recordings.first_play(me.username, recording.id, time.monotonic()):
        await audit(request, me.username, "recording-play", str(recording.id), call_id=recording.call_id)
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="recording-{recording.id}{path.suffix}"'
    response = web.StreamResponse(status=200 if wanted is None else 206, headers=headers)
    response.content_type = _media_type(path)
    start, length = (0, size) if wanted is None else (wanted.start, wanted.length)
    if wanted is not None:
        response.headers["Content-Range"] = wanted.content_range(size)
    response.content_length = length
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    with path.open("rb") as reader:
        reader.seek(start)
        remaining = length
        while remaining > 0:
            chunk = await asyncio.to_thread(reader.read, min(CHUNK_BYTES, remaining))
            if not chunk:
                break  # the file shrank under us (a purge); the client sees a short body
            await response.write(chunk)
            remaining -= len(chunk)
    await response.write_eof()
    return response


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


@endpoint(
    "GET",
    "/api/recordings/forms",
    summary="The QA scoring forms",
    roles=EVERYONE,
    response=Forms,
    tag="recordings",
)
async def qa_forms(request: web.Request, principal: Principal | None) -> Forms:
    forms = _recordings(request).forms.values()
    return Forms(forms=[FormOut.model_validate(form, from_attributes=True) for form in forms])


@endpoint(
    "POST",
    "/api/recordings/{recording_id}/reviews",
    summary="Score a recording with a QA form, with comments at time offsets",
    roles=SUPERVISOR,
    body=ReviewBody,
    response=ReviewOut,
    tag="recordings",
    path_types={"recording_id": "integer"},
)
async def review_recording(
    request: web.Request, principal: Principal | None, recording_id: int, body: ReviewBody
) -> ReviewOut:
    me = require(principal)
    recording = await _visible(request, me, recording_id)
    recordings = _recordings(request)
    form = recordings.forms.get(body.form)
    if form is None:
        raise InvalidBody(f"no QA form {body.form!r}", details={"forms": sorted(recordings.forms)})
    if recording.duration_s is not None:
        late = [c.offset_s for c in body.comments if c.offset_s > recording.duration_s + 1]
        if late:
            raise InvalidBody(
                f"comment at {late[0]} s is past the end of the {recording.duration_s:.0f} s call"
            )
    try:
        scored = score(form, body.answers)
    except BadAnswers as exc:
        raise InvalidBody(str(exc)) from None
    db = recordings.service.db
    await index.add_review(
        db,
        index.NewReview(
            recording_id=recording.id,
            reviewer=me.username,
            form=form.id,
            score=scored.score,
            answers=dict(body.answers),
            comments=tuple(c.model_dump() for c in body.comments),
            summary=body.summary,
        ),
    )
    await audit(request, me.username, "recording-review", str(recording.id), score=scored.score)
    review = (await index.reviews_of(db, recording.id))[-1]
    return _review_out(review, recordings.forms)


@endpoint(
    "GET",
    "/api/recordings/scores",
    summary="QA scores per agent or queue over a period (an agent sees their own)",
    roles=EVERYONE,
    query=ScoresQuery,
    response=Scores,
    tag="recordings",
)
async def qa_scores(request: web.Request, principal: Principal | None, query: ScoresQuery) -> Scores:
    me = require(principal)
    rows = await index.score_summary(
        _recordings(request).service.db,
        by=query.by,
        since=query.since,
        until=query.until,
        agents=None if _is_supervisor(me) else own_agents(me),
    )
    return Scores(
        by=query.by,
        rows=[
            ScoreRow(
                key=r.key, reviews=r.reviews, average=round(r.average, 2), lowest=r.lowest, highest=r.highest
            )
            for r in rows
        ],
    )


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


# Literal paths before the {recording_id} ones, so /api/recordings/forms is not an id.
ENDPOINTS: list[Endpoint] = [
    search_recordings,
    qa_forms,
    qa_scores,
    storage_use,
    purge_now,
    recording_detail,
    play_recording,
    download_recording,
    review_recording,
    hold_recording,
    pause_recording,
    resume_recording,
]


# --- the page ------------------------------------------------------------------------------


def _catalog(language: str) -> dict[str, str]:
    own = json.loads((HERE / "i18n" / f"{language.replace('-', '_')}.json").read_text(encoding="utf-8"))
    return {**catalog(language), **own}


def _translator(strings: dict[str, str]) -> Callable[[str], str]:
    return lambda key: strings.get(key, key)


async def recordings_page(request: web.Request) -> web.StreamResponse:
    principal = principal_of(request)
    if principal is None:
        raise web.HTTPFound("/login")
    if not principal.has(Role.SUPERVISOR, Role.ADMIN):
        raise web.HTTPForbidden(text="your roles do not allow this page")
    language = language_of(request)
    strings = _catalog(language)
    context = {
        "lang": language,
        "other_lang": "en" if language == "zh-CN" else "zh-CN",
        "_": _translator(strings),
        "catalog_json": json.dumps(strings, ensure_ascii=False),
        "me": principal,
        "page": "recordings.html",
        "is_supervisor": True,
        "is_admin": principal.has(Role.ADMIN),
        "is_agent": principal.has(Role.AGENT),
    }
    return aiohttp_jinja2.render_template("recordings.html", request, context)


def add_recordings(app: web.Application, recordings: Recordings) -> None:
    """The service and the page; build_app adds the API endpoints with the others."""
    app[RECORDINGS_KEY] = recordings
    app.router.add_get("/supervisor/recordings", recordings_page)
