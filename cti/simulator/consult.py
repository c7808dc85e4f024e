"""The desktop's consult transfer on the simulated switch, as Asterisk 22 did it in the captures
tests/transcripts/live/test_a_consult_on_the_switch_is_reported_as_it_ends[*] (docs/transfers.md):

- AMI ``Atxfer`` on an agent's bridged leg, ``Context: hotline-consult``: ``Hold`` on the agent's
  leg and music for the caller, a ``Local/<ext>@hotline-consult-…;1/;2`` pair of the caller's
  call, the agent's leg moved into a bridge with ``;1``, ``;2`` dialing the phone (``DialBegin``);
  once answered the phone and ``;2`` share a third bridge.
- ``CancelAtxfer`` (the atxferabort keys), or the phone that does not answer or hangs up: the
  agent's leg back with the caller, ``Unhold``, the Local pair and the phone hung up.
- The atxfercomplete keys (``PlayDTMF`` with ``Receive``, ``*7``): ``AttendedTransfer``
  (``DestType: Bridge``, the target is ``;1``), the agent's leg hung up, the phone bridged with
  the caller; the caller's bridge goes on with the phone as its agent leg.
- The atxferthreeway keys (``*8``): ``AttendedTransfer`` (``DestType: Threeway``), the agent's leg
  and the phone both in the caller's bridge; whoever of the two agents hangs up, the other goes
  on with the caller.

Known difference: when the caller hangs up a three-way call, the real switch leaves the two
agents talking; here the consulted phone is hung up with the call.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cti.simulator import wire
from cti.simulator.channels import Bridge, Channel
from cti.simulator.legs import Leg, first_of, ring_phone
from cti.simulator.responses import error

if TYPE_CHECKING:
    from cti.simulator.ami_server import Action, AmiServer, Session
    from cti.simulator.core import SwitchSimulator

CONTEXT = "hotline-consult"
TARGETS = re.compile(r"^(10|20)\d\d$")  # asterisk-config/extensions.conf's hotline-consult
RING_S = 15.0  # features.conf atxfernoanswertimeout
KEYS = {"*0": "cancel", "*7": "complete", "*8": "threeway"}  # features.conf's atxfer keys


@dataclass(eq=False)
class Consult:
    agent: Channel
    agent_leg: Leg
    caller: Channel
    caller_leg: Leg | None
    home: Bridge  # the caller's bridge
    step: asyncio.Future[str] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    cancelled: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    keys: str = ""
    phone_leg: Leg | None = None
    conference: bool = False
    successor: Leg | None = None  # the phone's leg, once it carries on with the caller
    # While the two agents talk: the Local pair and the phone, for a hand-over at any moment.
    legs: tuple[Channel, Channel, Channel] | None = None


def atxfer(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    channel = sim.find_channel(action.get("channel", ""))
    exten = action.get("exten", "")
    if channel is None:
        error(session, aid, "Channel specified does not exist")
        return
    if not exten:
        error(session, aid, "No extension specified")
        return
    session.respond([("Response", "Success"), ("Message", "Atxfer successfully queued"), *aid])
    agent_leg = sim.legs.get(channel.name)
    bridge = channel.bridge
    if agent_leg is None or bridge is None or channel.name in sim.consults:
        return  # the keys reach no transfer feature: nothing happens, as on the switch
    if action.get("context", channel.context) != CONTEXT or not TARGETS.match(exten):
        return
    caller = next((c for c in bridge.channels if c is not channel), None)
    if caller is None:
        return
    consult = Consult(channel, agent_leg, caller, sim.legs.get(caller.name), bridge)
    sim.consults[channel.name] = consult
    sim.spawn(_run(sim, consult, exten), f"consult-{channel.name}")


def cancel_atxfer(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    channel = sim.find_channel(action.get("channel", ""))
    if channel is None:
        error(session, aid, "Channel specified does not exist")
        return
    session.respond([("Response", "Success"), ("Message", "CancelAtxfer successfully queued"), *aid])
    received_key(sim, channel, "*0")


def received_key(sim: SwitchSimulator, channel: Channel, digit: str) -> None:
    """A key as if the agent's phone sent it (PlayDTMF Receive): the consult's hooks read it."""
    consult = sim.consults.get(channel.name)
    if consult is None or consult.conference:
        return
    consult.keys = (consult.keys + digit)[-2:]
    step = KEYS.get(consult.keys)
    if step is not None and not consult.step.done():
        consult.keys = ""
        consult.step.set_result(step)
        if step == "cancel":
            consult.cancelled.set_result(None)


def successor(sim: SwitchSimulator, agent_leg: Leg) -> Leg | None:
    """The leg that carries on with the caller now that ``agent_leg`` is gone, if a consult gave
    the call to another phone (completed, or a three-way call the agent left)."""
    consult = sim.consults.get(agent_leg.channel.name)
    if consult is None:
        return None
    _dropped(sim, consult)
    if consult.successor is None:
        return None
    sim.consults.pop(agent_leg.channel.name, None)
    return consult.successor


def _enter(sim: SwitchSimulator, bridge: Bridge, channel: Channel) -> None:
    bridge.channels.append(channel)
    channel.bridge = bridge
    sim.emit("BridgeEnter", "call,all", [*wire.bridge_block(bridge), *wire.channel_block(channel)])


def _leave(sim: SwitchSimulator, channel: Channel) -> None:
    bridge = channel.bridge
    if bridge is None:
        return
    bridge.channels.remove(channel)
    channel.bridge = None
    sim.emit("BridgeLeave", "call,all", [*wire.bridge_block(bridge), *wire.channel_block(channel)])
    if not bridge.channels and bridge.uniqueid in sim.bridges:
        sim.emit("BridgeDestroy", "call,all", wire.bridge_block(bridge))
        sim.bridges.pop(bridge.uniqueid, None)


def _new_bridge(sim: SwitchSimulator) -> Bridge:
    bridge = Bridge(sim.numbering.uuid(), created=sim.clock.time())
    sim.bridges[bridge.uniqueid] = bridge
    sim.emit("BridgeCreate", "call,all", wire.bridge_block(bridge))
    return bridge


def _local_pair(sim: SwitchSimulator, exten: str, linkedid: str) -> tuple[Channel, Channel]:
    base = sim.numbering.channel_name(f"Local/{exten}@{CONTEXT}")
    halves = []
    for half in (";1", ";2"):
        now = sim.clock.time()
        uniqueid = sim.numbering.uniqueid(now)
        channel = Channel(
            name=base + half,
            uniqueid=uniqueid,
            linkedid=linkedid,
            context=CONTEXT,
            exten=exten,
            created=now,
            device=f"Local/{exten}@{CONTEXT}",
        )
        sim.channels[channel.name] = channel
        sim.emit("Newchannel", "call,all", wire.channel_block(channel))
        halves.append(channel)
    return halves[0], halves[1]


def _transfer_event(sim: SwitchSimulator, consult: Consult, target: Channel | None, kind: str) -> None:
    """``target`` None: the agent hung up mid-consult, and Asterisk names no target then."""
    agent, caller, home = consult.agent, consult.caller, consult.home
    sim.emit(
        "AttendedTransfer",
        "call,all",
        [
            ("Result", "Success"),
            *wire.channel_block(agent, "OrigTransferer"),
            *[(f"Orig{k}", v) for k, v in wire.bridge_block(home)],
            *wire.channel_block(agent, "SecondTransferer"),
            *wire.channel_block(caller, "Transferee"),
            *(wire.channel_block(target, "TransferTarget") if target is not None else []),
            ("IsExternal", "No"),
            ("DestType", kind),
            ("DestBridgeUniqueid", home.uniqueid),
        ],
    )


async def _run(sim: SwitchSimulator, consult: Consult, exten: str) -> None:
    agent, caller, home = consult.agent, consult.caller, consult.home
    sim.channel_event("Hold", agent, [("MusicClass", "default")])
    sim.channel_event("MusicOnHoldStart", caller, [("Class", "default")])
    local1, local2 = _local_pair(sim, exten, caller.linkedid)
    consulting = _new_bridge(sim)
    _enter(sim, consulting, local1)
    _leave(sim, agent)
    _enter(sim, consulting, agent)
    script = sim.phones.get(exten)
    answer_after = script.answer_after_s if script is not None and script.reachable else None
    phone = sim.new_channel(
        f"PJSIP/{exten}",
        context="agents",
        exten="s",
        linkedid=caller.linkedid,
        caller_num=exten,
        caller_name=script.member_name if script is not None else exten,
    )
    sim.pair_event("DialBegin", local2, phone, [("DialString", exten)], "call,all")
    sim.newstate(phone, 5)
    sim.update_member_status(phone.device)
    dialing = Leg(local2)
    # A cancel, or the agent or the caller gone, stops the ring; a completion asked for while it
    # rings waits for the answer.
    watch = asyncio.ensure_future(first_of(consult.cancelled, consult.agent_leg.gone, *_caller_gone(consult)))
    watch.add_done_callback(lambda _f: dialing.hang_up(0))
    try:
        outcome = await ring_phone(sim, dialing, phone, RING_S, answer_after)
        talking = None
        if outcome == "answered":
            sim.newstate(phone, 6)
            sim.pair_event("DialEnd", local2, phone, [("DialStatus", "ANSWER")], "call,all")
            talking = _new_bridge(sim)
            _enter(sim, talking, phone)
            _enter(sim, talking, local2)
            consult.phone_leg = Leg(phone)
            sim.legs[phone.name] = consult.phone_leg
            consult.legs = (local1, local2, phone)
            ends = (consult.step, consult.agent_leg.gone, consult.phone_leg.gone, *_caller_gone(consult))
            await first_of(*ends)
            if _dropped(sim, consult):
                return
        else:
            status = "CANCEL" if outcome == "cancel" else "NOANSWER"
            sim.pair_event("DialEnd", local2, phone, [("DialStatus", status)], "call,all")
        step = consult.step.result() if consult.step.done() else ""
        if talking is not None and step in ("complete", "threeway") and not consult.phone_leg.gone.done():
            await _hand_over(sim, consult, local1, local2, phone, step)
            return
        # Cancelled, not answered, or the consulted phone hung up: back to the caller.
        if not agent.hung_up:
            _leave(sim, agent)
            _enter(sim, home, agent)
            sim.channel_event("MusicOnHoldStop", caller)
            sim.channel_event("Unhold", agent)
        for channel in (local1, local2, phone):
            _leave(sim, channel)
            sim.hangup_channel(channel, 16)
        sim.legs.pop(phone.name, None)
        sim.update_member_status(phone.device)
        sim.consults.pop(agent.name, None)
    finally:
        watch.cancel()


def _caller_gone(consult: Consult) -> tuple[asyncio.Future[int], ...]:
    return (consult.caller_leg.gone,) if consult.caller_leg is not None else ()


def _dropped(sim: SwitchSimulator, consult: Consult) -> bool:
    """The agent's leg hung up while the two agents talked: Asterisk completes the transfer
    (atxferdropcall = no), in an AttendedTransfer that names no target (captured:
    [agent-hangs-up]). Done once, by whichever of the consult and the caller's bridge sees it
    first; True once it is done."""
    if consult.step.done() and consult.step.result() == "dropped":
        return True
    phone_leg = consult.phone_leg
    if consult.step.done() or consult.legs is None or phone_leg is None or phone_leg.gone.done():
        return False
    if not consult.agent_leg.gone.done() or consult.conference:
        return False
    consult.step.set_result("dropped")
    local1, local2, phone = consult.legs
    _leave(sim, consult.agent)
    _transfer_event(sim, consult, None, "Bridge")
    sim.channel_event("MusicOnHoldStop", consult.caller)
    _give_the_caller(sim, consult, local1, local2, phone)
    sim.legs.pop(phone.name, None)
    return True


def _give_the_caller(
    sim: SwitchSimulator, consult: Consult, local1: Channel, local2: Channel, phone: Channel
) -> None:
    """The phone joins the caller's bridge, the Local pair goes; the caller's bridge goes on
    with the phone as its agent (``successor``)."""
    _leave(sim, local1)
    _leave(sim, phone)
    _enter(sim, consult.home, phone)
    for channel in (local2, local1):
        _leave(sim, channel)
        sim.hangup_channel(channel, 16)
    consult.successor = consult.phone_leg


async def _hand_over(
    sim: SwitchSimulator, consult: Consult, local1: Channel, local2: Channel, phone: Channel, step: str
) -> None:
    agent, caller, home = consult.agent, consult.caller, consult.home
    assert consult.phone_leg is not None
    _transfer_event(sim, consult, local1, "Bridge" if step == "complete" else "Threeway")
    sim.channel_event("MusicOnHoldStop", caller)
    _leave(sim, agent)
    if step == "threeway":
        _enter(sim, home, agent)
    _give_the_caller(sim, consult, local1, local2, phone)
    if step == "complete":
        # The agent's leg is gone; the caller's bridge goes on with the phone (``successor``).
        sim.legs.pop(phone.name, None)
        consult.agent_leg.hang_up(16)
        return
    consult.conference = True
    # A three-way call: the phone's own hang-up leaves the caller with the agent.
    await first_of(consult.phone_leg.gone, consult.agent_leg.gone, *_caller_gone(consult))
    if consult.phone_leg.gone.done() or (consult.caller_leg is not None and consult.caller_leg.gone.done()):
        consult.successor = None
        sim.consults.pop(agent.name, None)
        _leave(sim, phone)
        sim.hangup_channel(phone, 16)
        sim.legs.pop(phone.name, None)
        sim.update_member_status(phone.device)


def agent_left(sim: SwitchSimulator, agent: Channel) -> None:
    """The consulting agent's leg leaves a call the phone carries on: out of its bridge, hung up."""
    _leave(sim, agent)
    sim.hangup_channel(agent, 16)
    sim.refresh_endpoint(agent.device)
    sim.update_member_status(agent.device)
