"""Admin routes for the ACD's queues: list, create or replace, remove (docs/acd-queues-admin.md).

A change is checked as the queues file is (acd.queue_file), written to the queues file
(``[acd] queues_file``) and only then taken by the running ACD, so the file and the ACD never
disagree: if the file cannot be written nothing changes. Without a queues file the change holds
until Hotline restarts, and the answer says so.
"""

from __future__ import annotations

import asyncio
import enum
import re
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from acd.errors import AcdConfigError, QueueInUse, UnknownQueue
from acd.models import AcdConfig, MaxWaitAction, QueueConfig, Strategy
from acd.queue_file import parse_queue, save_queue_file
from acd.service import Persist
from agent_api.context import audit, require, services
from agent_api.errors import ApiError, BadRequest, Conflict, NotFoundError
from agent_api.openapi import Endpoint, endpoint
from agent_api.security import Principal, Role

ADMIN = (Role.ADMIN,)
# The dialplan hands a queue's name to Asterisk as an extension of hotline-callback and
# hotline-message (pattern _[a-z].) and to Queue() as it is: a lowercase letter, then at least one
# more letter, digit, "-" or "_".
QUEUE_NAME = re.compile(r"[a-z][a-z0-9_-]{1,39}")
QueueName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{1,39}$")]
SkillName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{0,40}$")]
Seconds = Annotated[float, Field(ge=0, le=86400, allow_inf_nan=False)]


class QueuesFileNotWritten(ApiError):
    status = 503
    error_id = "queues_file_not_written"


class QueueView(BaseModel):
    name: str
    skill: str
    strategy: Strategy
    weight: int
    service_level_s: float
    wrapup_s: float  # in force: the queue's own, or the site's default
    own_wrapup_s: float | None  # the queue's own setting; null: the site's default
    offer_during_wrapup: bool  # true: the next call may come while a wrap-up form is still open
    overflow_after_s: float | None
    overflow_to: str
    max_wait_s: float | None
    max_wait_action: MaxWaitAction


class QueueList(BaseModel):
    queues: list[QueueView]
    saved: bool  # False: no queues file is configured, changes hold until Hotline restarts


class QueueBody(BaseModel):
    """A queue's settings, as in the queues file; omitted ones take their defaults."""

    model_config = ConfigDict(extra="forbid")

    skill: SkillName = ""  # empty: the queue's own name
    strategy: Strategy = Strategy.LONGEST_IDLE
    weight: int = Field(default=0, ge=-100, le=100)
    service_level_s: float = Field(default=20.0, gt=0, le=3600, allow_inf_nan=False)
    wrapup_s: Annotated[float, Field(ge=0, le=3600, allow_inf_nan=False)] | None = None
    # False: an agent with a wrap-up form open gets no call until it is saved or discarded.
    offer_during_wrapup: StrictBool = False
    overflow_after_s: Seconds | None = None
    overflow_to: Annotated[str, StringConstraints(pattern=r"^([a-z][a-z0-9_-]{1,39})?$")] = ""
    max_wait_s: Annotated[float, Field(gt=0, le=86400, allow_inf_nan=False)] | None = None
    max_wait_action: MaxWaitAction = MaxWaitAction.CALLBACK


class QueueSaved(BaseModel):
    queue: QueueView
    created: bool
    saved: bool  # written to the queues file


def _view(config: AcdConfig, queue: QueueConfig) -> QueueView:
    return QueueView(
        name=queue.name,
        skill=queue.skill,
        strategy=queue.strategy,
        weight=queue.weight,
        service_level_s=queue.service_level_s,
        wrapup_s=config.wrapup_for(queue.name),
        own_wrapup_s=queue.wrapup_s,
        offer_during_wrapup=queue.offer_during_wrapup,
        overflow_after_s=queue.overflow_after_s,
        overflow_to=queue.overflow_to,
        max_wait_s=queue.max_wait_s,
        max_wait_action=queue.max_wait_action,
    )


def _settings(queue: QueueConfig | None) -> dict[str, Any]:
    if queue is None:
        return {}
    return {
        f.name: (value.value if isinstance(value, enum.Enum) else value)
        for f in fields(QueueConfig)
        if f.name != "name"
        for value in [getattr(queue, f.name)]
    }


def _changes(old: QueueConfig | None, new: QueueConfig | None) -> dict[str, list[Any]]:
    """Each setting that changed, as [old, new] (null for a queue created or removed)."""
    before, after = _settings(old), _settings(new)
    keys = list(after or before)
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


def _persist(path: str) -> Persist | None:
    if not path:
        return None

    async def persist(queues: Mapping[str, QueueConfig]) -> None:
        try:
            await asyncio.to_thread(save_queue_file, Path(path), queues)
        except OSError as exc:
            raise QueuesFileNotWritten(
                f"the queues file could not be written ({exc.strerror or exc}); nothing was changed",
                details={"file": path},
            ) from None

    return persist


@endpoint(
    "GET", "/api/admin/queues", summary="The ACD's queues", roles=ADMIN, response=QueueList, tag="admin"
)
async def list_queues(request: web.Request, principal: Principal | None) -> QueueList:
    config = services(request).acd.config
    return QueueList(
        queues=[_view(config, q) for q in config.queues.values()], saved=bool(config.queues_file)
    )


@endpoint(
    "PUT",
    "/api/admin/queues/{name}",
    summary="Create a queue or replace its settings (400: refused by the ACD's rules; 503: file not written)",
    roles=ADMIN,
    body=QueueBody,
    response=QueueSaved,
    tag="admin",
)
async def put_queue(
    request: web.Request, principal: Principal | None, name: str, body: QueueBody
) -> QueueSaved:
    me = require(principal)
    if not QUEUE_NAME.fullmatch(name):
        raise BadRequest(
            f"{name!r} is not a queue name: a lowercase letter, then 1 to 39 lowercase letters,"
            " digits, '-' or '_'"
        )
    acd = services(request).acd
    try:
        queue = parse_queue(name, body.model_dump())
        previous = await acd.set_queue(queue, persist=_persist(acd.config.queues_file))
    except AcdConfigError as exc:
        raise BadRequest(str(exc)) from None
    saved = bool(acd.config.queues_file)
    action = "queue-create" if previous is None else "queue-update"
    await audit(request, me.username, action, name, changes=_changes(previous, queue), saved=saved)
    return QueueSaved(queue=_view(acd.config, queue), created=previous is None, saved=saved)


@endpoint(
    "DELETE",
    "/api/admin/queues/{name}",
    summary="Remove a queue (409: callers or callbacks wait in it, or another queue overflows to it)",
    roles=ADMIN,
    tag="admin",
)
async def delete_queue(request: web.Request, principal: Principal | None, name: str) -> None:
    me = require(principal)
    acd = services(request).acd
    try:
        removed = await acd.remove_queue(name, persist=_persist(acd.config.queues_file))
    except UnknownQueue:
        raise NotFoundError(f"no queue {name!r}") from None
    except (QueueInUse, AcdConfigError) as exc:
        raise Conflict(str(exc)) from None
    saved = bool(acd.config.queues_file)
    await audit(request, me.username, "queue-remove", name, changes=_changes(removed, None), saved=saved)


ENDPOINTS: list[Endpoint] = [list_queues, put_queue, delete_queue]
