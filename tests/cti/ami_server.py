"""A loopback AMI server that plays Asterisk's part in tests, from the recorded transcripts.

It speaks the manager protocol the way Asterisk 22 does in tests/transcripts: the banner
``Asterisk Call Manager/11.0.0``, ``Login`` (accepted with ``FullyBooted``, or refused with
``Message: Authentication failed``), ``Ping``, ``Logoff``, and ``Response: Error`` with
Asterisk's message for an action it has no answer for. Every other answer is scripted::

    async with AmiServer() as server:
        server.answer("QueueStatus", answers_in(load_transcript(path), "queuestatus-207"))
        server.silence("Ping")                       # a stalled Asterisk
        ...connect a client to 127.0.0.1:server.port...
        action = await server.received("QueueStatus")  # the client's action, as a dict
        await server.push(*events)                    # inject events to every logged-in client
        await server.drop()                           # cut every connection, mid-stream if asked

Scripted answers are the messages Asterisk sent, with their ``ActionID`` replaced by the
client's, so a transcript's Response + list events + ``…Complete`` (or an async Originate's
``OriginateResponse``) replay as they were recorded. A scripted message without an ``ActionID``
header goes out as it is: an unsolicited event interleaved with the answer. ``once=True``
scripts answer one action each, in order (a refused first try, then success).
``AmiServer(secret=...)`` refuses the client's login as Asterisk does (transcript 08-badlogin);
``await server.logged_in(n)`` / ``await server.refused(n)`` wait for the n-th login;
``AmiServer(write_size=1)`` writes one byte at a time. ``link_config(server.port)`` gives an
``AmiLinkConfig`` with test-sized timeouts. The server closes its connections when it stops;
nothing outlives the ``async with``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from cti.ami_link import AmiLinkConfig
from cti.ami_protocol import AmiMessage, AmiParser

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
WAIT_S = 5.0  # how long ``received`` and ``logged_in`` wait before failing the test


def link_config(port: int, **overrides: object) -> AmiLinkConfig:
    """Settings for a link to this server: short timeouts and reconnect delays for tests."""
    settings: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "secret": "hotline-secret",
        "action_timeout_s": 2.0,
        "ping_interval_s": 30.0,
        "ping_timeout_s": 2.0,
        "connect_timeout_s": 2.0,
        "reconnect_initial_s": 0.01,
        "reconnect_max_s": 0.05,
    }
    settings.update(overrides)
    return AmiLinkConfig(**settings)  # type: ignore[arg-type]


def encode(message: Mapping[str, str | list[str]]) -> bytes:
    """The wire form of one message; a list value repeats its header."""
    lines: list[str] = []
    for key, value in message.items():
        for item in value if isinstance(value, list) else (value,):
            lines.append(f"{key}: {item}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def load_transcript(path: Path) -> list[AmiMessage]:
    """Every message of a recorded ``.ami`` stream, in order."""
    return AmiParser().feed(path.read_bytes())


def answers_in(messages: Iterable[AmiMessage], action_id: str) -> list[AmiMessage]:
    """The messages that answered one recorded action: its Response and the events carrying its
    ActionID (list items, ``…Complete``, ``OriginateResponse``)."""
    return [message for message in messages if message.get("ActionID") == action_id]


def events_in(messages: Iterable[AmiMessage]) -> list[AmiMessage]:
    """The unsolicited events of a recorded stream: what a client's event handler receives."""
    return [message for message in messages if "Event" in message and "ActionID" not in message]


def parse_action(block: bytes) -> AmiMessage:
    """One action as a client wrote it (AmiParser reads only what Asterisk sends: events and
    responses)."""
    action: AmiMessage = {}
    for line in block.decode("utf-8").split("\r\n"):
        key, _, value = line.partition(": ")
        previous = action.get(key)
        if previous is None:
            action[key] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            action[key] = [previous, value]
    return action


class _Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.logged_in = False


