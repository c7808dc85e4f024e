"""Hold from the agent desktop, as asterisk-config/extensions.conf runs it (docs/hold.md).

Hotline's ``Redirect`` with ``ExtraChannel`` takes both legs out of their bridge (bridge.py
sees both redirected and hands the agent's leg here): the caller runs ``hotline-hold`` (music on
hold up to ``HOLD_MAX_S``), the agent's leg ``hotline-hold-agent`` (``Wait``, a little longer).
Resume is a ``Redirect`` of the caller to ``hotline-resume``, whose ``Bridge()`` takes the
agent's leg out of its ``Wait`` and bridges them (capture 17: the leg keeps its name and
Uniqueid, nothing else shows of Asterisk's masquerade). A hang-up of either leg while held ends
the other (the ``h`` extensions); past the limit the agent's leg is hung up and the caller starts
a fresh wait (hotline-requeue).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, NoReturn

from cti.simulator import survey
from cti.simulator.channels import Channel
from cti.simulator.core import CallRecord
from cti.simulator.hotline_steps import Redirected, ended, goto, set_var
from cti.simulator.legs import Leg, RedirectTo, first_of

if TYPE_CHECKING:
    from cti.simulator.core import SwitchSimulator

# [globals] of asterisk-config/extensions.conf.
HOLD_MAX_S = 900
HOLD_AGENT_MAX_S = 960
HOLD_CONTEXT = "hotline-hold"
HOLD_AGENT_CONTEXT = "hotline-hold-agent"
RESUME_CONTEXT = "hotline-resume"
WAIT = RedirectTo("hotline-wait", "s")


def _requeue(sim: SwitchSimulator, caller: Channel, priority: int) -> NoReturn:
    """Goto(hotline-requeue,s,1): a fresh wait in the waiting queue, where Hotline delivers the
    caller to the next free agent (or, Hotline down, the fallback after HOTLINE_WAIT_S)."""
    sim.newexten(caller, priority, "Goto", "hotline-requeue,s,1")
    goto(caller, "hotline-requeue", "s")
    set_var(sim, caller, 1, "HOTLINE_QUEUED_AT", "")
    sim.newexten(caller, 2, "Goto", "hotline-wait,s,1")
    raise Redirected(WAIT)


def agent_redirected(sim: SwitchSimulator, agent_leg: Leg) -> None:
    """The agent's leg left the bridge by the ExtraChannel of a Redirect: it runs dialplan of
    its own now (a dialed channel gets a PBX of its own after the bridge)."""
    sim.spawn(_agent_dialplan(sim, agent_leg), name=f"held-{agent_leg.channel.name}")


async def _agent_dialplan(sim: SwitchSimulator, agent_leg: Leg) -> None:
    agent = agent_leg.channel
    sim.legs[agent.name] = agent_leg
    try:
        while (target := agent_leg.take_redirect()) is not None:
            if target.context != HOLD_AGENT_CONTEXT:
                # No other place an agent's leg is sent to is simulated: it ends there.
                goto(agent, target.context, target.exten)
                sim.newexten(agent, target.priority, "Hangup", "")
                break
            if await _agent_on_hold(sim, agent_leg) == "taken":
                return  # the caller's Bridge() has the leg now
            if agent_leg.gone.done() or not agent_leg.redirect.done():
                _agent_h(sim, agent)  # hung up, or the Wait ran out
                break
        _agent_gone(sim, agent_leg)
    finally:
        if sim.legs.get(agent.name) is agent_leg:
            del sim.legs[agent.name]


async def _agent_on_hold(sim: SwitchSimulator, agent_leg: Leg) -> str:
    """hotline-hold-agent,s: silence until taken, hung up, redirected (again) or the limit."""
    agent = agent_leg.channel
    goto(agent, HOLD_AGENT_CONTEXT, "s")
    sim.newexten(agent, 1, "NoOp", f"Agent leg of {agent.linkedid} on hold")
    sim.newexten(agent, 2, "Wait", str(HOLD_AGENT_MAX_S))
    agent_leg.taken = taken = asyncio.get_running_loop().create_future()
    limit = sim.clock.timer(HOLD_AGENT_MAX_S)
    try:
        await first_of(agent_leg.gone, agent_leg.redirect, taken, limit)
    finally:
        limit.cancel()
        agent_leg.taken = None
    if agent_leg.gone.done():
        return "gone"
    if taken.done():
        return "taken"
    if agent_leg.redirect.done():
        return "redirected"
    sim.newexten(agent, 3, "Hangup", "")
    return "limit"


def _agent_h(sim: SwitchSimulator, agent: Channel) -> None:
    """hotline-hold-agent's h: the caller still on hold is hung up too."""
    caller_name = agent.variables.get("HOTLINE_HOLD_CALLER", "")
    caller = sim.find_channel(caller_name) if caller_name else None
    held = caller is not None and caller.variables.get("HOTLINE_HOLD_STATE") == "held"
    goto(agent, HOLD_AGENT_CONTEXT, "h")
    sim.newexten(agent, 1, "ExecIf", f"{int(held)}?SoftHangup({caller_name})")
    if held and caller is not None:
        sim.hangup_by_action(caller, 16)


