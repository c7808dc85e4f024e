"""Consult (attended) transfer and three-way calls from the agent desktop (docs/transfers.md).

The agent on an answered call consults another agent: the caller hears music while the agent's
phone talks with the consulted agent's; then the agent completes the transfer (the caller goes
to the consulted agent, the agent wraps up), cancels (back to the caller), or makes it a
three-way call. The switch does each step (``Switch.consult``…); what happened comes back as the
tracker's events, which move the call card and the agents' states.
"""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import StringConstraints

from agent_api.calls import CallInfo
from agent_api.context import audit, require, services
from agent_api.desktop.http import AGENT, my_call, switch_answers
from agent_api.desktop.schemas import Strict
from agent_api.errors import BadRequest, Conflict
from agent_api.openapi import Endpoint, endpoint
from agent_api.security import Principal


class ConsultBody(Strict):
    target: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,40}$")]  # an agent or extension


def _mine_to_act_on(request: web.Request, me: Principal, call_id: str) -> CallInfo:
    call = my_call(request, me, call_id)
    if services(request).desktop.agent_of_interface(call.agent_interface) != me.username:
        raise Conflict("only the agent who has the caller can consult about the call")
    return call


@endpoint(
    "POST",
    "/api/agent/calls/{call_id}/consult",
    summary="Consult another agent about my answered call (the caller hears music meanwhile)",
    roles=AGENT,
    body=ConsultBody,
    tag="agent",
)
async def consult_start(
    request: web.Request, principal: Principal | None, call_id: str, body: ConsultBody
) -> None:
    me = require(principal)
    call = _mine_to_act_on(request, me, call_id)
    if call.consult:
        raise Conflict("a consult is already in progress on this call")
    if not (call.answered and call.agent_channel) or call.held:
        raise Conflict("only an answered call that is not on hold can be consulted on")
    svc = services(request)
    target = next((p for p in svc.acd.config.agents.values() if body.target in (p.agent, p.extension)), None)
    if target is None:
        raise BadRequest(f"no agent {body.target!r}")
    if target.agent == me.username or call.agent_interface == f"PJSIP/{target.extension}":
        raise BadRequest("you cannot consult yourself")
    with switch_answers():
        if call.muted:  # the consulted agent must hear the agent
            await svc.switch.mute(call.agent_channel, False)
            svc.desktop.mute_changed(call_id, False)
        await svc.switch.consult(call.agent_channel, target.extension)
    await audit(request, me.username, "consult", call_id, consulted=target.agent)


async def _consult_step(request: web.Request, principal: Principal | None, call_id: str, step: str) -> None:
    me = require(principal)
    call = _mine_to_act_on(request, me, call_id)
    if call.consult != "consulting":
        raise Conflict("no consult of yours is in progress on this call")
    switch = services(request).switch
    with switch_answers():
        if step == "complete":
            await switch.consult_complete(call.agent_channel)
        elif step == "cancel":
            await switch.consult_cancel(call.agent_channel)
        else:
            await switch.consult_conference(call.agent_channel)
    await audit(request, me.username, f"consult-{step}", call_id)


@endpoint(
    "POST",
    "/api/agent/calls/{call_id}/consult/complete",
    summary="Complete my consult: the caller goes to the consulted agent",
    roles=AGENT,
    tag="agent",
)
async def consult_complete(request: web.Request, principal: Principal | None, call_id: str) -> None:
    await _consult_step(request, principal, call_id, "complete")


@endpoint(
    "POST",
    "/api/agent/calls/{call_id}/consult/cancel",
    summary="Cancel my consult: back to the caller",
    roles=AGENT,
    tag="agent",
)
async def consult_cancel(request: web.Request, principal: Principal | None, call_id: str) -> None:
    await _consult_step(request, principal, call_id, "cancel")


@endpoint(
    "POST",
    "/api/agent/calls/{call_id}/consult/conference",
    summary="Make my consult a three-way call with the caller",
    roles=AGENT,
    tag="agent",
)
async def consult_conference(request: web.Request, principal: Principal | None, call_id: str) -> None:
    await _consult_step(request, principal, call_id, "conference")


ENDPOINTS: list[Endpoint] = [consult_start, consult_complete, consult_cancel, consult_conference]
