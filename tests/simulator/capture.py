"""Turn a capture folder into the same scenario for the simulator, and run it.

What SIPp did (when callers arrived, pressed a digit, hung up; how long agents' phones rang,
when they held) is read from the capture's own event stream; what the AMI client sent comes from
``NN.actions``; what the FastAGI server answered comes from ``NN.agi``.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path

from cti.ami_protocol import AmiMessage, AmiParser, first
from cti.simulator import AgentScript, CallerScript, Dialplan, SwitchSimulator, VirtualClock
from cti.simulator.conformance import parse_stream

AGENT_EXTENSIONS = ("1001", "1002", "1003", "1004", "2001")


@dataclass(frozen=True, slots=True)
class TimedAction:
    at: float  # seconds since the socket connected
    text: str
    action_id: str
    name: str


def read_actions(path: Path) -> list[TimedAction]:
    actions = []
    for chunk in re.split(r"^# t=", path.read_text(), flags=re.M)[1:]:
        stamp, _, body = chunk.partition("\n")
        lines = [line for line in body.strip("\n").split("\n") if line]
        headers = [line.partition(": ") for line in lines]
        action_id = next((v for k, _, v in headers if k == "ActionID"), "")
        name = next((v for k, _, v in headers if k == "Action"), "")
        actions.append(TimedAction(float(stamp), "\r\n".join(lines) + "\r\n\r\n", action_id, name))
    return actions


def read_agi_commands(path: Path) -> list[str]:
    """The IVR script the FastAGI server ran: its commands in order. Every connection of a capture
    ran the same script, and concurrent connections interleave in the file, so each command is
    taken once, in the order it first appears."""
    commands: list[str] = []
    for line in path.read_text().splitlines():
        body = line[9:] if len(line) > 9 else ""
        if body.startswith(">> ") and body[3:] not in commands:
            commands.append(body[3:])
    return commands


def stamp(message: AmiMessage) -> float:
    return float(first(message, "Timestamp", "0") or 0)


@dataclass(slots=True)
class SessionSpec:
    """One AMI socket of the capture: what it received, what it sent, when it opened and closed."""

    name: str
    messages: list[AmiMessage]
    actions: list[TimedAction]
    connected_at: float = 0.0
    drop_at: float | None = None


@dataclass(slots=True)
class Scenario:
    folder: Path
    name: str
    messages: list[AmiMessage]
    actions: list[TimedAction]
    connected_at: float
    callers: list[tuple[float, CallerScript]] = field(default_factory=list)
    agents: dict[str, AgentScript] = field(default_factory=dict)
    agi: list[str] = field(default_factory=list)
    first_uniqueid: int = 0
    first_channel: int = 0
    history: dict[str, str] = field(default_factory=dict)
    sessions: list[SessionSpec] = field(default_factory=list)


def _session(folder: Path, name: str) -> SessionSpec:
    return SessionSpec(
        name, parse_stream((folder / f"{name}.ami").read_bytes()), read_actions(folder / f"{name}.actions")
    )


def _timeline(sessions: list[SessionSpec]) -> None:
    """When each socket opened (its SuccessfulAuth, or the InvalidPassword another socket saw,
    minus the moment it logged in) and, without a Logoff, when it was dropped."""
    invalid = [m for s in sessions for m in s.messages if m.get("Event") == "InvalidPassword"]
    for session in sessions:
        login_at = session.actions[0].at
        auth = next((m for m in session.messages if m.get("Event") == "SuccessfulAuth"), None)
        if auth is not None:
            session.connected_at = stamp(auth) - login_at
        elif invalid:
            session.connected_at = stamp(invalid.pop(0)) - login_at
        else:
            session.connected_at = stamp(next(m for m in session.messages if "Timestamp" in m)) - login_at
        if auth is not None and not any(a.name == "Logoff" for a in session.actions):
            session.drop_at = max(stamp(m) for m in session.messages if "Timestamp" in m)


def load(folder: Path, name: str, *others: str) -> Scenario:
    sessions = [_session(folder, n) for n in (name, *others)]
    _timeline(sessions)
    main = sessions[0]
    scenario = Scenario(folder, name, main.messages, main.actions, main.connected_at, sessions=sessions)
    agi_path = folder / f"{name}.agi"
    if agi_path.exists():
        scenario.agi = read_agi_commands(agi_path)
    _derive_people(scenario)
    return scenario


def _derive_people(scenario: Scenario) -> None:
    channels: dict[str, dict[str, float | str]] = {}
    first_new = None
    everything = sorted((m for s in scenario.sessions for m in s.messages if "Timestamp" in m), key=stamp)
    for message in everything:
        event = message.get("Event")
        name = first(message, "Channel")
        at = stamp(message)
        if event == "Newchannel":
            channels[name] = {
                "created": at,
                "num": first(message, "CallerIDNum"),
                "name": first(message, "CallerIDName"),
            }
            if first_new is None:
                first_new = message
        info = channels.get(name)
        if info is None:
            continue
        if event == "DTMFEnd":
            info.setdefault("digit", first(message, "Digit"))
            info.setdefault("digit_at", at)
        elif event == "HangupRequest":
            info.setdefault("hangup_at", at)
        elif event == "Newstate" and first(message, "ChannelState") == "5":
            info.setdefault("ringing_at", at)
        elif event == "Newstate" and first(message, "ChannelState") == "6":
            info.setdefault("up_at", at)
        elif event == "Hold":
            info.setdefault("hold_at", at)
        elif event == "Unhold":
            info.setdefault("unhold_at", at)
    if first_new is not None:
        uniqueid = first(first_new, "Uniqueid")
        scenario.first_uniqueid = int(uniqueid.rpartition(".")[2])
        scenario.first_channel = int(first(first_new, "Channel").rpartition("-")[2], 16)
    agents: dict[str, AgentScript] = {}
    for name, info in channels.items():
        device = name.rpartition("-")[0]
        created = float(info["created"])
        if device == "PJSIP/trunk":
            digit_at = info.get("digit_at")
            hangup_at = info.get("hangup_at")
            script = CallerScript(
                caller=str(info["num"]),
                caller_name=str(info["name"]),
                digits=str(info.get("digit", "")),
                digits_after_s=float(digit_at) - created if digit_at is not None else 0.0,
                hangup_after_s=float(hangup_at) - created if hangup_at is not None else None,
            )
            scenario.callers.append((created, script))
        elif device.startswith("PJSIP/") and device[6:] in AGENT_EXTENSIONS and "ringing_at" in info:
            extension = device[6:]
            up = info.get("up_at")
            ringing = float(info["ringing_at"])
            answer = float(up) - ringing if up is not None else None
            hold_at, unhold_at, hangup_at = info.get("hold_at"), info.get("unhold_at"), info.get("hangup_at")
            agents.setdefault(
                extension,
                AgentScript(
                    extension,
                    answer_after_s=answer,
                    hold_after_s=float(hold_at) - float(up)
                    if hold_at is not None and up is not None
                    else None,
                    hold_for_s=float(unhold_at) - float(hold_at) if unhold_at and hold_at else 2.0,
                    hangup_after_s=float(hangup_at) - float(up)
                    if hangup_at is not None and up is not None
                    else None,
                ),
            )
    for extension in AGENT_EXTENSIONS:
        agents.setdefault(extension, AgentScript(extension))
    agents["1099"] = AgentScript("1099", reachable=False)
    scenario.agents = agents


class ScriptedAgiServer:
    """A FastAGI server that sends the captured commands, in order, on each connection."""

    def __init__(self, commands: list[str]) -> None:
        self.commands = list(commands)
        self.replies: list[list[str]] = []
        self.environments: list[dict[str, str]] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        commands = self.commands
        env: dict[str, str] = {}
        replies: list[str] = []
        self.environments.append(env)
        self.replies.append(replies)
        try:
            async with asyncio.timeout(10):
                while line := (await reader.readline()).decode().rstrip("\n"):
                    key, _, value = line.partition(": ")
                    env[key] = value
                for command in commands:
                    writer.write(f"{command}\n".encode())
                    reply = (await reader.readline()).decode().rstrip("\n")
                    replies.append(reply)
                    if "result=-1" in reply:
                        replies.append((await reader.readline()).decode().rstrip("\n"))
                        break
        finally:
            writer.close()


class CaptureClient:
    """An AMI socket that records every byte the simulator sends it."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.raw = bytearray()
        self.parser = AmiParser()
        self.messages: list[AmiMessage] = []
        self._waiters: dict[str, asyncio.Future[None]] = {}
        self._reader_task: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()
        self.banner = asyncio.Event()

    async def connect(self, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self._reader_task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while data := await self.reader.read(65536):
                self.raw += data
                messages = self.parser.feed(data)
                if self.parser.banner:
                    self.banner.set()
                for message in messages:
                    self.messages.append(message)
                    waiter = (
                        self._waiters.pop(first(message, "ActionID"), None) if "Response" in message else None
                    )
                    if waiter is not None and not waiter.done():
                        waiter.set_result(None)
        finally:
            self.closed.set()
            for waiter in self._waiters.values():
                if not waiter.done():
                    waiter.set_result(None)

    async def send(self, action: TimedAction, *, holds_time: bool = True) -> None:
        """Send and wait for the response; virtual time stands still meanwhile unless the answer
        itself needs time to pass (a synchronous Originate waits for the phone)."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters[action.action_id] = waiter
        if not holds_time:
            self.writer.write(action.text.encode())
            await waiter
            return
        with self.clock.busy():
            self.writer.write(action.text.encode())
            async with asyncio.timeout(5):
                await waiter

    async def close(self) -> None:
        self.writer.close()
        if self._reader_task is not None:
            await asyncio.wait_for(self._reader_task, 5)


async def play_session(clock: VirtualClock, port: int, session: SessionSpec) -> CaptureClient:
    """Connect when the captured socket did, send its actions at their times; close after Logoff
    (or the server's close), or drop the socket when the captured one was dropped."""
    connect_at, drop_at = session.connected_at, session.drop_at
    await clock.sleep_until(connect_at)
    client = CaptureClient(clock)
    with clock.busy():
        await client.connect(port)
        async with asyncio.timeout(5):
            await client.banner.wait()
    for action in session.actions:
        await clock.sleep_until(connect_at + action.at)
        if client.closed.is_set():
            break
        await client.send(action)
    if drop_at is not None:
        await clock.sleep_until(drop_at)
    with clock.busy():
        if drop_at is None:
            async with asyncio.timeout(5):
                await client.closed.wait()
        await client.close()
    return client


def make_simulator(clock: VirtualClock, scenario: Scenario, agi_port: int) -> SwitchSimulator:
    return SwitchSimulator(
        clock=clock,
        agents=scenario.agents.values(),
        agi_url=f"agi://127.0.0.1:{agi_port}/ivr",
        first_uniqueid=scenario.first_uniqueid,
        first_channel=scenario.first_channel,
        devices={**known_devices(scenario), **scenario.history},
        queue_options=queue_options(scenario),
        dialplan=Dialplan.CAPTURES,
    )


def queue_options(scenario: Scenario) -> str:
    """The Queue() options of the dialplan the capture ran with (``tT``, or ``t`` in older runs)."""
    for message in scenario.messages:
        if message.get("Event") == "Newexten" and first(message, "Application") == "Queue":
            return first(message, "AppData").split(",")[1]
    return "tT"


def known_devices(scenario: Scenario) -> dict[str, str]:
    """Device states the captured server already had from earlier runs: a queue member's pause
    device is only announced the first time Asterisk creates it."""
    announced = {first(m, "Device") for m in scenario.messages if m.get("Event") == "DeviceStateChange"}
    known = {}
    for message in scenario.messages:
        if message.get("Event") == "QueueMemberAdded":
            device = f"Queue:{first(message, 'Queue')}_pause_{first(message, 'Interface')}"
            if device not in announced:
                known[device] = "INUSE" if first(message, "Paused") == "1" else "NOT_INUSE"
    return known


async def place_callers(sim: SwitchSimulator, clock: VirtualClock, scenario: Scenario) -> None:
    for arrival, script in scenario.callers:
        await clock.sleep_until(arrival)
        sim.place_call(script)


async def unused_port() -> int:
    """A loopback port with nobody listening (FastAGI down, as in capture 14)."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return port
