"""Two parties talking: the bridge app_queue or Dial builds, hold from the agent's phone, and how
the bridge ends (caller, agent or transfer) with app_queue's AgentComplete and variables."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cti.simulator import consult, wire
from cti.simulator.channels import Bridge, Channel
from cti.simulator.core import CallRecord
from cti.simulator.legs import Leg, first_of
from cti.simulator.queue import Member, Queue, QueueEntry

if TYPE_CHECKING:
    from cti.simulator.core import SwitchSimulator


@dataclass(slots=True)
class QueueContext:
    queue: Queue
    member: Member
    entry: QueueEntry


def queue_vars(sim: SwitchSimulator, channel: Channel, queue: Queue) -> None:
    for name, value in (
        ("QUEUENAME", queue.name),
        ("QUEUEMAX", "0"),
        ("QUEUESTRATEGY", queue.strategy),
        ("QUEUECALLS", str(len(queue.entries))),
        ("QUEUEHOLDTIME", str(queue.holdtime)),
        ("QUEUETALKTIME", str(queue.talktime)),
        ("QUEUECOMPLETED", str(queue.completed)),
        ("QUEUEABANDONED", str(queue.abandoned)),
        ("QUEUESRVLEVEL", "0"),
        ("QUEUESRVLEVELPERF", "0.0"),
    ):
        sim.varset(channel, name, value)


def _call_id(channel: Channel, fresh: str) -> str:
    if not channel.sip_call_id:
        channel.sip_call_id = fresh
    return channel.sip_call_id


def _bridge_vars(sim: SwitchSimulator, agent: Channel, caller: Channel, clear: bool = False) -> None:
    if clear:
        for channel in (caller, agent):
            sim.varset(channel, "BRIDGEPEER", "")
            sim.varset(channel, "BRIDGEPVTCALLID", "")
        return
    sim.varset(agent, "BRIDGEPEER", caller.name)
    sim.varset(
        agent,
        "BRIDGEPVTCALLID",
        _call_id(agent, f"1-{agent.uniqueid.rpartition('.')[2]}@127.0.0.1"),
    )
    sim.varset(caller, "BRIDGEPEER", agent.name)
    sim.varset(caller, "BRIDGEPVTCALLID", _call_id(caller, sim.numbering.uuid()))


async def bridged(
    sim: SwitchSimulator,
    leg: Leg,
    agent: Channel,
    record: CallRecord,
    queued: QueueContext | None,
    on_leave: Callable[[str], None] | None = None,
    caller_h: bool = False,
) -> str:
    """The two talk until one hangs up or a Redirect takes the caller (and with ExtraChannel the
    agent's leg) away. ``on_leave(reason)`` is the caller's application writing its results
    once the caller has left the bridge: reason caller, agent, transfer or redirect (both).
    ``caller_h``: the caller's context has an h extension, so a caller who hung up is left to it
    (``caller_hangup``) rather than hung up here."""
    caller = leg.channel
    bridge = Bridge(sim.numbering.uuid(), created=sim.clock.time())
    sim.bridges[bridge.uniqueid] = bridge
    sim.emit("BridgeCreate", "call,all", wire.bridge_block(bridge))
    for channel in (agent, caller):
        bridge.channels.append(channel)
        channel.bridge = bridge
        sim.recorder.bridged(channel)
        sim.emit("BridgeEnter", "call,all", [*wire.bridge_block(bridge), *wire.channel_block(channel)])
    _bridge_vars(sim, agent, caller)
    agent_leg = Leg(agent)
    sim.legs[agent.name] = agent_leg
    phone = sim.phones.get(agent.peer_name)
    answered_at = sim.clock.time()
    timers: list[asyncio.Future[None]] = []
    if phone is not None and phone.hangup_after_s is not None:
        hangup = sim.clock.timer(phone.hangup_after_s)
        hangup.add_done_callback(lambda f: None if f.cancelled() else _agent_hangs_up(sim, agent_leg))
        timers.append(hangup)
    if phone is not None and phone.hold_after_s is not None:
        hold = sim.clock.timer(phone.hold_after_s)
        hold.add_done_callback(lambda f: None if f.cancelled() else set_hold(sim, agent, caller, True))
        unhold = sim.clock.timer(phone.hold_after_s + phone.hold_for_s)
        unhold.add_done_callback(lambda f: None if f.cancelled() else set_hold(sim, agent, caller, False))
        timers += [hold, unhold]
    try:
        while True:
            await first_of(leg.gone, leg.redirect, agent_leg.gone, agent_leg.redirect)
            # A consult gave the call to another phone (cti/simulator/consult.py): talk on with it.
            taken_over = consult.successor(sim, agent_leg) if not leg.gone.done() else None
            if taken_over is None:
                break
            consult.agent_left(sim, agent)
            sim.legs.pop(agent.name, None)
            agent, agent_leg = taken_over.channel, taken_over
            sim.legs[agent.name] = agent_leg
    finally:
        for timer in timers:
            timer.cancel()
        sim.legs.pop(agent.name, None)
    if caller.on_hold:
        set_hold(sim, agent, caller, False)
    # One Redirect took both legs out (ExtraChannel; the desktop's hold): nobody hung up, and
    # app_queue goes on following the call, so there is no AgentComplete yet.
    both_redirected = (
        leg.redirect.done()
        and agent_leg.redirect.done()
        and not leg.gone.done()
        and not agent_leg.gone.done()
    )
    if leg.gone.done():
        reason = "caller"
    elif agent_leg.gone.done():
        reason = "agent"
    else:
        reason = "transfer"
    talk = int(sim.clock.time() - answered_at)
    if queued is not None and not both_redirected:
        hold_time = int(answered_at - queued.entry.joined)
        if reason == "agent":
            sim.channel_event("HangupRequest", agent)
        sim.pair_event(
            "AgentComplete",
            caller,
            agent,
            [
                ("Queue", queued.queue.name),
                ("Interface", queued.member.interface),
                ("MemberName", queued.member.name),
                ("HoldTime", str(hold_time)),
                ("TalkTime", str(talk)),
                ("Reason", reason),
            ],
            "agent,all",
        )
        queued.queue.record_completed(hold_time, talk)
    elif reason == "agent":
        sim.channel_event("HangupRequest", agent)
    _bridge_vars(sim, agent, caller, clear=True)
    for moved in (agent_leg, leg):
        if moved.redirect.done() and not moved.gone.done():
            # The snapshot the channel publishes leaving the bridge already has the Redirect's
            # place, with the application it ran (17: Dial for the caller, AppDial for the agent).
            target = moved.redirect.result()
            sim.redirected(moved.channel, target.context, target.exten, target.priority)
    # Leaving order: the caller first (16, 17's end), but the agent's leg first when one dual
    # Redirect moves both (17's hold, where it is the ExtraChannel) or when the agent hung up and
    # the caller's dialplan goes on (Dial's g: the live capture of the post-call survey).
    agent_first = both_redirected or (caller_h and reason == "agent")
    for channel in (agent, caller) if agent_first else (caller, agent):
        bridge.channels.remove(channel)
        channel.bridge = None
        sim.recorder.unbridged(channel)
        sim.emit("BridgeLeave", "call,all", [*wire.bridge_block(bridge), *wire.channel_block(channel)])
    sim.emit("BridgeDestroy", "call,all", wire.bridge_block(bridge))
    sim.bridges.pop(bridge.uniqueid, None)
    if on_leave is not None:
        on_leave("redirect" if both_redirected else reason)
    if both_redirected:
        from cti.simulator import desk_hold

        desk_hold.agent_redirected(sim, agent_leg)
        return "redirect"
    if queued is not None:
        queue_vars(sim, caller, queued.queue)
        for name, value in _answered_vars(sim, caller, answered_at):
            sim.varset(caller, name, value)
        queue_vars(sim, caller, queued.queue)
    sim.hangup_channel(agent, 16)
    if queued is not None:
        queued.member.calls_taken += 1
        queued.member.last_call = int(sim.clock.time())
    sim.update_member_status(agent.device)
    sim.refresh_endpoint(agent.device)
    if reason == "transfer":
        return "redirect"
    from cti.simulator.dialplan import finish_hangup

    if reason == "caller":
        if caller_h:
            return "caller_hangup"
        finish_hangup(sim, leg, cause=16)
        return "completed"
    return "agent_hangup"


def _answered_vars(sim: SwitchSimulator, caller: Channel, answered_at: float) -> list[tuple[str, str]]:
    now = sim.clock.time()
    answered = now - answered_at
    dialed = now - caller.created
    return [
        ("ANSWEREDTIME", str(int(answered))),
        ("ANSWEREDTIME_MS", str(int(answered * 1000))),
        ("DIALEDTIME", str(int(dialed))),
        ("DIALEDTIME_MS", str(int(dialed * 1000))),
    ]


def _agent_hangs_up(sim: SwitchSimulator, agent_leg: Leg) -> None:
    agent_leg.hang_up(16)


def set_hold(sim: SwitchSimulator, agent: Channel, caller: Channel, on: bool) -> None:
    """The agent's phone re-INVITEs sendonly / sendrecv: Hold / Unhold and music for the caller."""
    if caller.on_hold == on or caller.hung_up or agent.hung_up:
        return
    if on:
        sim.channel_event("Hold", agent, [("MusicClass", "default")])
    else:
        sim.channel_event("Unhold", agent)
    caller.on_hold = on
    sim.varset(agent, "BRIDGEPEER", caller.name)
    sim.varset(agent, "BRIDGEPVTCALLID", agent.sip_call_id)
    sim.varset(caller, "BRIDGEPEER", agent.name)
    sim.varset(caller, "BRIDGEPVTCALLID", caller.sip_call_id)
    if on:
        sim.channel_event("MusicOnHoldStart", caller, [("Class", "default")])
        sim.refresh_endpoint(caller.device)
    else:
        sim.refresh_endpoint(caller.device)
        sim.channel_event("MusicOnHoldStop", caller)
