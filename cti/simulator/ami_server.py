"""The simulator's AMI listener: banner, login, one session per socket, events to every
logged-in session that asked for them, actions dispatched to ``actions.py``."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cti.simulator import wire

if TYPE_CHECKING:
    from cti.simulator.core import SwitchSimulator

log = logging.getLogger(__name__)

MAX_ACTION_BYTES = 64 * 1024
# A client that stops reading is disconnected once this much is waiting for it, rather than
# letting the switch's memory grow: what real Asterisk does with a stuck manager session too.
MAX_PENDING_BYTES = 16 * 1024 * 1024
IDLE_TIMEOUT_S = 3600.0
STOP_TIMEOUT_S = 2.0

Action = dict[str, str]


class ActionFormatError(ValueError):
    """A request block that is not ``Key: Value`` lines."""


def parse_action(block: bytes) -> Action:
    """One request block; a repeated header is joined with its earlier values (Variable: a=1)."""
    action: Action = {}
    for raw in block.decode("utf-8", "replace").split("\n"):
        line = raw.rstrip("\r")
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ActionFormatError(f"not a header line: {line[:80]!r}")
        key, value = key.strip(), value.strip()
        lowered = key.lower()
        if lowered in action:
            if lowered in ("variable", "chanvariable"):
                action[lowered] += "\n" + value
            continue
        action[lowered] = value
    return action


def tv(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


@dataclass(eq=False, slots=True)
class Session:
    writer: asyncio.StreamWriter
    session_id: str
    local: str
    remote: str
    connected_at: float
    logged_in: bool = False
    events: bool = True
    closed: bool = False
    username: str = ""
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        transport = self.writer.transport
        if transport.is_closing():
            self.closed = True
            return
        if transport.get_write_buffer_size() > MAX_PENDING_BYTES:
            log.warning("ami_client_too_slow", extra={"kv": {"session": self.session_id}})
            self.close()
            return
        self.writer.write(data)

    def respond(self, headers: wire.Headers) -> None:
        self.send(wire.encode(headers))

    def close(self) -> None:
        self.closed = True
        self.writer.close()


class AmiServer:
    def __init__(self, sim: SwitchSimulator) -> None:
        self.sim = sim
        self.sessions: list[Session] = []
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0
        self._readable: dict[bytes, bool] = {}
        sim.subscribe(self._broadcast)

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._serve, host, port, limit=MAX_ACTION_BYTES)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        self.sim.unsubscribe(self._broadcast)
        if self._server is not None:
            self._server.close()
        for session in list(self.sessions):
            session.close()
        # Closing the sockets ends each handler's read; cancelling a handler that start_server
        # created would be reported by asyncio as an error on Python 3.11.
        handlers = list(self._handlers)
        if handlers:
            _done, pending = await asyncio.wait(handlers, timeout=STOP_TIMEOUT_S)
            for task in pending:
                task.cancel()
        if self._server is not None:
            await self._server.wait_closed()

    def _broadcast(self, data: bytes) -> None:
        if not self._may_read(data):
            return
        for session in self.sessions:
            if session.logged_in and session.events:
                session.send(data)

    def _may_read(self, data: bytes) -> bool:
        """Whether the AMI user's read classes let it see this event (its Privilege line)."""
        privilege = data.split(b"\r\n", 2)[1]
        readable = self._readable.get(privilege)
        if readable is None:
            classes = set(privilege.partition(b": ")[2].decode().split(",")) - {"all"}
            allowed = self.sim.read_classes
            readable = "all" in allowed or bool(classes & allowed)
            self._readable[privilege] = readable
        return readable

    def security_event(
        self, event: str, session: Session, extra: wire.Headers, *, skip: Session | None = None
    ) -> None:
        now = self.sim.clock.time()
        headers = [
            ("Event", event),
            ("Privilege", "security,all"),
            ("Timestamp", f"{now:.6f}"),
            ("EventTV", tv(now)),
            *extra,
        ]
        data = wire.encode(headers)
        if not self._may_read(data):
            return
        for other in self.sessions:
            if other is not skip and other.logged_in and other.events:
                other.send(data)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        sock = writer.get_extra_info("sockname") or ("127.0.0.1", 0)
        session = Session(
            writer=writer,
            session_id=self.sim.numbering.session_id(),
            local=f"IPV4/TCP/{sock[0]}/{sock[1]}",
            remote=f"IPV4/TCP/{peer[0]}/{peer[1]}",
            connected_at=self.sim.clock.time(),
        )
        self.sessions.append(session)
        writer.write(wire.BANNER)
        from cti.simulator.actions import handle_action

        try:
            while not session.closed:
                try:
                    async with asyncio.timeout(IDLE_TIMEOUT_S):
                        block = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    break
                except asyncio.LimitOverrunError:
                    log.warning("ami_action_too_large", extra={"kv": {"session": session.session_id}})
                    break
                try:
                    action = parse_action(block)
                except ActionFormatError as exc:
                    session.respond([("Response", "Error"), ("Message", f"Malformed request: {exc}")])
                    continue
                if not action:
                    continue
                handle_action(self, session, action)
        except (ConnectionError, TimeoutError, OSError):
            pass
        finally:
            self.sessions.remove(session)
            for pending in list(session.tasks):
                pending.cancel()
            session.closed = True
            writer.close()
            self._handlers.discard(task)
