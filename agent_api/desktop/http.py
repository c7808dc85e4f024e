"""Agent desktop routes: log in to the queues, states, call controls, click-to-dial, wrap-up."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from aiohttp import web

from acd.errors import AcdError, ExtensionInUse, IllegalTransition, UnknownAgent, UnknownReasonCode
from acd.models import AgentState
from agent_api.context import audit, require, services
from agent_api.desktop.hot_desk import Outcome, TooSoon
from agent_api.desktop.schemas import (
    AgentStatus,
    CallView,
    ConfirmBody,
    DialBody,
    DialResult,
    DtmfBody,
    HoldBody,
    HotDeskPending,
    LoginBody,
    MuteBody,
    PauseAfterBody,
    PauseBody,
    TransferBody,
    TransferKind,
    WrapUpBody,
    WrapUpDone,
)
from agent_api.desktop.wrapup import store_wrapup
from agent_api.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFoundError,
    SwitchUnavailable,
    TooManyAttempts,
)
from agent_api.openapi import Endpoint, endpoint
from agent_api.ports import ACD_SET_REASONS
from agent_api.security import Principal, Role
from crm import accounts
from cti.errors import AmiActionFailed, SwitchError
from cti.hold import HELD, HOLD_STATE_VARIABLE

AGENT = (Role.AGENT,)
TRANSFER_CONTEXT = "hotline-transfer"  # agents by extension, and allowed outside numbers
REQUEUE_CONTEXT = "hotline-requeue"
CLICK_TO_DIAL_CONTEXT = "click-to-dial"
PAUSE_AFTER_STATES = (AgentState.RINGING, AgentState.ON_CALL, AgentState.OUTBOUND, AgentState.WRAP_UP)


def _acd_error(exc: AcdError) -> ApiError:
    if isinstance(exc, ExtensionInUse):
        return Conflict(str(exc))
    if isinstance(exc, UnknownAgent):
        return Conflict("this account is not an ACD agent; ask an administrator to add you to the ACD")
    if isinstance(exc, IllegalTransition | UnknownReasonCode):
        return Conflict(str(exc))
    return BadRequest(str(exc))


def status_of(request: web.Request, agent: str) -> AgentStatus:
    svc = services(request)
    payload = svc.desktop.status_payload(agent)
    calls = []
    for popped in svc.desktop.active(agent):
        call = svc.desktop.calls.get(popped.call_id)
        if call is not None:
            calls.append(
                CallView(
                    call_id=call.call_id,
                    queue=call.queue,
                    caller=call.caller,
                    held=call.held,
                    answered=call.answered,
                    recording_paused=call.recording_paused,
                    muted=call.muted,
                )
            )
    return AgentStatus(
        agent=agent,
        state=payload["state"],
        reason=payload["reason"],
        since=payload["since"],
        extension=payload.get("extension", ""),
        queues=payload["queues"],
        reason_codes=sorted(svc.acd.config.all_reason_codes - ACD_SET_REASONS),
        calls=calls,
        pending_wrapups=svc.desktop.pending(agent),
        state_s=payload.get("state_s", 0.0),
        wrapup_left_s=payload.get("wrapup_left_s"),
        wrapup_extended=payload.get("wrapup_extended", False),
        pause_after=payload.get("pause_after", ""),
    )


@endpoint(
    "GET",
    "/api/agent/status",
    summary="My state, queues and live calls",
    roles=AGENT,
    response=AgentStatus,
    tag="agent",
)
async def agent_status(request: web.Request, principal: Principal | None) -> AgentStatus:
    return status_of(request, require(principal).username)


@endpoint(
    "POST",
    "/api/agent/login",
    summary="Log in to the queues of my skills, on my extension (or, hot-desking, another: 202)",
    roles=AGENT,
    body=LoginBody,
    response=AgentStatus,
    tag="agent",
)
async def agent_login(
    request: web.Request, principal: Principal | None, body: LoginBody
) -> AgentStatus | web.Response:
    """On the extension the account holds; another only for an account an admin lets hot-desk,
    never one another account holds or another agent is logged in on, and only once the code
    its phone shows is confirmed (202 now, then POST /api/agent/login/confirm)."""
    me = require(principal)
    svc = services(request)
    try:
        own = svc.acd.states.get(me.username).profile.extension
    except AcdError as exc:
        raise _acd_error(exc) from None
    wanted = body.extension or own
    if wanted == own:
        return await _log_in(request, me, own)
    account = await accounts.get_account(svc.db, me.username)
    if account is None or not account.hot_desk:
        raise Forbidden(
            f"you log in on your own extension {own}; an administrator can allow your account to hot-desk"
        )
    if any(a.extension == wanted and a.username != me.username for a in await accounts.list_accounts(svc.db)):
        raise Forbidden(f"extension {wanted} is another account's; choose a free desk")
    if svc.acd.states.holder_of(wanted, besides=me.username) is not None:
        raise Conflict(f"extension {wanted} is in use by another agent")
    try:
        challenge = svc.hot_desk.codes.issue(me.username, wanted)
    except TooSoon as exc:
        raise TooManyAttempts(str(exc), retry_after_s=exc.retry_after_s) from None
    svc.hot_desk.ring(challenge)
    await audit(request, me.username, "hot-desk-asked", extension=wanted)
    pending = HotDeskPending(
        extension=wanted,
        expires_in_s=round(challenge.expires_at - challenge.issued_at),
        message=f"the phone at {wanted} is ringing: enter the code it shows",
    )
    return web.json_response(pending.model_dump(), status=202)


@endpoint(
    "POST",
    "/api/agent/login/confirm",
    summary="Confirm a hot desk with the code its phone showed, and log in there",
    roles=AGENT,
    body=ConfirmBody,
    response=AgentStatus,
    tag="agent",
)
async def agent_login_confirm(
    request: web.Request, principal: Principal | None, body: ConfirmBody
) -> AgentStatus:
    me = require(principal)
    outcome, challenge = services(request).hot_desk.codes.confirm(me.username, body.code)
    if outcome is Outcome.NONE or challenge is None:
        raise Conflict("no hot desk waits for a code: it expired, or was confirmed; ask again")
    if outcome is Outcome.WRONG:
        await audit(request, me.username, "hot-desk-wrong-code", extension=challenge.extension)
        tries = challenge.tries_left
        raise Forbidden(
            f"wrong code; {tries} tries left" if tries else "wrong code; ask for the desk again",
            details={"tries_left": tries},
        )
    return await _log_in(request, me, challenge.extension, hot_desk=True)


async def _log_in(
    request: web.Request, me: Principal, extension: str, *, hot_desk: bool = False
) -> AgentStatus:
    try:
        await services(request).acd.login(me.username, extension=extension)
    except AcdError as exc:
        raise _acd_error(exc) from None
    detail = {"extension": extension, "hot_desk": True} if hot_desk else {"extension": extension}
    await audit(request, me.username, "agent-login", **detail)
    return status_of(request, me.username)


@endpoint(
    "POST",
    "/api/agent/logout",
    summary="Log out of the queues",
    roles=AGENT,
    response=AgentStatus,
    tag="agent",
)
async def agent_logout(request: web.Request, principal: Principal | None) -> AgentStatus:
    me = require(principal)
    try:
        await services(request).acd.logout(me.username)
    except AcdError as exc:
        raise _acd_error(exc) from None
    await audit(request, me.username, "agent-logout")
    return status_of(request, me.username)


@endpoint(
    "POST",
    "/api/agent/pause",
    summary="Pause with a reason code",
    roles=AGENT,
    body=PauseBody,
    response=AgentStatus,
    tag="agent",
)
async def agent_pause(request: web.Request, principal: Principal | None, body: PauseBody) -> AgentStatus:
    me = require(principal)
    if body.reason in ACD_SET_REASONS:
        raise BadRequest(f"the pause reason {body.reason!r} is set by the ACD, not chosen")
    try:
        await services(request).acd.pause(me.username, body.reason)
    except AcdError as exc:
        raise _acd_error(exc) from None
    return status_of(request, me.username)


@endpoint(
    "POST",
    "/api/agent/ready",
    summary="Available again (unpause, end wrap-up)",
    roles=AGENT,
    response=AgentStatus,
    tag="agent",
)
async def agent_ready(request: web.Request, principal: Principal | None) -> AgentStatus:
    """Not while a wrap-up form is open and the queue holds the agent for it: save or discard it."""
    me = require(principal)
    svc = services(request)
    try:
        record = svc.acd.states.get(me.username)
        if (
            record.state is AgentState.WRAP_UP
            and svc.desktop.pending(me.username)
            and svc.acd.config.holds_open_wrapup(record.queue)
        ):
            raise Conflict("save or discard the wrap-up first: no call is offered while it is open")
        await svc.acd.ready(me.username)
    except AcdError as exc:
        raise _acd_error(exc) from None
    return status_of(request, me.username)


# The one extension of a wrap-up: enough to finish a note, not a second break.
EXTEND_WRAPUP_S = 60.0


@endpoint(
    "POST",
    "/api/agent/wrapup/extend",
    summary="More time for my wrap-up (once per wrap-up)",
    roles=AGENT,
    response=AgentStatus,
    tag="agent",
)
async def extend_wrapup(request: web.Request, principal: Principal | None) -> AgentStatus:
    me = require(principal)
    svc = services(request)
    try:
        record = svc.acd.states.get(me.username)
        if record.state is not AgentState.WRAP_UP:
            raise Conflict("you are not in wrap-up")
        if record.extended:
            raise Conflict("this wrap-up was extended already: it can be extended once")
        svc.acd.extend_wrapup(me.username, EXTEND_WRAPUP_S)
    except AcdError as exc:
        raise _acd_error(exc) from None
    await audit(request, me.username, "wrapup-extend", seconds=EXTEND_WRAPUP_S)
    return status_of(request, me.username)


@endpoint(
    "POST",
    "/api/agent/pause-after",
    summary='Pause with a reason once my current call and its wrap-up are over ("" cancels)',
    roles=AGENT,
    body=PauseAfterBody,
    response=AgentStatus,
    tag="agent",
)
async def agent_pause_after(
    request: web.Request, principal: Principal | None, body: PauseAfterBody
) -> AgentStatus:
    me = require(principal)
    if body.reason in ACD_SET_REASONS:
        raise BadRequest(f"the pause reason {body.reason!r} is set by the ACD, not chosen")
    svc = services(request)
    try:
        if svc.acd.states.get(me.username).state not in PAUSE_AFTER_STATES:
            raise Conflict("no call in progress: pause now instead")
        svc.acd.pause_after_call(me.username, body.reason)
    except AcdError as exc:
        raise _acd_error(exc) from None
    return status_of(request, me.username)


@contextlib.contextmanager
def switch_answers() -> Iterator[None]:
    """The switch's refusal is a conflict with the call's state (409); a switch out of reach, 503."""
    try:
        yield
    except AmiActionFailed as exc:
        raise Conflict(f"the switch refused: {exc.message}") from None
    except SwitchError as exc:
        raise SwitchUnavailable(str(exc)) from None


def _my_call(request: web.Request, me: Principal, call_id: str):  # type: ignore[no-untyped-def]
    """The agent's live call, to act on; a call another agent consults them about is not theirs
    to hold, mute or transfer (docs/transfers.md)."""
    call = my_call(request, me, call_id)
    if _consulted(request, me, call):
        raise Conflict("this call is another agent's while they consult you; you may only hang up")
    if call.consult:
        raise Conflict("not while a consult or a three-way call is in progress")
    return call


def my_call(request: web.Request, me: Principal, call_id: str):  # type: ignore[no-untyped-def]
    call = services(request).desktop.owns_call(me.username, call_id)
    if call is None:
        raise NotFoundError(f"no live call {call_id!r} of yours")
    return call


def _consulted(request: web.Request, me: Principal, call) -> bool:  # type: ignore[no-untyped-def]
    return (
        bool(call.consult)
        and services(request).desktop.agent_of_interface(call.consult_target) == me.username
    )


@endpoint("POST", "/api/agent/calls/{call_id}/hangup", summary="Hang up my call", roles=AGENT, tag="agent")
async def call_hangup(request: web.Request, principal: Principal | None, call_id: str) -> None:
    me = require(principal)
    call = my_call(request, me, call_id)
    # The consulted agent hangs up their own leg (the consult, or their part of a three-way call).
    leg = call.consult_channel if _consulted(request, me, call) else call.agent_channel or call.channel
    try:
        await services(request).switch.hangup(leg, request_id=f"web-hangup-{call_id}-{leg}")
    except SwitchError as exc:
        raise SwitchUnavailable(str(exc)) from None


@endpoint(
    "POST",
    "/api/agent/calls/{call_id}/hold",
    summary="Hold or resume my call",
    roles=AGENT,
    body=HoldBody,
    tag="agent",
)
async def call_hold(request: web.Request, principal: Principal | None, call_id: str, body: HoldBody) -> None:
    """Hold on the switch (docs/hold.md): both legs leave their bridge, the caller hears music.
    Holding a held call, or resuming one that is not held, changes nothing."""
    me = require(principal)
    call = _my_call(request, me, call_id)
    if not (call.answered and call.channel and call.agent_channel):
        raise Conflict("only an answered call whose caller and agent legs are known can be held here")
    switch = services(request).switch
    with switch_answers():
        if body.on:
            if not call.held:
                if call.muted:  # the switch keeps a mute on the leg across the hold: let it go
                    await switch.mute(call.agent_channel, False)
                    services(request).desktop.mute_changed(call_id, False)
                await switch.hold(call.channel, call.agent_channel)
            return
        # Only a hold made here is resumed here: a phone's hold is the phone's to end.
        if await switch.get_var(call.channel, HOLD_STATE_VARIABLE) == HELD:
            await switch.resume(call.channel, call.agent_channel)
        elif call.held:
            raise Conflict("the call was held with the phone's hold key; resume it there")


@endpoint(
    "POST",
    "/api/agent/calls/{call_id}/dtmf",
    summary="Send keypad digits to the other party of my answered call (an IVR I reached)",
    roles=AGENT,
    body=DtmfBody,
    tag="agent",
)
async def call_dtmf(request: web.Request, principal: Principal | None, call_id: str, body: DtmfBody) -> None:
    """The digits go one by one, in order, to the caller's (or dialed party's) channel."""
    me = require(principal)
    call = _my_call(request, me, call_id)
    if not (call.answered and call.channel):
        raise Conflict("keypad digits go to an answered call only")
    switch = services(request).switch
    with switch_answers():
        # No request id: the switch sends a request id once only, and the agent may well press
        # the same key twice in one call.
        for digit in body.digits:
            await switch.send_dtmf(call.channel, digit)


@endpoint(
    "POST",
    "/api/agent/calls/{call_id}/mute",
    summary="Mute or unmute my microphone on my answered call (the caller stops hearing me)",
    roles=AGENT,
    body=MuteBody,
    tag="agent",
)
async def call_mute(request: web.Request, principal: Principal | None, call_id: str, body: MuteBody) -> None:
    """What the agent's phone sends is muted on the agent's leg; the agent still hears the caller.
    Muting a muted call, or unmuting one that is not muted, is sent again all the same: the
    switch's answer is the truth, whatever the page believed."""
    me = require(principal)
    call = _my_call(request, me, call_id)
    if not (call.answered and call.agent_channel) or call.held:
        raise Conflict("only an answered call that is not on hold can be muted")
    with switch_answers():
        # No request id: the switch sends a request id once only, and an agent mutes and unmutes
        # many times in one call.
        await services(request).switch.mute(call.agent_channel, body.muted)
    services(request).desktop.mute_changed(call_id, body.muted)
    await audit(request, me.username, "call-mute" if body.muted else "call-unmute", call_id)