def _agent_gone(sim: SwitchSimulator, agent_leg: Leg) -> None:
    agent = agent_leg.channel
    if agent.hung_up:
        return
    sim.channel_event("SoftHangupRequest", agent, [("Cause", "16")])
    sim.hangup_channel(agent, 16)
    sim.refresh_endpoint(agent.device)
    sim.update_member_status(agent.device)


def _soft_hangup(sim: SwitchSimulator, name: str) -> None:
    channel = sim.find_channel(name) if name else None
    if channel is not None and not channel.hung_up:
        sim.hangup_by_action(channel, 16)


async def caller_held(sim: SwitchSimulator, leg: Leg) -> None:
    """hotline-hold: music until resumed, hung up, or the limit sends the caller to the queue."""
    caller = leg.channel
    goto(caller, HOLD_CONTEXT, "s")
    agent_name = caller.variables.get("HOTLINE_HOLD_AGENT", "")
    sim.newexten(caller, 1, "NoOp", f"Hold {caller.linkedid} for {agent_name}")
    set_var(sim, caller, 2, "HOTLINE_HOLD_STATE", "held")
    sim.newexten(caller, 3, "MusicOnHold", f"default,{HOLD_MAX_S}")
    sim.channel_event("MusicOnHoldStart", caller, [("Class", "default")])
    limit = sim.clock.timer(HOLD_MAX_S)
    try:
        await first_of(leg.gone, leg.redirect, limit)
    finally:
        limit.cancel()
    sim.channel_event("MusicOnHoldStop", caller)
    if leg.redirect.done() and not leg.gone.done():
        target = leg.take_redirect()
        if target is not None:
            raise Redirected(target)
    if leg.gone.done():
        # h: the agent's leg, waiting in silence for nobody, is hung up.
        goto(caller, HOLD_CONTEXT, "h")
        sim.newexten(caller, 1, "ExecIf", f"1?SoftHangup({agent_name})")
        _soft_hangup(sim, agent_name)
        ended(sim, leg, cause=16)
        return
    set_var(sim, caller, 4, "HOTLINE_HOLD_STATE", "over")
    sim.newexten(caller, 5, "SoftHangup", agent_name)
    _soft_hangup(sim, agent_name)
    _requeue(sim, caller, 6)


async def caller_resumed(sim: SwitchSimulator, leg: Leg, record: CallRecord) -> None:
    """hotline-resume: Bridge(agent,x) — the agent's leg is hung up when the bridge ends; no
    bridge (the leg is gone) lets the leg go and sends the caller back to the queue."""
    from cti.simulator.bridge import bridged

    caller = leg.channel
    goto(caller, RESUME_CONTEXT, "s")
    agent_name = caller.variables.get("HOTLINE_HOLD_AGENT", "")
    set_var(sim, caller, 1, "HOTLINE_HOLD_STATE", "resumed")
    set_var(sim, caller, 2, "BRIDGERESULT", "")
    sim.newexten(caller, 3, "Bridge", f"{agent_name},x")
    agent_leg = sim.legs.get(agent_name)
    taken = agent_leg.taken if agent_leg is not None else None
    if agent_leg is None or taken is None or taken.done() or agent_leg.gone.done():
        # "Bridge failed because channel … does not exist": BRIDGERESULT is left as it was.
        sim.newexten(caller, 4, "GotoIf", "1?requeue")
        sim.newexten(caller, 6, "SoftHangup", agent_name)
        _soft_hangup(sim, agent_name)
        _requeue(sim, caller, 7)
    taken.set_result(None)
    # Bridge() takes the leg out of its Wait: it enters the bridge one priority further on, and
    # no Newexten, surrogate channel or Rename shows (17).
    agent = agent_leg.channel
    agent.priority += 1
    outcome = await bridged(
        sim,
        leg,
        agent,
        record,
        None,
        on_leave=lambda _: sim.varset(caller, "BRIDGERESULT", "SUCCESS"),
        caller_h=True,
    )
    if outcome == "caller_hangup":  # the h extension: BRIDGERESULT is SUCCESS
        await survey.by_sms(sim, leg, RESUME_CONTEXT, f"1?{survey.SURVEY_CONTEXT},sms,1")
        ended(sim, leg, cause=16)
        return
    if caller.hung_up:
        return
    if outcome == "redirect":  # held again: Bridge() returns and the Redirect takes over
        target = leg.take_redirect()
        if target is not None:
            raise Redirected(target)
    # The agent hung up first: to the survey, as at the end of hotline-deliver.
    sim.newexten(caller, 4, "GotoIf", "0?requeue")
    sim.newexten(caller, 5, "Goto", f"{survey.SURVEY_CONTEXT},s,1")
    await survey.on_the_keypad(sim, leg)
