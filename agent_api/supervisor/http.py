"""Supervisor routes: the wallboard, the marketing threshold, listen/whisper/barge, force pause/logout."""

from __future__ import annotations

import dataclasses

from aiohttp import web

from acd.errors import AcdError
from acd.gate import MarketingPolicy
from acd.models import AgentState
from agent_api.context import audit, require, services
from agent_api.errors import BadRequest, Conflict, NotFoundError, SwitchUnavailable
from agent_api.i18n import language_of, translate
from agent_api.openapi import Endpoint, endpoint
from agent_api.ports import ACD_SET_REASONS
from agent_api.security import Principal, Role
from agent_api.supervisor.schemas import ForcePauseBody, PolicyBody, SpyBody, SpyResult, Wallboard
from cti.errors import SwitchError

SUPERVISOR = (Role.SUPERVISOR, Role.ADMIN)
# Marketing groups (teams with their own threshold): each is a line on every wallboard frame,
# pushed to every supervisor up to four times a second, so their number is bounded. Fifty keeps
# a frame of them near 20 KB and is more teams than a 1,000-seat center has.
MAX_MARKETING_GROUPS = 50


@endpoint(
    "GET",
    "/api/supervisor/wallboard",
    summary="Queues, agents by state, marketing against threshold",
    roles=SUPERVISOR,
    response=Wallboard,
    tag="supervisor",
)
async def wallboard(request: web.Request, principal: Principal | None) -> Wallboard:
    return services(request).board.wallboard()


@endpoint(
    "PUT",
    "/api/supervisor/marketing/{group}",
    summary="Set a group's control threshold and load conditions",
    roles=SUPERVISOR,
    body=PolicyBody,
    response=Wallboard,
    tag="supervisor",
)
async def set_marketing_policy(
    request: web.Request, principal: Principal | None, group: str, body: PolicyBody
) -> Wallboard:
    me = require(principal)
    svc = services(request)
    if len(group) > 64:
        raise BadRequest("group names are at most 64 characters")
    unknown = [q for q in body.queues if q not in svc.acd.config.queues]
    if unknown:
        raise BadRequest(f"unknown queues: {', '.join(unknown)}")
    try:
        policy = MarketingPolicy(
            group=group, queues=tuple(body.queues), **body.model_dump(exclude={"queues"})
        )
    except AcdError as exc:
        raise BadRequest(str(exc)) from None
    before = svc.acd.gate.policy(group)
    if before is None and len(svc.acd.gate.policies()) >= MAX_MARKETING_GROUPS:
        raise Conflict(
            f"there may be at most {MAX_MARKETING_GROUPS} marketing groups; "
            "change an existing group's threshold instead"
        )
    await svc.acd.set_marketing_policy(policy)  # saved: it holds after a restart
    svc.board.mark_dirty()
    await audit(
        request,
        me.username,
        "threshold-change",
        group,
        before=None if before is None else _policy_fields(before),
        after=_policy_fields(policy),
    )
    return svc.board.wallboard()


def _policy_fields(policy: MarketingPolicy) -> dict[str, object]:
    """The threshold and every load condition, for the audit log."""
    fields = {f.name: getattr(policy, f.name) for f in dataclasses.fields(policy) if f.name != "group"}
    return {**fields, "queues": list(policy.queues)}


def _agent_record(request: web.Request, agent: str):  # type: ignore[no-untyped-def]
    try:
        return services(request).acd.states.get(agent)
    except AcdError:
        raise NotFoundError(f"no agent {agent!r}") from None


SPIED_STATES = (AgentState.ON_CALL, AgentState.OUTBOUND)
# Asterisk's Originate reasons (3: no answer, 5: busy) as the sentence the supervisor reads.
SPY_FAILURES = {"3": "spy.result.no_answer", "5": "spy.result.busy"}


@endpoint(
    "POST",
    "/api/supervisor/agents/{agent}/spy",
    summary="Listen, whisper or barge on an agent's call",
    roles=SUPERVISOR,
    body=SpyBody,
    response=SpyResult,
    tag="supervisor",
)
async def spy(request: web.Request, principal: Principal | None, agent: str, body: SpyBody) -> SpyResult:
    """Refused at once (409) when the agent is on no call: the supervisor's phone would ring for
    nothing. Otherwise the answer comes when the supervisor's phone answers or gives up, with
    a sentence the page shows (``message``, in the page's language)."""
    me = require(principal)
    record = _agent_record(request, agent)
    if not me.extension:
        raise Conflict("your account has no extension to ring")
    if record.state not in SPIED_STATES:
        raise Conflict(f"{record.profile.name or agent} is on no call: there is nothing to listen to")
    extension = record.extension or record.profile.extension
    try:
        result = await services(request).switch.spy(f"PJSIP/{me.extension}", extension, body.mode)
    except SwitchError as exc:
        raise SwitchUnavailable(str(exc)) from None
    await audit(request, me.username, f"spy-{body.mode}", agent, success=result.success)
    key = "spy.result.connected"
    if not result.success:
        key = SPY_FAILURES.get(result.reason, "spy.result.unreachable")
    message = translate(language_of(request), key).replace("{extension}", me.extension)
    return SpyResult(success=result.success, channel=result.channel, reason=result.reason, message=message)


@endpoint(
    "POST",
    "/api/supervisor/agents/{agent}/pause",
    summary="Force an agent into pause",
    roles=SUPERVISOR,
    body=ForcePauseBody,
    tag="supervisor",
)
async def force_pause(
    request: web.Request, principal: Principal | None, agent: str, body: ForcePauseBody
) -> None:
    me = require(principal)
    _agent_record(request, agent)
    if body.reason in ACD_SET_REASONS:
        raise BadRequest(f"the pause reason {body.reason!r} is set by the ACD, not chosen")
    try:
        await services(request).acd.pause(agent, body.reason)
    except AcdError as exc:
        raise Conflict(str(exc)) from None
    await audit(request, me.username, "force-pause", agent, reason=body.reason)


@endpoint(
    "POST",
    "/api/supervisor/agents/{agent}/logout",
    summary="Force an agent to log out (after the call in progress, if any)",
    roles=SUPERVISOR,
    tag="supervisor",
)
async def force_logout(request: web.Request, principal: Principal | None, agent: str) -> None:
    me = require(principal)
    _agent_record(request, agent)
    # An agent on a call keeps the caller and is logged out as soon as the call is over.
    done = await services(request).desktop.retire(agent)
    if not done:
        raise Conflict(f"agent {agent!r} is not logged in")
    await audit(request, me.username, "force-logout", agent, when=done)


ENDPOINTS: list[Endpoint] = [wallboard, set_marketing_policy, spy, force_pause, force_logout]
