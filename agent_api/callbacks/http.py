"""Routes: the callback queue as the ACD holds it, its history from the CRM's callback log, and
the hand work on it — a supervisor cancels a waiting callback, an agent takes one now (their
click-to-dial rings their phone, then the number), an agent says what came of one.

An agent reads the callbacks of the queues they serve; supervisors read every queue. Each change
is a step of the callback's history and a line of the audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Protocol, cast

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from acd.callbacks import CallbackRequest, CallbackView, Phase
from acd.errors import AcdError, CallbackNotWaiting
from agent_api.context import audit, require, services
from agent_api.desktop.http import click_to_dial
from agent_api.desktop.schemas import DialBody, DialResult
from agent_api.errors import ApiError, Conflict, NotFoundError
from agent_api.messages.http import visible_queues
from agent_api.openapi import Endpoint, endpoint
from agent_api.security import Principal, Role
from crm import callback_log
from crm.callback_log import CallbackOutcome, CallbackStep

READERS = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)


class CallbackQueueLike(Protocol):
    """What these routes need of acd.service.AcdService."""

    def callbacks_waiting(self) -> list[CallbackView]: ...

    def cancel_callback(self, callback_id: str) -> CallbackRequest: ...

    async def request_callback(self, request: CallbackRequest) -> object: ...


class WaitingOut(BaseModel):
    callback_id: str
    number: str
    queue: str
    customer_id: str
    requested_at: datetime
    source: str
    priority: int
    phase: Phase
    attempts: int
    agent: str
    retry_at: datetime | None


class StepOut(BaseModel):
    id: int
    callback_id: str
    at: datetime
    step: CallbackStep
    number: str
    queue: str
    agent: str
    outcome: str
    detail: str


class CallbackBoard(BaseModel):
    waiting: list[WaitingOut]
    history: list[StepOut]


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(100, ge=1, le=callback_log.MAX_LIST)


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(max_length=200)] = ""


class OutcomeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["reached", "no_answer", "wrong_number", "call_later", "not_needed"]
    note: Annotated[str, StringConstraints(max_length=500)] = ""


def _acd(request: web.Request) -> CallbackQueueLike:
    return cast(CallbackQueueLike, services(request).acd)


def _waiting_out(view: CallbackView) -> WaitingOut:
    r = view.request
    return WaitingOut(
        callback_id=r.callback_id,
        number=r.number,
        queue=r.queue,
        customer_id=r.customer_id,
        requested_at=r.requested_at,
        source=str(r.source),
        priority=r.priority,
        phase=view.phase,
        attempts=view.attempts,
        agent=view.agent,
        retry_at=view.retry_at,
    )


def _step_out(e: callback_log.LogEntry) -> StepOut:
    return StepOut(
        id=e.id,
        callback_id=e.callback_id,
        at=e.at,
        step=e.step,
        number=e.number,
        queue=e.queue,
        agent=e.agent,
        outcome=e.outcome,
        detail=e.detail,
    )


def _waiting(request: web.Request, me: Principal, callback_id: str) -> CallbackView:
    queues = visible_queues(request, me)
    for view in _acd(request).callbacks_waiting():
        if view.request.callback_id == callback_id and (queues is None or view.request.queue in queues):
            return view
    raise NotFoundError(f"no callback {callback_id!r} waits")


@endpoint(
    "GET",
    "/api/callbacks",
    summary="The callback queue in serving order, and the newest steps of callbacks' history",
    roles=READERS,
    query=HistoryQuery,
    response=CallbackBoard,
    tag="callbacks",
)
async def callback_board(
    request: web.Request, principal: Principal | None, query: HistoryQuery
) -> CallbackBoard:
    me = require(principal)
    queues = visible_queues(request, me)
    waiting = [
        _waiting_out(v)
        for v in _acd(request).callbacks_waiting()
        if queues is None or v.request.queue in queues
    ]
    steps = await callback_log.recent(services(request).db, limit=query.limit)
    return CallbackBoard(
        waiting=waiting,
        history=[_step_out(e) for e in steps if queues is None or e.queue in queues],
    )


@endpoint(
    "POST",
    "/api/callbacks/{callback_id}/cancel",
    summary="Cancel a waiting callback: it is never dialed (one being dialed cannot be)",
    roles=SUPERVISORS,
    body=CancelBody,
    response=WaitingOut,
    tag="callbacks",
)
async def cancel_callback(
    request: web.Request, principal: Principal | None, callback_id: str, body: CancelBody
) -> WaitingOut:
    me = require(principal)
    view = _waiting(request, me, callback_id)
    try:
        _acd(request).cancel_callback(callback_id)
    except CallbackNotWaiting as exc:
        raise Conflict(str(exc)) from None
    reason = body.reason.strip()
    await callback_log.add_step(
        services(request).db,
        callback_id,
        CallbackStep.CANCELLED,
        at=services(request).clock(),
        number=view.request.number,
        queue=view.request.queue,
        agent=me.username,
        detail=reason,
    )
    await audit(request, me.username, "callback-cancel", callback_id, queue=view.request.queue)
    return _waiting_out(view)


@endpoint(
    "POST",
    "/api/callbacks/{callback_id}/take",
    summary="Take a waiting callback now: out of the queue, and my phone rings, then the number",
    roles=(Role.AGENT,),
    response=DialResult,
    tag="callbacks",
)
async def take_callback(request: web.Request, principal: Principal | None, callback_id: str) -> DialResult:
    me = require(principal)
    view = _waiting(request, me, callback_id)
    try:
        dial = DialBody(number=view.request.number)
    except ValidationError:
        raise Conflict(f"callback {callback_id!r} has a number that cannot be dialed") from None
    acd = _acd(request)
    try:
        taken = acd.cancel_callback(callback_id)
    except CallbackNotWaiting as exc:
        raise Conflict(str(exc)) from None
    try:
        result = await click_to_dial.handler(request, me, dial)
    except (ApiError, AcdError):
        await _put_back(acd, taken)
        raise
    if not result.success:
        await _put_back(acd, taken)
        return result
    await callback_log.add_step(
        services(request).db,
        callback_id,
        CallbackStep.TAKEN,
        at=services(request).clock(),
        number=taken.number,
        queue=taken.queue,
        agent=me.username,
        detail=f"#{view.attempts + 1}",
    )
    await audit(request, me.username, "callback-take", callback_id, queue=taken.queue)
    return result


async def _put_back(acd: CallbackQueueLike, taken: CallbackRequest) -> None:
    """A dial that did not start: the callback waits again at the place its caller had."""
    await acd.request_callback(taken)


@endpoint(
    "POST",
    "/api/callbacks/{callback_id}/outcome",
    summary="Say what came of a callback (reached, no answer, wrong number, call later, not needed)",
    roles=(Role.AGENT, Role.SUPERVISOR),
    body=OutcomeBody,
    response=StepOut,
    tag="callbacks",
)
async def callback_outcome(
    request: web.Request, principal: Principal | None, callback_id: str, body: OutcomeBody
) -> StepOut:
    me = require(principal)
    db = services(request).db
    steps = await callback_log.steps_of(db, callback_id[:64])
    queues = visible_queues(request, me)
    if not steps or (queues is not None and steps[-1].queue not in queues):
        raise NotFoundError(f"no callback {callback_id!r} in the history")
    last, at, note = steps[-1], services(request).clock(), body.note.strip()
    step_id = await callback_log.add_step(
        db,
        callback_id,
        CallbackStep.OUTCOME,
        at=at,
        number=last.number,
        queue=last.queue,
        agent=me.username,
        outcome=CallbackOutcome(body.outcome),
        detail=note,
    )
    await audit(request, me.username, "callback-outcome", callback_id, outcome=body.outcome)
    return StepOut(
        id=step_id,
        callback_id=callback_id,
        at=at,
        step=CallbackStep.OUTCOME,
        number=last.number,
        queue=last.queue,
        agent=me.username,
        outcome=body.outcome,
        detail=note,
    )


ENDPOINTS: list[Endpoint] = [callback_board, cancel_callback, take_callback, callback_outcome]
