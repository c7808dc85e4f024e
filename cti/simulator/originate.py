"""Originate as Asterisk 22 runs it: the first leg rings an endpoint, and once it answers the
channel runs the given context (click-to-dial dials the carrier; spy starts ChanSpy)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cti.simulator import wire
from cti.simulator.channels import Bridge, Channel
from cti.simulator.legs import Leg, first_of

if TYPE_CHECKING:
    from cti.simulator.ami_server import Action, AmiServer, Session
    from cti.simulator.core import SwitchSimulator

_CALLER_ID = re.compile(r'^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$')
# The carrier (SIPp on the captured rig) answers at once.
CARRIER_ANSWER_S = 0.0
DIAL_VARS = (
    "DIALSTATUS",
    "DIALEDPEERNUMBER",
    "DIALEDPEERNAME",
    "ANSWEREDTIME",
    "ANSWEREDTIME_MS",
    "DIALEDTIME",
    "DIALEDTIME_MS",
    "RINGTIME",
    "RINGTIME_MS",
    "PROGRESSTIME",
    "PROGRESSTIME_MS",
)


def parse_caller_id(text: str) -> tuple[str, str]:
    match = _CALLER_ID.match(text)
    if match:
        return match.group(2), match.group(1).strip()
    return text.strip(), ""


def handle_originate(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    target = action.get("channel", "")
    if not target:
        session.respond([("Response", "Error"), *aid, ("Message", "Channel not specified")])
        return
    tech, slash, resource = target.partition("/")
    if not slash:  # a bare extension: Asterisk cannot tell which channel driver (live suite)
        session.respond([("Response", "Error"), *aid, ("Message", "Invalid channel")])
        return
    known = tech.upper() == "PJSIP" and sim.endpoint_exists(resource)
    is_async = action.get("async", "").lower() in ("true", "yes", "1")
    if not known and not is_async:
        session.respond([("Response", "Error"), *aid, ("Message", "Originate failed")])
        return
    request = OriginateRequest(
        target=target,
        endpoint=resource,
        context=action.get("context", ""),
        exten=action.get("exten", ""),
        priority=int(action.get("priority", "1") or 1),
        caller_id=action.get("callerid", ""),
        timeout_s=int(action.get("timeout", "30000") or 30000) / 1000,
        variables=[v for v in action.get("variable", "").split("\n") if v],
        action_id=action.get("actionid", ""),
        known=known,
    )
    if is_async:
        session.respond([("Response", "Success"), *aid, ("Message", "Originate successfully queued")])
        sim.spawn(run_originate(sim, request, session=None), name=f"originate-{request.action_id}")
        return
    task = sim.spawn(
        run_originate(sim, request, session=session, aid=aid), name=f"originate-{request.action_id}"
    )
    session.tasks.add(task)
    task.add_done_callback(session.tasks.discard)


@dataclass(frozen=True, slots=True)
class OriginateRequest:
    target: str  # the Channel header: PJSIP/1001
    endpoint: str
    context: str
    exten: str
    priority: int
    caller_id: str
    timeout_s: float
    variables: list[str]
    action_id: str
    known: bool


async def run_originate(
    sim: SwitchSimulator, request: OriginateRequest, *, session: Session | None, aid: wire.Headers = ()
) -> None:  # type: ignore[assignment]
    channel = sim.new_channel(f"PJSIP/{request.endpoint}", context="agents", exten="s")
    sim.newexten(channel, 1, "AppDial2", "(Outgoing Line)")
    for assignment in request.variables:
        name, _, value = assignment.partition("=")
        sim.varset(channel, name, value)
    num, name = parse_caller_id(request.caller_id) if request.caller_id else ("", "")
    if num or name:
        channel.caller_num, channel.caller_name = num, name
        sim.channel_event(
            "NewCallerid", channel, [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")]
        )
        channel.connected_num, channel.connected_name = num, name
        sim.channel_event("NewConnectedLine", channel)
    sim.pair_event("DialBegin", None, channel, [("DialString", request.endpoint)], "call,all")
    phone = sim.phones.get(request.endpoint)
    answers = phone is not None and phone.reachable and phone.answer_after_s is not None
    if phone is not None and phone.reachable:
        sim.newstate(channel, 5)
        sim.refresh_endpoint(channel.device)
        sim.update_member_status(channel.device)
        sim.pair_event("DialState", None, channel, [("DialStatus", "RINGING")], "call,all")
    wait = (
        min(request.timeout_s, phone.answer_after_s) if answers and phone is not None else request.timeout_s
    )
    leg = Leg(channel)
    sim.legs[channel.name] = leg
    timer = sim.clock.timer(wait)
    await first_of(timer, leg.gone)
    timer.cancel()
    answered = answers and phone is not None and wait == phone.answer_after_s and not leg.gone.done()
    if not answered:
        sim.legs.pop(channel.name, None)
        cause, tech = (19, "480") if phone is None or not phone.reachable else (19, None)
        sim.hangup_channel(channel, cause, tech)
        sim.refresh_endpoint(channel.device)
        sim.update_member_status(channel.device)
        _originate_response(sim, request, session, aid, None, success=False)()
        return
    sim.newstate(channel, 6)
    sim.pair_event("DialEnd", None, channel, [("DialStatus", "ANSWER")], "call,all")
    channel.context, channel.exten = request.context, request.exten
    # Asterisk reports success once the channel starts its dialplan: after its first steps.
    report = _originate_response(sim, request, session, aid, channel, success=True)
    try:
        await run_local_context(sim, leg, report)
    finally:
        sim.legs.pop(channel.name, None)


def _originate_response(
    sim: SwitchSimulator,
    request: OriginateRequest,
    session: Session | None,
    aid: wire.Headers,
    channel: Channel | None,
    *,
    success: bool,
) -> Callable[[], None]:
    """What reports the outcome: the synchronous response, or the OriginateResponse event."""
    if session is not None:
        if success:
            reply = [("Response", "Success"), *aid, ("Message", "Originate successfully queued")]
        else:
            reply = [("Response", "Error"), *aid, ("Message", "Originate failed")]
        return lambda: session.respond(reply)
    headers = [
        ("ActionID", request.action_id),
        ("Response", "Success" if success else "Failure"),
        ("Channel", channel.name if channel else request.target),
        ("Context", request.context),
        ("Exten", request.exten),
        ("Reason", "4" if success else "3"),
        ("Uniqueid", channel.uniqueid if channel else "<unknown>"),
        ("CallerIDNum", (channel.caller_num if channel else "") or "<unknown>"),
        ("CallerIDName", (channel.caller_name if channel else "") or "<unknown>"),
    ]
    return lambda: sim.emit("OriginateResponse", "call,all", headers)


async def run_local_context(sim: SwitchSimulator, leg: Leg, report: Callable[[], None]) -> None:
    channel = leg.channel
    if channel.context == "click-to-dial":
        number = channel.exten
        sim.newexten(channel, 1, "NoOp", f"Click-to-dial {number}")
        sim.newexten(channel, 2, "Dial", f"PJSIP/{number}@carrier,30")
        for name in DIAL_VARS:
            sim.varset(channel, name, "")
        sim.refresh_endpoint(channel.device)
        report()
        await _dial_carrier(sim, leg, number)
        return
    if channel.context == "spy":
        spy_options = channel.variables.get("SPY_OPTS", "q")
        sim.newexten(channel, 1, "ChanSpy", f"PJSIP/{channel.exten},{spy_options}")
        sim.refresh_endpoint(channel.device)
        report()
        await first_of(leg.gone)
        sim.newexten(channel, 2, "Hangup", "")
        _end(sim, leg)
        return
    sim.refresh_endpoint(channel.device)
    report()
    sim.newexten(channel, channel.priority, "Hangup", "")
    _end(sim, leg)


def _end(sim: SwitchSimulator, leg: Leg) -> None:
    channel = leg.channel
    if channel.hung_up:
        return
    sim.channel_event("SoftHangupRequest", channel, [("Cause", "16")])
    sim.hangup_channel(channel, 16)
    sim.refresh_endpoint(channel.device)
    sim.update_member_status(channel.device)


async def _dial_carrier(sim: SwitchSimulator, leg: Leg, number: str) -> None:
    agent = leg.channel
    carrier = sim.new_channel("PJSIP/carrier", context="from-trunk", exten="s", linkedid=agent.linkedid)
    sim.varset(carrier, "DIALEDPEERNUMBER", f"{number}@carrier")
    carrier.caller_num, carrier.caller_name, carrier.exten = number, agent.caller_name, number
    carrier.connected_num, carrier.connected_name = agent.caller_num, agent.caller_name
    sim.newexten(carrier, 1, "AppDial", "(Outgoing Line)")
    sim.channel_event("NewCallerid", carrier, [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")])
    sim.channel_event("NewConnectedLine", carrier)
    sim.pair_event("DialBegin", agent, carrier, [("DialString", f"{number}@carrier")], "call,all")
    agent.connected_num, agent.connected_name = carrier.caller_num, carrier.caller_name
    sim.channel_event("NewConnectedLine", agent)
    sim.newstate(carrier, 5)
    started = sim.clock.time()
    sim.varset(agent, "RINGTIME", "0")
    sim.varset(agent, "RINGTIME_MS", "0")
    sim.pair_event("DialState", agent, carrier, [("DialStatus", "RINGING")], "call,all")
    sim.refresh_endpoint(carrier.device)
    await sim.clock.sleep(CARRIER_ANSWER_S)
    sim.newstate(carrier, 6)
    sim.varset(agent, "DIALSTATUS", "ANSWER")
    sim.varset(agent, "DIALEDPEERNAME", carrier.name)
    sim.varset(agent, "DIALEDPEERNUMBER", f"{number}@carrier")
    sim.refresh_endpoint(carrier.device)
    carrier.exten = ""
    sim.pair_event("DialEnd", agent, carrier, [("DialStatus", "ANSWER")], "call,all")
    answered_at = sim.clock.time()
    bridge = Bridge(sim.numbering.uuid(), created=answered_at)
    sim.bridges[bridge.uniqueid] = bridge
    sim.emit("BridgeCreate", "call,all", wire.bridge_block(bridge))
    sim.newexten(carrier, 1, "AppDial", "(Outgoing Line)")
    for channel in (carrier, agent):
        bridge.channels.append(channel)
        channel.bridge = bridge
        sim.emit("BridgeEnter", "call,all", [*wire.bridge_block(bridge), *wire.channel_block(channel)])
    agent_call_id, carrier_call_id = sim.numbering.uuid(), sim.numbering.uuid()
    # simple_bridge, then native_rtp twice: each technology change sets the peers again.
    for _ in range(3):
        sim.varset(agent, "BRIDGEPEER", carrier.name)
        sim.varset(agent, "BRIDGEPVTCALLID", agent_call_id)
        sim.varset(carrier, "BRIDGEPEER", agent.name)
        sim.varset(carrier, "BRIDGEPVTCALLID", carrier_call_id)
    bridge.technology = "native_rtp"
    carrier_leg = Leg(carrier)
    sim.legs[carrier.name] = carrier_leg
    # An agent's phone that hangs up on its own (AgentScript.hangup_after_s) ends this call too,
    # as it ends a queue call: counted from the carrier's answer.
    phone = sim.phones.get(agent.peer_name)
    talk = sim.clock.timer(phone.hangup_after_s) if phone and phone.hangup_after_s is not None else None
    try:
        await first_of(leg.gone, carrier_leg.gone, talk)
    finally:
        sim.legs.pop(carrier.name, None)
        if talk is not None:
            talk.cancel()
    for channel in (agent, carrier):
        sim.varset(channel, "BRIDGEPEER", "")
        sim.varset(channel, "BRIDGEPVTCALLID", "")
    bridge.channels.remove(agent)
    sim.emit("BridgeLeave", "call,all", [*wire.bridge_block(bridge), *wire.channel_block(agent)])
    now = sim.clock.time()
    for name, value in (
        ("ANSWEREDTIME", str(int(now - answered_at))),
        ("ANSWEREDTIME_MS", str(int((now - answered_at) * 1000))),
        ("DIALEDTIME", str(int(now - started))),
        ("DIALEDTIME_MS", str(int((now - started) * 1000))),
        ("DIALSTATUS", "ANSWER"),
    ):
        sim.varset(agent, name, value)
    sim.channel_event("SoftHangupRequest", agent, [("Cause", "16")])
    bridge.channels.remove(carrier)
    sim.emit("BridgeLeave", "call,all", [*wire.bridge_block(bridge), *wire.channel_block(carrier)])
    sim.emit("BridgeDestroy", "call,all", wire.bridge_block(bridge))
    sim.bridges.pop(bridge.uniqueid, None)
    sim.hangup_channel(carrier, 16)
    sim.hangup_channel(agent, 16)
    sim.refresh_endpoint(carrier.device)
    sim.refresh_endpoint(agent.device)
    sim.update_member_status(agent.device)
    await asyncio.sleep(0)