@endpoint(
    "POST",
    "/api/agent/calls/{call_id}/transfer",
    summary="Blind transfer to an agent, queue or number",
    roles=AGENT,
    body=TransferBody,
    tag="agent",
)
async def call_transfer(
    request: web.Request, principal: Principal | None, call_id: str, body: TransferBody
) -> None:
    me = require(principal)
    call = _my_call(request, me, call_id)
    svc = services(request)
    request_id = f"web-transfer-{call_id}-{body.kind}-{body.target}"
    try:
        if body.kind is TransferKind.QUEUE:
            if body.target not in svc.acd.config.queues:
                raise BadRequest(f"no queue {body.target!r}")
            await svc.switch.set_var(
                call.channel, "HOTLINE_QUEUE", body.target, request_id=request_id + "-var"
            )
            await svc.switch.redirect(call.channel, context=REQUEUE_CONTEXT, exten="s", request_id=request_id)
        elif body.kind is TransferKind.AGENT:
            target = next(
                (p for p in svc.acd.config.agents.values() if body.target in (p.agent, p.extension)), None
            )
            if target is None:
                raise BadRequest(f"no agent {body.target!r}")
            await svc.switch.redirect(
                call.channel, context=TRANSFER_CONTEXT, exten=target.extension, request_id=request_id
            )
        else:
            if not body.target.lstrip("+").isdigit():
                raise BadRequest("a number has digits only")
            await svc.switch.redirect(
                call.channel, context=TRANSFER_CONTEXT, exten=body.target.lstrip("+"), request_id=request_id
            )
    except SwitchError as exc:
        raise SwitchUnavailable(str(exc)) from None
    await audit(request, me.username, "transfer", call_id, kind=str(body.kind))


