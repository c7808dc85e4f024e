"""AMI actions as Asterisk 22 answers them (tests/transcripts/*: ActionID echoed, list actions as
Success + ``EventList: start``, items, then ``…Complete`` with ``ListItems``)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cti.simulator import originate, wire
from cti.simulator.legs import RedirectTo

if TYPE_CHECKING:
    from cti.simulator.ami_server import Action, AmiServer, Session

Handler = Callable[["AmiServer", "Session", "Action", list[tuple[str, str]]], None]


def _ok(session: Session, aid: wire.Headers, message: str | None = None) -> None:
    headers = [("Response", "Success"), *aid]
    if message is not None:
        headers.append(("Message", message))
    session.respond(headers)


def _error(session: Session, aid: wire.Headers, message: str) -> None:
    session.respond([("Response", "Error"), *aid, ("Message", message)])


def _list(
    session: Session,
    aid: wire.Headers,
    message: str,
    event: str,
    items: list[wire.Headers],
    extra: wire.Headers = (),
) -> None:  # type: ignore[assignment]
    session.respond([("Response", "Success"), *aid, ("EventList", "start"), ("Message", message)])
    for item in items:
        session.respond(item)
    session.respond(
        [("Event", event), *aid, ("EventList", "Complete"), ("ListItems", str(len(items))), *extra]
    )


def handle_action(server: AmiServer, session: Session, action: Action) -> None:
    name = action.get("action", "")
    aid: wire.Headers = [("ActionID", action["actionid"])] if "actionid" in action else []
    handler = HANDLERS.get(name.lower())
    if name.lower() == "login":
        _login(server, session, action, aid)
        return
    if not session.logged_in:
        _error(session, aid, "Permission denied")
        return
    if handler is None:
        _error(
            session,
            aid,
            f"Invalid/unknown command: {name}. Use Action: ListCommands to show available commands.",
        )
        server.security_event(
            "RequestBadFormat",
            session,
            [
                ("Severity", "Error"),
                ("Service", "AMI"),
                ("EventVersion", "1"),
                ("SessionID", session.session_id),
                ("LocalAddress", session.local),
                ("RemoteAddress", session.remote),
                ("RequestType", f"Action: {name}"),
                ("SessionTV", _session_tv(session)),
                ("AccountID", session.username),
            ],
        )
        return
    handler(server, session, action, aid)


def _session_tv(session: Session) -> str:
    from cti.simulator.ami_server import tv

    return tv(session.connected_at)


def _login(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    if action.get("username") != sim.username or action.get("secret") != sim.secret:
        _error(session, aid, "Authentication failed")
        server.security_event(
            "InvalidPassword",
            session,
            [
                ("Severity", "Error"),
                ("Service", "AMI"),
                ("EventVersion", "2"),
                ("AccountID", action.get("username", "")),
                ("SessionID", session.session_id),
                ("LocalAddress", session.local),
                ("RemoteAddress", session.remote),
                ("SessionTV", "1970-01-01T00:00:00.000+0000"),
            ],
            skip=session,
        )
        session.close()
        return
    session.logged_in = True
    session.username = sim.username
    session.events = action.get("events", "on").lower() not in ("off", "no", "false", "0")
    _ok(session, aid, "Authentication accepted")
    uptime = str(int(sim.clock.time() - sim.started_at))
    if session.events:
        session.respond(
            [
                ("Event", "FullyBooted"),
                ("Privilege", "system,all"),
                ("Uptime", uptime),
                ("LastReload", uptime),
                ("Status", "Fully Booted"),
            ]
        )
    server.security_event(
        "SuccessfulAuth",
        session,
        [
            ("Severity", "Informational"),
            ("Service", "AMI"),
            ("EventVersion", "1"),
            ("AccountID", sim.username),
            ("SessionID", session.session_id),
            ("LocalAddress", session.local),
            ("RemoteAddress", session.remote),
            ("UsingPassword", "0"),
            ("SessionTV", _session_tv(session)),
        ],
    )


def _logoff(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    session.respond([("Response", "Goodbye"), *aid, ("Message", "Thanks for all the fish.")])
    session.close()


def _ping(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    session.respond(
        [("Response", "Success"), *aid, ("Ping", "Pong"), ("Timestamp", f"{server.sim.clock.time():.6f}")]
    )


def _core_status(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    started = datetime.fromtimestamp(sim.started_at, UTC)
    calls = len({c.linkedid for c in sim.channels.values()})
    session.respond(
        [
            ("Response", "Success"),
            *aid,
            ("CoreStartupDate", started.strftime("%Y-%m-%d")),
            ("CoreStartupTime", started.strftime("%H:%M:%S")),
            ("CoreReloadDate", started.strftime("%Y-%m-%d")),
            ("CoreReloadTime", started.strftime("%H:%M:%S")),
            ("CoreCurrentCalls", str(calls)),
            ("CoreProcessedCalls", str(sim.processed_calls)),
        ]
    )


def _core_settings(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    session.respond(
        [
            ("Response", "Success"),
            *aid,
            ("AMIversion", "11.0.0"),
            ("AsteriskVersion", "22.10.1"),
            ("SystemName", ""),
            ("CoreMaxCalls", "0"),
            ("CoreMaxLoadAvg", "0.000000"),
            ("CoreRunUser", "root"),
            ("CoreRunGroup", "root"),
            ("CoreMaxFilehandles", "0"),
            ("CoreRealTimeEnabled", "No"),
            ("CoreCDRenabled", "No"),
            ("CoreHTTPenabled", "No"),
            ("SoundsSearchCustomDir", "No"),
        ]
    )


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _core_show_channels(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    now = sim.clock.time()
    items = [
        [
            ("Event", "CoreShowChannel"),
            *aid,
            *wire.channel_block(ch),
            ("Application", ch.application),
            ("ApplicationData", ch.application_data),
            ("Duration", _duration(now - ch.created)),
            ("BridgeId", ch.bridge.uniqueid if ch.bridge else ""),
        ]
        for ch in sorted(sim.channels.values(), key=lambda c: c.created, reverse=True)
    ]
    _list(session, aid, "Channels will follow", "CoreShowChannelsComplete", items)


def _status(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    now = sim.clock.time()
    wanted = action.get("channel")
    channels = [c for c in sim.channels.values() if not wanted or c.name == wanted]
    if wanted and not channels:
        _error(session, aid, "No such channel")
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
    _list(session, aid, "Channel status will follow", "StatusComplete", items, [("Items", str(len(items)))])


def _getvar(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    variable = action.get("variable", "")
    if not variable:
        _error(session, aid, "No variable specified")
        return
    name = action.get("channel")
    if name:
        channel = sim.find_channel(name)
        if channel is None:
            _error(session, aid, "No such channel")
            return
        value = sim.channel_variable(channel, variable)
    else:
        key = variable[7:-1] if variable.startswith("GLOBAL(") and variable.endswith(")") else variable
        value = sim.global_vars.get(key)
    session.respond([("Response", "Success"), *aid, ("Variable", variable), ("Value", value or "")])


def _setvar(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    variable = action.get("variable", "")
    if not variable:
        _error(session, aid, "No variable specified")
        return
    value = action.get("value", "")
    name = action.get("channel")
    if name:
        channel = sim.find_channel(name)
        if channel is None:
            _error(session, aid, "No such channel")
            return
        _ok(session, aid, "Variable Set")
        sim.varset(channel, variable, value)
        return
    sim.global_vars[variable] = value
    _ok(session, aid, "Variable Set")
    sim.emit(
        "VarSet",
        "dialplan,all",
        [("Channel", "none"), ("Uniqueid", "none"), ("Variable", variable), ("Value", value)],
    )


def _command(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
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


def _queue_add(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    queue = sim.queues.get(action.get("queue", ""))
    interface = action.get("interface", "")
    if queue is None or not interface:
        _error(
            session,
            aid,
            "Unable to add interface to queue: No such queue" if interface else "'Interface' not specified.",
        )
        return
    if interface in queue.members:
        _error(session, aid, "Unable to add interface: Already there")
        return
    _ok(session, aid, "Added interface to queue")
    sim.add_member(
        queue.name,
        interface,
        name=action.get("membername", ""),
        state_interface=action.get("stateinterface", ""),
        penalty=int(action.get("penalty", "0") or 0),
        paused=_true(action.get("paused", "")),
        reason=action.get("reason", ""),
    )


def _true(value: str) -> bool:
    return value.lower() in ("1", "true", "yes", "on")


def _queue_remove(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    queue = sim.queues.get(action.get("queue", ""))
    interface = action.get("interface", "")
    if queue is None:
        _error(session, aid, "Unable to remove interface from queue: No such queue")
        return
    if interface not in queue.members:
        _error(session, aid, "Unable to remove interface: Not there")
        return
    _ok(session, aid, "Removed interface from queue")
    sim.remove_member(queue.name, interface)


def _queue_pause(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    interface = action.get("interface", "")
    paused = _true(action.get("paused", ""))
    queue_name = action.get("queue", "")
    members = [
        q.members[interface]
        for q in sim.queues.values()
        if interface in q.members and (not queue_name or q.name == queue_name)
    ]
    if not interface:
        _error(session, aid, "Need 'Interface' and 'Paused' fields.")
        return
    if not members:
        _error(session, aid, "Interface not found")
        return
    _ok(session, aid, "Interface paused successfully" if paused else "Interface unpaused successfully")
    for member in members:
        sim.pause_member(member, paused, action.get("reason", ""))


def _queue_penalty(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    interface = action.get("interface", "")
    queue_name = action.get("queue", "")
    members = [
        q.members[interface]
        for q in sim.queues.values()
        if interface in q.members and (not queue_name or q.name == queue_name)
    ]
    if not members:
        _error(session, aid, "Invalid interface, queuename or penalty")
        return
    _ok(session, aid, "Interface penalty set successfully")
    for member in members:
        member.penalty = int(action.get("penalty", "0") or 0)
        sim.member_event("QueueMemberPenalty", member)


def _queue_params(queue, aid: wire.Headers) -> wire.Headers:  # type: ignore[no-untyped-def]
    return [
        ("Event", "QueueParams"),
        ("Queue", queue.name),
        ("Max", "0"),
        ("Strategy", queue.strategy),
        ("Calls", str(len(queue.entries))),
        ("Holdtime", str(queue.holdtime)),
        ("TalkTime", str(queue.talktime)),
        ("Completed", str(queue.completed)),
        ("Abandoned", str(queue.abandoned)),
        ("ServiceLevel", "0"),
        ("ServicelevelPerf", "0.0"),
        ("ServicelevelPerf2", "0.0"),
        ("Weight", "0"),
        *aid,
    ]


def _queue_status(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    wanted_queue = action.get("queue", "")
    wanted_member = action.get("member", "")
    now = sim.clock.time()
    items: list[wire.Headers] = []
    for queue in sim.queues.values():
        if wanted_queue and queue.name != wanted_queue:
            continue
        items.append(_queue_params(queue, aid))
        for member in queue.members.values():
            if wanted_member and member.interface != wanted_member:
                continue
            block = dict(wire.member_block(member))
            items.append(
                [
                    ("Event", "QueueMember"),
                    ("Queue", queue.name),
                    ("Name", member.name),
                    ("Location", member.interface),
                    ("StateInterface", member.state_interface),
                    ("Membership", member.membership),
                    ("Penalty", str(member.penalty)),
                    ("CallsTaken", str(member.calls_taken)),
                    ("LastCall", block["LastCall"]),
                    ("LastPause", block["LastPause"]),
                    ("LoginTime", block["LoginTime"]),
                    ("InCall", "1" if member.status == 2 else "0"),
                    ("Status", str(member.status)),
                    ("Paused", block["Paused"]),
                    ("PausedReason", member.paused_reason),
                    ("Wrapuptime", "0"),
                    *aid,
                ]
            )
        for position, entry in enumerate(queue.entries, start=1):
            ch = entry.channel
            items.append(
                [
                    ("Event", "QueueEntry"),
                    ("Queue", queue.name),
                    ("Position", str(position)),
                    ("Channel", ch.name),
                    ("Uniqueid", ch.uniqueid),
                    ("CallerIDNum", ch.caller_num or "unknown"),
                    ("CallerIDName", ch.caller_name or "unknown"),
                    ("ConnectedLineNum", ch.connected_num or "unknown"),
                    ("ConnectedLineName", ch.connected_name or "unknown"),
                    ("Wait", str(int(now - entry.joined))),
                    ("Priority", str(entry.priority)),
                    *aid,
                ]
            )
    _list(session, aid, "Queue status will follow", "QueueStatusComplete", items)


def _queue_summary(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    now = sim.clock.time()
    wanted = action.get("queue", "")
    items = [
        [
            ("Event", "QueueSummary"),
            ("Queue", q.name),
            ("LoggedIn", str(len(q.members))),
            ("Available", str(sum(1 for m in q.members.values() if m.available))),
            ("Callers", str(len(q.entries))),
            ("HoldTime", str(q.holdtime)),
            ("TalkTime", str(q.talktime)),
            ("LongestHoldTime", str(int(max((now - e.joined for e in q.entries), default=0)))),
            *aid,
        ]
        for q in sim.queues.values()
        if not wanted or q.name == wanted
    ]
    _list(session, aid, "Queue summary will follow", "QueueSummaryComplete", items)


def _device_state_list(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    items = [
        [("Event", "DeviceStateChange"), *aid, ("Device", device), ("State", state)]
        for device, state in server.sim.devices.items()
    ]
    _list(session, aid, "Device State Changes will follow", "DeviceStateListComplete", items)


def _bridge_list(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    items = [[("Event", "BridgeListItem"), *aid, *wire.bridge_block(b)] for b in server.sim.bridges.values()]
    _list(session, aid, "Bridge listing will follow", "BridgeListComplete", items)


def _hangup(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    name = action.get("channel", "")
    cause = int(action.get("cause", "16") or 16)
    if not name:
        _error(session, aid, "No channel specified")
        return
    if len(name) > 2 and name.startswith("/") and name.endswith("/"):
        try:
            pattern = re.compile(name[1:-1])
        except re.error:
            _error(session, aid, "Invalid channel regex")
            return
        matched = [c for c in list(sim.channels.values()) if pattern.search(c.name)]
        items = [[("Event", "ChannelHungup"), ("Channel", c.name), *aid] for c in matched]
        _list(session, aid, "Channels hung up will follow", "ChannelsHungupListComplete", items)
        for channel in matched:
            sim.hangup_by_action(channel, cause)
        return
    channel = sim.find_channel(name)
    if channel is None:
        _error(session, aid, "No such channel")
        return
    _ok(session, aid, "Channel Hungup")
    sim.hangup_by_action(channel, cause)


def _redirect(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    name = action.get("channel", "")
    if not name:
        _error(session, aid, "Channel not specified")
        return
    exten, context = action.get("exten", ""), action.get("context", "")
    if not exten or not context:
        _error(session, aid, "Exten not specified" if not exten else "Context not specified")
        return
    leg = sim.legs.get(name)
    if leg is None:
        _error(session, aid, "Channel does not exist: " + name)
        return
    _ok(session, aid, "Redirect successful")
    leg.redirect_to(RedirectTo(context, exten, int(action.get("priority", "1") or 1)))


def _mixmonitor(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    channel = sim.find_channel(action.get("channel", ""))
    if channel is None:
        _error(session, aid, "No such channel")
        return
    session.respond([("Response", "Success"), *aid])
    sim.varset(channel, "MIXMONITOR_FILENAME", action.get("file", f"{channel.uniqueid}.wav"))
    channel.recording = True
    channel.muted = False
    sim.channel_event("MixMonitorStart", channel)
    sim.bridge_reconfigured(channel)


def _stop_mixmonitor(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    channel = sim.find_channel(action.get("channel", ""))
    if channel is None:
        _error(session, aid, "No such channel")
        return
    if not channel.recording:
        _error(session, aid, "Could not stop MixMonitor")
        return
    session.respond([("Response", "Success"), *aid])
    channel.recording = False
    sim.channel_event("MixMonitorStop", channel)
    sim.bridge_reconfigured(channel)


def _mixmonitor_mute(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    channel = sim.find_channel(action.get("channel", ""))
    if channel is None:
        _error(session, aid, "No such channel")
        return
    direction = action.get("direction", "both")
    state = "1" if _true(action.get("state", "1")) else "0"
    session.respond([("Response", "Success"), *aid])
    channel.muted = state == "1"
    sim.channel_event("MixMonitorMute", channel, [("Direction", direction), ("State", state)])


HANDLERS: dict[str, Handler] = {
    "logoff": _logoff,
    "ping": _ping,
    "corestatus": _core_status,
    "coresettings": _core_settings,
    "coreshowchannels": _core_show_channels,
    "status": _status,
    "getvar": _getvar,
    "setvar": _setvar,
    "command": _command,
    "queueadd": _queue_add,
    "queueremove": _queue_remove,
    "queuepause": _queue_pause,
    "queuepenalty": _queue_penalty,
    "queuestatus": _queue_status,
    "queuesummary": _queue_summary,
    "devicestatelist": _device_state_list,
    "bridgelist": _bridge_list,
    "hangup": _hangup,
    "redirect": _redirect,
    "originate": originate.handle_originate,
    "mixmonitor": _mixmonitor,
    "stopmixmonitor": _stop_mixmonitor,
    "mixmonitormute": _mixmonitor_mute,
}
