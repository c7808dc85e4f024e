"""AMI actions as Asterisk 22 answers them (tests/transcripts/*: ActionID echoed, list actions as
Success + ``EventList: start``, items, then ``…Complete`` with ``ListItems``). This module holds
the session actions and the dispatch; queue_actions.py and channel_actions.py the others."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cti.simulator import channel_actions as channels
from cti.simulator import consult, originate, wire
from cti.simulator import queue_actions as queues
from cti.simulator.responses import Handler, error, ok

if TYPE_CHECKING:
    from cti.simulator.ami_server import Action, AmiServer, Session

log = logging.getLogger(__name__)


def handle_action(server: AmiServer, session: Session, action: Action) -> None:
    name = action.get("action", "")
    aid: wire.Headers = [("ActionID", action["actionid"])] if "actionid" in action else []
    handler = HANDLERS.get(name.lower())
    if name.lower() == "login":
        _login(server, session, action, aid)
        return
    if not session.logged_in:
        error(session, aid, "Permission denied")
        return
    if handler is None:
        error(
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
    try:
        handler(server, session, action, aid)
    except ValueError as exc:
        # A header that should be a number and is not (Priority: abc): the action fails, the
        # session goes on, as Asterisk's manager does.
        log.info("ami_action_invalid", extra={"kv": {"action": name, "error": str(exc)[:200]}})
        error(session, aid, f"Invalid value in {name}: {exc}")


def _session_tv(session: Session) -> str:
    from cti.simulator.ami_server import tv

    return tv(session.connected_at)


def _login(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    if action.get("username") != sim.username or action.get("secret") != sim.secret:
        error(session, aid, "Authentication failed")
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
    ok(session, aid, "Authentication accepted")
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
            ("SystemName", server.sim.system_name),
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


HANDLERS: dict[str, Handler] = {
    "logoff": _logoff,
    "ping": _ping,
    "corestatus": _core_status,
    "coresettings": _core_settings,
    "coreshowchannels": channels.core_show_channels,
    "status": channels.status,
    "getvar": channels.getvar,
    "setvar": channels.setvar,
    "command": channels.command,
    "queueadd": queues.queue_add,
    "queueremove": queues.queue_remove,
    "queuepause": queues.queue_pause,
    "queuepenalty": queues.queue_penalty,
    "queuelog": queues.queue_log,
    "queuestatus": queues.queue_status,
    "queuesummary": queues.queue_summary,
    "queuewithdrawcaller": queues.queue_withdraw_caller,
    "devicestatelist": channels.device_state_list,
    "bridgelist": channels.bridge_list,
    "hangup": channels.hangup,
    "redirect": channels.redirect,
    "originate": originate.handle_originate,
    "mixmonitor": channels.mixmonitor,
    "stopmixmonitor": channels.stop_mixmonitor,
    "mixmonitormute": channels.mixmonitor_mute,
    "playdtmf": channels.play_dtmf,
    "atxfer": consult.atxfer,
    "cancelatxfer": consult.cancel_atxfer,
}
