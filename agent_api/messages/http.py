"""Routes: messages callers left, listed newest first, played, called back and marked done.

Supervisors see every queue's messages; an agent sees those of the queues they serve (and any
left outside a queue). Calling back is the desk's click-to-dial (POST /api/agent/dial); the page
then marks the message called back here. Every change says who and when, and is audited; so is
each play of a message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from agent_api.context import audit, require, services
from agent_api.errors import Conflict, NotFoundError
from agent_api.openapi import Endpoint, endpoint
from agent_api.security import Principal, Role
from agent_api.streaming import send_file
from crm import messages
from crm.errors import NotFound
from crm.messages import Message, MessageStatus
from recording.errors import UnsafePath
from recording.message_files import MessageFiles

READERS = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
MESSAGE_FILES_KEY: web.AppKey[MessageFiles] = web.AppKey("message_files", MessageFiles)
MEDIA_TYPES = {".wav": "audio/wav", ".gsm": "audio/x-gsm", ".mp3": "audio/mpeg", ".ogg": "audio/ogg"}


class MessageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["new", "called_back", "done"] | None = None
    queue: Annotated[str, StringConstraints(max_length=64)] | None = None
    limit: int = Field(200, ge=1, le=messages.MAX_LIST)


class MessageOut(BaseModel):
    id: int
    call_id: str
    at: datetime
    caller: str
    customer_id: int | None
    customer_name: str
    queue: str
    has_audio: bool
    record_status: str
    status: MessageStatus
    handled_by: str
    handled_at: datetime | None
    note: str


class MessageList(BaseModel):
    messages: list[MessageOut]
    new: int  # new messages in the queues the reader sees


class StatusBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: MessageStatus
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


def _out(message: Message) -> MessageOut:
    return MessageOut(
        id=message.id,
        call_id=message.call_id,
        at=message.at,
        caller=message.caller,
        customer_id=message.customer_id,
        customer_name=message.customer_name,
        queue=message.queue,
        has_audio=bool(message.file),
        record_status=message.record_status,
        status=message.status,
        handled_by=message.handled_by,
        handled_at=message.handled_at,
        note=message.note,
    )


def visible_queues(request: web.Request, me: Principal) -> frozenset[str] | None:
    """None: every queue (supervisors); else the queues the agent's skills serve, and ""."""
    if me.has(Role.SUPERVISOR, Role.ADMIN):
        return None
    config = services(request).acd.config
    profile = config.agents.get(me.username)
    skills = set(profile.skills) if profile is not None else set()
    return frozenset({"", *(q.name for q in config.queues.values() if q.skill in skills)})


async def _visible(request: web.Request, me: Principal, message_id: int) -> Message:
    try:
        message = await messages.get_message(services(request).db, message_id)
    except NotFound:
        raise NotFoundError(f"no message {message_id}") from None
    queues = visible_queues(request, me)
    if queues is not None and message.queue not in queues:
        raise NotFoundError(f"no message {message_id}")  # not another queue's existence either
    return message


@endpoint(
    "GET",
    "/api/messages",
    summary="Messages callers left, newest first (an agent sees their queues' messages)",
    roles=READERS,
    query=MessageQuery,
    response=MessageList,
    tag="messages",
)
async def list_messages(
    request: web.Request, principal: Principal | None, query: MessageQuery
) -> MessageList:
    me = require(principal)
    queues = visible_queues(request, me)
    if query.queue is not None:
        queues = frozenset({query.queue}) if queues is None or query.queue in queues else frozenset()
    db = services(request).db
    found = await messages.list_messages(
        db, status=MessageStatus(query.status) if query.status else None, queues=queues, limit=query.limit
    )
    waiting = await messages.list_messages(
        db, status=MessageStatus.NEW, queues=queues, limit=messages.MAX_LIST
    )
    return MessageList(messages=[_out(m) for m in found], new=len(waiting))


@endpoint(
    "GET",
    "/api/messages/{message_id}/audio",
    summary="Play a message: HTTP Range requests for seeking (206 Partial Content)",
    roles=READERS,
    tag="messages",
    path_types={"message_id": "integer"},
    produces="audio/wav",
)
async def play_message(
    request: web.Request, principal: Principal | None, message_id: int
) -> web.StreamResponse:
    me = require(principal)
    message = await _visible(request, me, message_id)
    if not message.file:
        raise NotFoundError(f"message {message_id} has no recording")
    files = request.app.get(MESSAGE_FILES_KEY)
    if files is None:
        raise NotFoundError("messages are not played on this server")
    try:
        path = files.path_of(message.file)
    except FileNotFoundError:
        raise NotFoundError(f"the recording of message {message_id} is gone") from None
    except UnsafePath as exc:
        raise Conflict(f"message {message_id} points outside the message folders: {exc}") from None

    async def audited() -> None:
        # A player asks from byte 0 once, then seeks: one line per listening, not per seek.
        if request.headers.get("Range", "bytes=0-").strip().startswith("bytes=0-"):
            await audit(request, me.username, "message-play", str(message.id), call_id=message.call_id)

    return await send_file(
        request,
        path,
        media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
        what="message",
        before_sending=audited,
        id=message.id,
        user=me.username,
    )


@endpoint(
    "POST",
    "/api/messages/{message_id}/status",
    summary="Mark a message called back, done, or new again (who and when are kept)",
    roles=READERS,
    body=StatusBody,
    response=MessageOut,
    tag="messages",
    path_types={"message_id": "integer"},
)
async def set_message_status(
    request: web.Request, principal: Principal | None, message_id: int, body: StatusBody
) -> MessageOut:
    me = require(principal)
    await _visible(request, me, message_id)
    svc = services(request)
    note = body.note.strip() if body.note is not None else None
    try:
        changed = await messages.set_status(
            svc.db, message_id, body.status, actor=me.username, note=note, now=svc.clock()
        )
    except NotFound:
        raise NotFoundError(f"no message {message_id}") from None
    await audit(request, me.username, "message-status", str(message_id), status=str(body.status))
    return _out(changed)


ENDPOINTS: list[Endpoint] = [list_messages, play_message, set_message_status]