@endpoint(
    "POST",
    "/api/agent/dial",
    summary="Click-to-dial: ring my phone, then the number",
    roles=AGENT,
    body=DialBody,
    response=DialResult,
    tag="agent",
)
async def click_to_dial(request: web.Request, principal: Principal | None, body: DialBody) -> DialResult:
    me = require(principal)
    svc = services(request)
    try:
        record = svc.acd.states.get(me.username)
        extension = record.extension or record.profile.extension
    except AcdError:
        extension = me.extension
    if not extension:
        raise Conflict("no extension for this account")
    # Outbound in the ACD before the phone rings, so no inbound call is offered meanwhile.
    dial = await svc.desktop.dial_started(me.username, body.number)
    try:
        result = await svc.switch.originate(
            channel=f"PJSIP/{extension}",
            context=CLICK_TO_DIAL_CONTEXT,
            exten=body.number.lstrip("+"),
            caller_id=extension,
        )
    except SwitchError as exc:
        await svc.desktop.dial_failed(dial)
        raise SwitchUnavailable(str(exc)) from None
    except BaseException:
        await svc.desktop.dial_failed(dial)
        raise
    if result.success:
        await svc.desktop.dial_placed(dial)
    else:
        await svc.desktop.dial_failed(dial)
    await audit(request, me.username, "click-to-dial", body.number[-4:], success=result.success)
    return DialResult(success=result.success, channel=result.channel)


