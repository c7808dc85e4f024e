"""Channel actions: listing channels and bridges, variables, hang-up, redirect, recording control."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from cti.simulator import wire
from cti.simulator.legs import RedirectTo
from cti.simulator.responses import error, ok, respond_list, truthy

if TYPE_CHECKING:
    from cti.simulator.ami_server import Action, AmiServer, Session
    from cti.simulator.channels import Channel


def duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def core_show_channels(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    now = sim.clock.time()
    items = [
        [
            ("Event", "CoreShowChannel"),
            *aid,
            *wire.channel_block(ch),
            ("Application", ch.application),
            ("ApplicationData", ch.application_data),
            ("Duration", duration(now - ch.created)),
            ("BridgeId", ch.bridge.uniqueid if ch.bridge else ""),
        ]
        for ch in sorted(sim.channels.values(), key=lambda c: c.created, reverse=True)
    ]
    respond_list(session, aid, "Channels will follow", "CoreShowChannelsComplete", items)


def status(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    now = sim.clock.time()
    wanted = action.get("channel")
    channels = [c for c in sim.channels.values() if not wanted or c.name == wanted]
    if wanted and not channels:
        error(session, aid, "No such channel")
        return
    items = [
        [
            ("Event", "Status"),
            ("Privilege", "Call"),
            *wire.channel_block(ch),
            ("Type", ch.name.partition("/")[0]),
            ("DNID", ch.exten if ch.context == "from-trunk" else ""),
            ("EffectiveConnectedLineNum", ch.connected_num or "<unknown>"),
            ("EffectiveConnectedLineName", ch.connected_name or "<unknown>"),
            ("TimeToHangup", "0"),
            ("BridgeID", ch.bridge.uniqueid if ch.bridge else ""),
            ("Application", ch.application),
            ("Data", ch.application_data),
            ("Nativeformats", "(ulaw)"),
            ("Readformat", "ulaw"),
            ("Readtrans", ""),
            ("Writeformat", "slin"),
            ("Writetrans", "(slin@8000)->(ulaw@8000)"),
            ("Callgroup", "0"),
            ("Pickupgroup", "0"),
            ("Seconds", str(int(now - ch.created))),
            *aid,
        ]
        for ch in sorted(sim.channels.values(), key=lambda c: c.created, reverse=True)
        if ch in channels
    ]
    respond_list(
        session, aid, "Channel status will follow", "StatusComplete", items, [("Items", str(len(items)))]
    )


def getvar(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    variable = action.get("variable", "")
    if not variable:
        error(session, aid, "No variable specified")
        return
    name = action.get("channel")
    if name:
        channel = sim.find_channel(name)
        if channel is None:
            error(session, aid, "No such channel")
            return
        value = sim.channel_variable(channel, variable)
    else:
        key = variable[7:-1] if variable.startswith("GLOBAL(") and variable.endswith(")") else variable
        value = sim.global_vars.get(key)
    session.respond([("Response", "Success"), *aid, ("Variable", variable), ("Value", value or "")])


def setvar(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    variable = action.get("variable", "")
    if not variable:
        error(session, aid, "No variable specified")
        return
    value = action.get("value", "")
    name = action.get("channel")
    if name:
        channel = sim.find_channel(name)
        if channel is None:
            error(session, aid, "No such channel")
            return
        mute = MUTEAUDIO.fullmatch(variable)
        if mute is not None:  # a dialplan function: written, no VarSet
            if mute_audio(channel, mute.group(1), value):
                ok(session, aid, "Variable Set")
            else:
                error(session, aid, "Variable not set")
            return
        ok(session, aid, "Variable Set")
        sim.varset(channel, variable, value)
        return
    sim.global_vars[variable] = value
    ok(session, aid, "Variable Set")
    sim.emit(
        "VarSet",
        "dialplan,all",
        [("Channel", "none"), ("Uniqueid", "none"), ("Variable", variable), ("Value", value)],
    )


def command(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    command = action.get("command", "").strip()
    sim = server.sim
    if command == "core show version":
        output = [f"Asterisk 22.10.1 (Hotline switch simulator) running on {time.strftime('%Y-%m-%d')}"]
    elif command.startswith("queue show"):
        output = []
        names = command.split()[2:] or list(sim.queues)
        for queue_name in names:
            queue = sim.queues.get(queue_name)
            if queue is None:
                output.append(f"No such queue: {queue_name}.")
                continue
            output.append(
                f"{queue.name} has {len(queue.entries)} calls (max unlimited) in '{queue.strategy}' strategy "
                f"({queue.holdtime}s holdtime, {queue.talktime}s talktime), W:0, C:{queue.completed}, "
                f"A:{queue.abandoned}, SL:0.0%, SL2:0.0% within 0s"
            )
            output.append("   No Members" if not queue.members else "   Members: ")
            for member in queue.members.values():
                output.append(f"      {member.name} ({member.interface}) ({member.membership})")
            output.append("   No Callers" if not queue.entries else "   Callers: ")
            output.append("")
    else:
        output = [
            f"No such command '{command}' (type 'core show help {command}' for other possible commands)"
        ]
    session.respond(
        [
            ("Response", "Success"),
            *aid,
            ("Message", "Command output follows"),
            *[("Output", line) for line in output],
        ]
    )


def device_state_list(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    items = [
        [("Event", "DeviceStateChange"), *aid, ("Device", device), ("State", state)]
        for device, state in server.sim.devices.items()
    ]
    respond_list(session, aid, "Device State Changes will follow", "DeviceStateListComplete", items)


def bridge_list(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    items = [[("Event", "BridgeListItem"), *aid, *wire.bridge_block(b)] for b in server.sim.bridges.values()]
    respond_list(session, aid, "Bridge listing will follow", "BridgeListComplete", items)


def hangup(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    name = action.get("channel", "")
    cause = int(action.get("cause", "16") or 16)
    if not name:
        error(session, aid, "No channel specified")
        return
    if len(name) > 2 and name.startswith("/") and name.endswith("/"):
        try:
            pattern = re.compile(name[1:-1])
        except re.error:
            error(session, aid, "Invalid channel regex")
            return
        matched = [c for c in list(sim.channels.values()) if pattern.search(c.name)]
        items = [[("Event", "ChannelHungup"), ("Channel", c.name), *aid] for c in matched]
        respond_list(session, aid, "Channels hung up will follow", "ChannelsHungupListComplete", items)
        for channel in matched:
            sim.hangup_by_action(channel, cause)
        return
    channel = sim.find_channel(name)
    if channel is None:
        error(session, aid, "No such channel")
        return
    ok(session, aid, "Channel Hungup")
    sim.hangup_by_action(channel, cause)


def redirect(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    name = action.get("channel", "")
    if not name:
        error(session, aid, "Channel not specified")
        return
    exten, context = action.get("exten", ""), action.get("context", "")
    if not exten or not context:
        error(session, aid, "Exten not specified" if not exten else "Context not specified")
        return
    leg = sim.legs.get(name)
    if leg is None:
        error(session, aid, "Channel does not exist: " + name)
        return
    target = RedirectTo(context, exten, int(action.get("priority", "1") or 1))
    extra_name = action.get("extrachannel", "")
    if not extra_name:
        ok(session, aid, "Redirect successful")
        leg.redirect_to(target)
        return
    extra = sim.legs.get(extra_name)
    if extra is None:
        error(session, aid, "Channel does not exist: " + extra_name)
        return
    extra_target = RedirectTo(
        action.get("extracontext", "") or context,
        action.get("extraexten", "") or exten,
        int(action.get("extrapriority", "") or target.priority),
    )
    ok(session, aid, "Dual Redirect successful")
    leg.redirect_to(target)
    extra.redirect_to(extra_target)


def mixmonitor(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    channel = sim.find_channel(action.get("channel", ""))
    if channel is None:
        error(session, aid, "No such channel")
        return
    session.respond([("Response", "Success"), *aid])
    file = action.get("file", f"{channel.uniqueid}.wav")
    sim.varset(channel, "MIXMONITOR_FILENAME", file)
    channel.recording = True
    sim.recorder.started(channel, file, action.get("options", ""))
    channel.muted = False
    sim.channel_event("MixMonitorStart", channel)
    sim.bridge_reconfigured(channel)


def stop_mixmonitor(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    channel = sim.find_channel(action.get("channel", ""))
    if channel is None:
        error(session, aid, "No such channel")
        return
    if not channel.recording:
        error(session, aid, "Could not stop MixMonitor")
        return
    session.respond([("Response", "Success"), *aid])
    channel.recording = False
    sim.recorder.stopped(channel)
    sim.channel_event("MixMonitorStop", channel)
    sim.bridge_reconfigured(channel)


def mixmonitor_mute(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    channel = sim.find_channel(action.get("channel", ""))
    if channel is None:
        error(session, aid, "No such channel")
        return
    direction = action.get("direction", "both")
    state = "1" if truthy(action.get("state", "1")) else "0"
    session.respond([("Response", "Success"), *aid])
    channel.muted = state == "1"
    sim.channel_event("MixMonitorMute", channel, [("Direction", direction), ("State", state)])


def play_dtmf(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    """PlayDTMF: the digit goes to the channel's party; the simulator notes it on the channel.
    With ``Receive`` the digit comes from the channel's phone instead."""
    sim = server.sim
    channel = sim.find_channel(action.get("channel", ""))
    digit = action.get("digit", "")
    if channel is None:
        error(session, aid, "Channel not found")
        return
    if len(digit) != 1 or digit not in "0123456789*#ABCD":
        error(session, aid, "No digit specified")
        return
    session.respond([("Response", "Success"), ("Message", "DTMF successfully queued"), *aid])
    if truthy(action.get("receive", "")):
        # As if the channel's phone sent it: the bridge's features read it (a consult's keys).
        from cti.simulator.consult import received_key

        received_key(sim, channel, digit)
        return
    channel.dtmf_sent += digit


MUTEAUDIO = re.compile(r"MUTEAUDIO\((\w*)\)")
MUTE_DIRECTIONS = {"in": frozenset({"in"}), "out": frozenset({"out"}), "all": frozenset({"in", "out"})}


def mute_audio(channel: Channel, direction: str, value: str) -> bool:
    """res_mutestream's MUTEAUDIO(direction)=value, written by Setvar: the direction as its
    strcmp reads it, on when Asterisk's ast_true() says so; unmuting what is not muted is no
    error. False (Asterisk's "Variable not set") for a direction it does not know."""
    directions = MUTE_DIRECTIONS.get(direction)
    if directions is None:
        return False
    if truthy(value):
        channel.audio_muted |= directions
    else:
        channel.audio_muted -= directions
    return True
