"""Read a capture made on this repository's own asterisk-config/ (16 and on) into a scenario the
simulator's production dialplan can replay (tests/simulator/production_replay.py).

These captures were taken on a passive AMI socket: Hotline's own socket sent the actions and no
``NN.actions`` / ``NN.agi`` file exists. So everything is read from the capture's effects: the
actions Hotline must have sent (QueuePause where members are paused or unpaused, Setvar of the
desk-hold variables, a Redirect where a channel moves into a context only Hotline sends it to),
the capture socket's own actions (its responses carry an ActionID), the IVR's FastAGI commands
(what it left between the ``AGI`` Newexten and ``AGISTATUS``), when the phones registered, what
their queue members were before, and the callers already waiting when the capture began.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from cti.ami_protocol import AmiMessage, first
from cti.hold import HOLD_AGENT_VARIABLE, HOLD_CALLER_VARIABLE
from cti.simulator import AgentScript, CallerScript
from cti.simulator.conformance import parse_stream

# Where Hotline, and only Hotline, sends a channel (asterisk-config/extensions.conf).
REDIRECT_TARGETS = frozenset({"hotline-deliver", "hotline-hold", "hotline-hold-agent", "hotline-resume"})
# What a Redirect makes the channel write before the target's first Newexten: app_queue's stop
# label (the durations) or the bridge's peer variables. The music it stops counts too.
REDIRECT_EFFECTS = frozenset(
    {
        "QUEUEWAIT",
        "QUEUEWAIT_MS",
        "DIALEDTIME",
        "DIALEDTIME_MS",
        "ANSWEREDTIME",
        "ANSWEREDTIME_MS",
        "BRIDGEPEER",
        "BRIDGEPVTCALLID",
    }
)
HOTLINE_SETVARS = frozenset({HOLD_AGENT_VARIABLE, HOLD_CALLER_VARIABLE})  # cti/hold.py
# A pause in the IVR longer than this is time it spent (played as a GET DATA that times out).
IVR_GAP_S = 0.05
WITHDRAWN = "Withdraw requested successfully"

Action = tuple[float, str, dict[str, str], str]  # moment, action, headers, ActionID ("": any)


def stamp(message: AmiMessage) -> float:
    return float(first(message, "Timestamp", "0") or 0)


@dataclass(slots=True)
class ProductionScenario:
    messages: list[AmiMessage]
    connect_at: float
    end_at: float
    logs_off: bool  # the socket ended with Logoff (else it was dropped)
    callers: list[tuple[float, CallerScript]] = field(default_factory=list)
    agents: dict[str, AgentScript] = field(default_factory=dict)
    registrations: list[tuple[float, str, bool]] = field(default_factory=list)
    members: dict[str, tuple[bool, str, int]] = field(default_factory=dict)  # paused, reason, calls
    agi: list[str] = field(default_factory=list)
    prompts: dict[str, float] = field(default_factory=dict)
    hotline_actions: list[Action] = field(default_factory=list)  # Hotline's socket
    own_actions: list[Action] = field(default_factory=list)  # the capture's socket
    waiting: list[str] = field(default_factory=list)  # queues of the callers there before
    first_uniqueid: int = 0
    first_channel: int = 0


def load_production(folder: Path, name: str) -> ProductionScenario:
    messages = parse_stream((folder / f"{name}.ami").read_bytes())
    stamps = [stamp(m) for m in messages if "Timestamp" in m]
    scenario = ProductionScenario(
        messages,
        connect_at=min(stamps) - 0.01,
        end_at=max(stamps) + 0.01,
        logs_off=messages[-1].get("Response") == "Goodbye",
    )
    by_channel: dict[str, list[AmiMessage]] = {}
    for message in messages:
        if "Uniqueid" in message and "Timestamp" in message:
            by_channel.setdefault(first(message, "Uniqueid"), []).append(message)
    created = {u: ms for u, ms in by_channel.items() if ms[0].get("Event") == "Newchannel"}
    _people(scenario, created)
    _phones(scenario)
    _ivr(scenario, created)
    _pauses_and_setvars(scenario)
    _redirects(scenario, by_channel)
    _withdraws(scenario, by_channel)
    _already_waiting(scenario, created)
    return scenario


def _people(scenario: ProductionScenario, created: dict[str, list[AmiMessage]]) -> None:
    for events in created.values():
        new = events[0]
        device = first(new, "Channel").rpartition("-")[0]
        arrival = stamp(new)
        hangup = next((stamp(m) for m in events if m.get("Event") == "HangupRequest"), None)
        if device == "PJSIP/trunk":
            caller = CallerScript(
                caller=first(new, "CallerIDNum"),
                caller_name=first(new, "CallerIDName"),
                dialed=first(new, "Exten"),
                digits="",
                hangup_after_s=None if hangup is None else hangup - arrival,
            )
            scenario.callers.append((arrival, caller))
            continue
        states = {
            first(m, "ChannelState"): stamp(m) for m in reversed(events) if m.get("Event") == "Newstate"
        }
        ringing, up = states.get("5"), states.get("6")
        extension = device.partition("/")[2]
        scenario.agents[extension] = AgentScript(
            extension,
            answer_after_s=None if ringing is None or up is None else up - ringing,
            hangup_after_s=None if hangup is None or up is None else hangup - up,
        )
    first_new = min((events[0] for events in created.values()), key=stamp)
    scenario.first_uniqueid = int(first(first_new, "Uniqueid").rpartition(".")[2])
    scenario.first_channel = int(first(first_new, "Channel").rpartition("-")[2], 16)


def _phones(scenario: ProductionScenario) -> None:
    """Agents' phones: their queue members' state before the capture, their registrations."""
    for message in scenario.messages:
        event = message.get("Event")
        if event in ("QueueMemberStatus", "QueueMemberPause"):
            interface = first(message, "Interface")
            extension = interface.partition("/")[2]
            scenario.agents.setdefault(extension, AgentScript(extension))
            if interface not in scenario.members:
                paused = first(message, "Paused") == "1"
                # A pause event shows the state after it: before, the member was the other way.
                before = paused if event == "QueueMemberStatus" else not paused
                reason = first(message, "PausedReason") if before and event == "QueueMemberStatus" else ""
                scenario.members[interface] = (before, reason, int(first(message, "CallsTaken") or 0))
        elif event == "ContactStatus" and first(message, "ContactStatus") == "NonQualified":
            scenario.registrations.append((stamp(message), first(message, "AOR"), True))
        elif event == "PeerStatus" and first(message, "PeerStatus") == "Unreachable":
            scenario.registrations.append((stamp(message), first(message, "Peer").partition("/")[2], False))
    for _, extension, registers in scenario.registrations:
        if registers:  # it registers during the capture: it was not registered before
            agent = scenario.agents.setdefault(extension, AgentScript(extension))
            scenario.agents[extension] = replace(agent, registered=False)


def _ivr(scenario: ProductionScenario, created: dict[str, list[AmiMessage]]) -> None:
    """The FastAGI script that leaves the captured IVR's marks: each variable at its moment, each
    prompt as long as it played, the channel's language where it changed; a prompt that ended
    FAILED was cut short by a digit, which the caller presses then. Every caller of a capture ran
    the same script."""
    for index, (arrival, caller) in enumerate(scenario.callers):
        events = next(e for e in created.values() if stamp(e[0]) == arrival)
        agi = [
            i
            for i, m in enumerate(events)
            if m.get("Event") == "Newexten" and first(m, "Application") == "AGI"
        ]
        if not agi:
            continue
        cursor, language = stamp(events[agi[0]]), first(events[agi[0]], "Language")
        commands: list[str] = []
        presses: list[tuple[float, str]] = []
        for message in events[agi[0] + 1 :]:
            if message.get("Event") != "VarSet":
                continue
            variable, value, at = first(message, "Variable"), first(message, "Value"), stamp(message)
            if first(message, "Language") != language:
                # CHANNEL(language) is a function: no VarSet, only the channel's Language.
                language = first(message, "Language")
                commands.append(f'SET VARIABLE CHANNEL(language) "{language}"')
            prompt = f"ivr-{len(scenario.prompts) + 1}"
            if variable == "PLAYBACKSTATUS" and value == "FAILED":
                scenario.prompts[prompt] = 3600.0
                commands.append(f'STREAM FILE {prompt} "0123456789*#"')
                presses.append((at - arrival, "1"))
            elif variable == "PLAYBACKSTATUS":
                scenario.prompts[prompt] = at - cursor
                commands.append(f'STREAM FILE {prompt} ""')
            else:
                if at - cursor > IVR_GAP_S:
                    scenario.prompts[prompt] = 0.0
                    commands.append(f"GET DATA {prompt} {round((at - cursor) * 1000)} 1")
                if variable == "AGISTATUS":
                    break
                commands.append(f'SET VARIABLE {variable} "{value}"')
            cursor = at
        scenario.agi = scenario.agi or commands
        scenario.callers[index] = (arrival, replace(caller, presses=tuple(presses)))


def _pauses_and_setvars(scenario: ProductionScenario) -> None:
    """Hotline's QueuePause (one for all of a member's queues) and its desk-hold Setvars."""
    pauses: dict[tuple[str, str, str], float] = {}
    for message in scenario.messages:
        event, at = message.get("Event"), stamp(message)
        if event == "QueueMemberPause":
            key = (first(message, "Interface"), first(message, "Paused"), first(message, "PausedReason"))
            if at - pauses.get(key, -1.0) > 1.0:
                fields = {"Interface": key[0], "Paused": "true" if key[1] == "1" else "false"}
                fields |= {"Reason": key[2]} if key[2] else {}
                scenario.hotline_actions.append((at - 0.0001, "QueuePause", fields, ""))
            pauses[key] = at
        elif event == "VarSet" and first(message, "Variable") in HOTLINE_SETVARS:
            fields = {k: first(message, k) for k in ("Channel", "Variable", "Value")}
            scenario.hotline_actions.append((at - 0.0001, "Setvar", fields, ""))


def _redirects(scenario: ProductionScenario, by_channel: dict[str, list[AmiMessage]]) -> None:
    moves: list[tuple[float, str, str, str]] = []
    for events in by_channel.values():
        context = ""
        for index, message in enumerate(events):
            if message.get("Event") != "Newexten":
                continue
            now = first(message, "Context")
            if now != context and now in REDIRECT_TARGETS and first(message, "Priority") == "1":
                moves.append(
                    (_redirect_moment(events, index), first(message, "Channel"), now, first(message, "Exten"))
                )
            context = now
    moves.sort()
    while moves:
        at, channel, context, exten = moves.pop(0)
        fields = {"Channel": channel, "Context": context, "Exten": exten, "Priority": "1"}
        # One Redirect with ExtraChannel moves both legs of a desk hold (cti/ami_switch.py).
        extra = next((m for m in moves if m[2] == "hotline-hold-agent" and m[0] - at < 0.01), None)
        if context == "hotline-hold" and extra is not None:
            moves.remove(extra)
            fields |= {"ExtraChannel": extra[1], "ExtraContext": extra[2], "ExtraExten": extra[3]}
            fields |= {"ExtraPriority": "1"}
        scenario.hotline_actions.append((at, "Redirect", fields, ""))
    scenario.hotline_actions.sort(key=lambda a: a[0])


def _redirect_moment(events: list[AmiMessage], index: int) -> float:
    """Just before the first thing the Redirect made the channel write (REDIRECT_EFFECTS, or the
    music on hold it stopped — not the stop of an announcement, right after its start)."""
    moment = stamp(events[index])
    for back in range(index - 1, -1, -1):
        message = events[back]
        event = message.get("Event")
        if event == "VarSet" and first(message, "Variable") in REDIRECT_EFFECTS:
            moment = stamp(message)
            continue
        if event == "MusicOnHoldStop":
            started = events[back - 1] if back else None
            announcing = (
                started is not None
                and started.get("Event") == "MusicOnHoldStart"
                and stamp(message) - stamp(started) < 0.01
            )
            if not announcing:
                moment = stamp(message)
                continue
        break
    return moment - 0.00005


def _withdraws(scenario: ProductionScenario, by_channel: dict[str, list[AmiMessage]]) -> None:
    """QueueWithdrawCaller where Queue() ended WITHDRAW. When the capture's own socket sent it
    (19), its response sits among the events: the action came just after the event before it."""
    answers = [i for i, m in enumerate(scenario.messages) if first(m, "Message") == WITHDRAWN]
    for events in by_channel.values():
        status = [
            i
            for i, m in enumerate(events)
            if first(m, "Variable") == "QUEUESTATUS" and first(m, "Value") == "WITHDRAW"
        ]
        if not status:
            continue
        before = events[: status[0]]
        left = next(m for m in reversed(before) if m.get("Event") == "QueueCallerLeave")
        fields = {"Queue": first(left, "Queue"), "Caller": first(left, "Channel")}
        info = [first(m, "Value") for m in before if first(m, "Variable") == "QUEUE_WITHDRAW_INFO"]
        fields |= {"WithdrawInfo": info[-1]} if info else {}
        if answers:
            index = answers.pop(0)
            earlier = max(stamp(m) for m in scenario.messages[:index] if "Timestamp" in m)
            action_id = first(scenario.messages[index], "ActionID")
            scenario.own_actions.append((earlier + 0.0005, "QueueWithdrawCaller", fields, action_id))
        else:
            # Hotline's socket: app_queue acts on it at its next look, up to a second later.
            stop = next(m for m in before if first(m, "Variable") == "QUEUEWAIT" and first(m, "Value"))
            scenario.hotline_actions.append((stamp(stop) - 0.5, "QueueWithdrawCaller", fields, ""))
    scenario.hotline_actions.sort(key=lambda a: a[0])


def _already_waiting(scenario: ProductionScenario, created: dict[str, list[AmiMessage]]) -> None:
    """Callers who waited in a queue before the capture began: a caller of the capture joined
    behind them (its Position counts them). They were created before it, with the ids before."""
    for events in created.values():
        for message in events:
            if message.get("Event") == "QueueCallerJoin":
                queue = first(message, "Queue")
                ahead = int(first(message, "Position")) - 1
                scenario.waiting += [queue] * (ahead - scenario.waiting.count(queue))
    scenario.first_uniqueid -= len(scenario.waiting)
    scenario.first_channel -= len(scenario.waiting)


def history(messages: Iterable[AmiMessage]) -> set[str]:
    """Channels a stream shows without their Newchannel: they were there before it began."""
    messages = list(messages)
    born = {first(m, "Uniqueid") for m in messages if m.get("Event") == "Newchannel"}
    return {first(m, "Uniqueid") for m in messages if "Uniqueid" in m and first(m, "Uniqueid") not in born}