class AmiServer:
    """See the module docstring. ``write_size`` > 0 cuts every write into pieces that small,
    each flushed on its own, so a client sees messages split at arbitrary points."""

    def __init__(
        self, *, username: str = "hotline", secret: str = "hotline-secret", write_size: int = 0
    ) -> None:
        self.username = username
        self.secret = secret
        self.write_size = write_size
        self.host = "127.0.0.1"
        self.port = 0
        self.logins = 0  # accepted logins so far
        self.refused_logins = 0
        self.actions: list[AmiMessage] = []  # every action received, in order
        self._scripts: dict[str, deque[tuple[list[AmiMessage], bool]]] = defaultdict(deque)
        self._silenced: set[str] = set()
        self._clients: list[_Client] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._arrived = asyncio.Condition()

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> AmiServer:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        await self.drop()
        # The aborted connections end their handlers; cancelling them instead would make
        # asyncio's stream machinery log the cancellation as an error.
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=WAIT_S)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> AmiServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- scripting -------------------------------------------------------------------------

    def answer(self, action: str, messages: Sequence[AmiMessage], *, once: bool = False) -> None:
        """Answer ``action`` with ``messages`` (their ActionID becomes the client's). A ``once``
        script answers one action and is then used up; scripts are used in the order given, and
        a lasting one answers every action after the once-scripts before it are used up."""
        self._scripts[action].append((list(messages), once))

    def silence(self, action: str) -> None:
        """Never answer ``action`` (a stalled Asterisk, a lost answer)."""
        self._silenced.add(action)

    def unsilence(self, action: str) -> None:
        self._silenced.discard(action)

    # --- observing -------------------------------------------------------------------------

    async def received(self, action: str, *, count: int = 1) -> AmiMessage:
        """The ``count``-th ``action`` received (waiting for it); fails after a few seconds."""
        async with asyncio.timeout(WAIT_S), self._arrived:
            await self._arrived.wait_for(lambda: len(self.received_so_far(action)) >= count)
        return self.received_so_far(action)[count - 1]

    def received_so_far(self, action: str) -> list[AmiMessage]:
        return [message for message in self.actions if message.get("Action") == action]

    async def logged_in(self, count: int = 1) -> None:
        """Wait until ``count`` logins have been accepted in all."""
        async with asyncio.timeout(WAIT_S), self._arrived:
            await self._arrived.wait_for(lambda: self.logins >= count)

    async def refused(self, count: int = 1) -> None:
        """Wait until ``count`` logins have been refused in all."""
        async with asyncio.timeout(WAIT_S), self._arrived:
            await self._arrived.wait_for(lambda: self.refused_logins >= count)

    # --- acting ----------------------------------------------------------------------------

    async def push(self, *messages: AmiMessage) -> None:
        """Send events to every logged-in client."""
        await self.push_bytes(b"".join(encode(message) for message in messages))

    async def push_bytes(self, data: bytes) -> None:
        for client in self._clients:
            if client.logged_in:
                await self._write(client, data)

    async def drop(self) -> None:
        """Cut every connection at once (no Goodbye), like a crashed Asterisk or a lost network."""
        for client in self._clients:
            client.writer.transport.abort()
        self._clients.clear()

    # --- the protocol ----------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        client = _Client(reader, writer)
        self._clients.append(client)
        buffer = b""
        try:
            await self._write(client, BANNER)
            while data := await reader.read(65536):
                *blocks, buffer = (buffer + data).split(b"\r\n\r\n")
                for block in blocks:
                    await self._on_action(client, parse_action(block))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._handlers.discard(task)
            if client in self._clients:
                self._clients.remove(client)
            writer.transport.abort()

    async def _on_action(self, client: _Client, action: AmiMessage) -> None:
        name = str(action.get("Action", ""))
        action_id = str(action.get("ActionID", ""))
        async with self._arrived:
            self.actions.append(action)
            self._arrived.notify_all()
        if name in self._silenced:
            return
        if name == "Login":
            await self._login(client, action, action_id)
            return
        script = self._scripts.get(name)
        if script:
            messages, once = script[0]
            if once:
                script.popleft()
        elif name == "Ping":
            messages = [
                {"Response": "Success", "ActionID": "", "Ping": "Pong", "Timestamp": "1795415647.554859"}
            ]
        elif name == "Logoff":
            messages = [{"Response": "Goodbye", "ActionID": "", "Message": "Thanks for all the fish."}]
        else:
            message = f"Invalid/unknown command: {name}. Use Action: ListCommands to show available commands."
            messages = [{"Response": "Error", "ActionID": "", "Message": message}]
        answer = [
            {**message, "ActionID": action_id} if "ActionID" in message else message for message in messages
        ]
        await self._write(client, b"".join(encode(message) for message in answer))
        if name == "Logoff":
            client.writer.transport.close()

    async def _login(self, client: _Client, action: AmiMessage, action_id: str) -> None:
        if action.get("Username") != self.username or action.get("Secret") != self.secret:
            self.refused_logins += 1
            refusal = {"Response": "Error", "ActionID": action_id, "Message": "Authentication failed"}
            await self._write(client, encode(refusal))
            async with self._arrived:
                self._arrived.notify_all()
            return
        accepted = {"Response": "Success", "ActionID": action_id, "Message": "Authentication accepted"}
        booted = {"Event": "FullyBooted", "Privilege": "system,all", "Status": "Fully Booted"}
        await self._write(client, encode(accepted) + encode(booted))
        client.logged_in = True
        async with self._arrived:
            self.logins += 1
            self._arrived.notify_all()

    async def _write(self, client: _Client, data: bytes) -> None:
        if client.writer.transport.is_closing():
            return
        size = self.write_size or len(data)
        for start in range(0, len(data), size):
            client.writer.write(data[start : start + size])
            await client.writer.drain()