@endpoint(
    "POST",
    "/api/agent/calls/{call_id}/wrapup",
    summary="Wrap up a call: one contact record in the CRM",
    roles=AGENT,
    body=WrapUpBody,
    response=WrapUpDone,
    tag="agent",
)
async def call_wrapup(
    request: web.Request, principal: Principal | None, call_id: str, body: WrapUpBody
) -> WrapUpDone:
    me = require(principal)
    svc = services(request)
    popped = svc.desktop.take_pending(me.username, call_id)
    if popped is None:
        raise NotFoundError(f"no call {call_id!r} of yours waits for wrap-up")
    try:
        done = await store_wrapup(svc, me.username, popped, body)
    except ApiError:
        svc.desktop.restore_pending(me.username, popped)
        raise
    await svc.desktop.wrapup_saved(me.username, call_id, ready=body.ready)
    return done


@endpoint(
    "DELETE",
    "/api/agent/calls/{call_id}/wrapup",
    summary="Discard a call's wrap-up: nothing is recorded for it",
    roles=AGENT,
    tag="agent",
)
async def discard_wrapup(request: web.Request, principal: Principal | None, call_id: str) -> None:
    me = require(principal)
    if not await services(request).desktop.discard_wrapup(me.username, call_id):
        raise NotFoundError(f"no call {call_id!r} of yours waits for wrap-up")
    await audit(request, me.username, "wrapup-discard", call_id)


ENDPOINTS: list[Endpoint] = [
    agent_status,
    agent_login,
    agent_login_confirm,
    agent_logout,
    agent_pause,
    agent_ready,
    extend_wrapup,
    agent_pause_after,
    call_hangup,
    call_hold,
    call_dtmf,
    call_mute,
    call_transfer,
    click_to_dial,
    call_wrapup,
    discard_wrapup,
]
