"""Routes: admins list, add and change dispositions and pause reasons per queue; every signed-in
user reads those a queue offers. A pause reason added here is accepted by the ACD at once."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from agent_api.context import audit, require, services
from agent_api.desk_codes.service import DESK_CODES_KEY
from agent_api.errors import Conflict, InvalidBody, NotFoundError
from agent_api.i18n import language_of
from agent_api.openapi import Endpoint, endpoint
from agent_api.security import Principal, Role
from crm import desk_codes
from crm.desk_codes import CodeKind
from crm.errors import NotFound

ADMIN = (Role.ADMIN,)
EVERYONE = (Role.AGENT, Role.SUPERVISOR, Role.ANALYST, Role.ADMIN)
Label = Annotated[str, StringConstraints(max_length=100)]
QueueName = Annotated[str, StringConstraints(max_length=64)]


class CodeOut(BaseModel):
    id: int
    kind: CodeKind
    queue: str
    code: str
    label_zh: str
    label_en: str
    label: str  # in the reader's language
    position: int
    enabled: bool


class CodeList(BaseModel):
    codes: list[CodeOut]


class NewCodeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: CodeKind
    code: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    label_zh: Label = ""
    label_en: Label = ""
    queue: QueueName = ""
    position: int = Field(default=0, ge=0, le=1000)


class CodePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label_zh: Label | None = None
    label_en: Label | None = None
    position: int | None = Field(default=None, ge=0, le=1000)
    enabled: bool | None = None


class OfferedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["disposition", "pause"]  # a literal: query parameters carry no schema references
    queue: QueueName = ""


def _out(code: desk_codes.DeskCode, language: str) -> CodeOut:
    return CodeOut(
        id=code.id,
        kind=code.kind,
        queue=code.queue,
        code=code.code,
        label_zh=code.label_zh,
        label_en=code.label_en,
        label=code.label(language),
        position=code.position,
        enabled=code.enabled,
    )


async def _reloaded(request: web.Request) -> None:
    codes = await request.app[DESK_CODES_KEY].reload()
    states = getattr(services(request).acd, "states", None)
    add = getattr(states, "add_reason_codes", None)
    if add is not None:
        add(c.code for c in codes if c.kind is CodeKind.PAUSE and c.enabled)


@endpoint(
    "GET",
    "/api/admin/desk-codes",
    summary="Every disposition and pause reason, per queue",
    roles=ADMIN,
    response=CodeList,
    tag="admin",
)
async def list_codes(request: web.Request, principal: Principal | None) -> CodeList:
    language = language_of(request)
    codes = await request.app[DESK_CODES_KEY].reload()
    return CodeList(codes=[_out(c, language) for c in codes])


@endpoint(
    "POST",
    "/api/admin/desk-codes",
    summary="Add a disposition or a pause reason, for every queue or one",
    roles=ADMIN,
    body=NewCodeBody,
    response=CodeOut,
    tag="admin",
)
async def add_code(request: web.Request, principal: Principal | None, body: NewCodeBody) -> CodeOut:
    me = require(principal)
    if body.queue and body.queue not in services(request).acd.config.queues:
        raise InvalidBody(f"no queue {body.queue!r}", details={"field": "queue"})
    if not (body.label_zh.strip() or body.label_en.strip()):
        raise InvalidBody("name the code in at least one language", details={"field": "label_zh"})
    try:
        code = await desk_codes.add_code(
            services(request).db,
            desk_codes.NewCode(
                body.kind, body.code, body.label_zh.strip(), body.label_en.strip(), body.queue, body.position
            ),
        )
    except desk_codes.BadCode as exc:
        raise InvalidBody(str(exc), details={"field": "code"}) from None
    except desk_codes.DuplicateCode as exc:
        raise Conflict(str(exc)) from None
    await _reloaded(request)
    await audit(
        request,
        me.username,
        "desk-code-add",
        str(code.id),
        kind=str(code.kind),
        code=code.code,
        queue=code.queue,
    )
    return _out(code, language_of(request))


@endpoint(
    "PATCH",
    "/api/admin/desk-codes/{code_id}",
    summary="Rename, reorder, turn off or on a disposition or pause reason",
    roles=ADMIN,
    body=CodePatch,
    response=CodeOut,
    tag="admin",
    path_types={"code_id": "integer"},
)
async def change_code(
    request: web.Request, principal: Principal | None, code_id: int, body: CodePatch
) -> CodeOut:
    me = require(principal)
    try:
        code = await desk_codes.update_code(
            services(request).db,
            code_id,
            label_zh=body.label_zh.strip() if body.label_zh is not None else None,
            label_en=body.label_en.strip() if body.label_en is not None else None,
            position=body.position,
            enabled=body.enabled,
        )
    except NotFound:
        raise NotFoundError(f"no code {code_id}") from None
    await _reloaded(request)
    changed = sorted(k for k, v in body.model_dump().items() if v is not None)
    await audit(request, me.username, "desk-code-update", str(code_id), changed=changed)
    return _out(code, language_of(request))


@endpoint(
    "GET",
    "/api/desk-codes",
    summary="The dispositions or pause reasons a queue offers (empty queue: the site-wide ones)",
    roles=EVERYONE,
    query=OfferedQuery,
    response=CodeList,
    tag="agent",
)
async def offered_codes(request: web.Request, principal: Principal | None, query: OfferedQuery) -> CodeList:
    language = language_of(request)
    codes = request.app[DESK_CODES_KEY].offered(CodeKind(query.kind), query.queue)
    return CodeList(codes=[_out(c, language) for c in codes])


ENDPOINTS: list[Endpoint] = [list_codes, add_code, change_code, offered_codes]
