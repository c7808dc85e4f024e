"""panoramisk's FastAGI application, fixed: the AGI conversation with deadlines and strict parsing.

Fixes over ``panoramisk.fast_agi`` (docs/ivr-fastagi.md says why each matters):

- ``add_route`` of a plain function: panoramisk wraps it with ``asyncio.coroutine``, removed in
  Python 3.11, so it raises AttributeError.
- the environment: panoramisk reads 100-byte chunks until it sees an empty line; on a socket
  closed early ``read()`` returns b"" forever (a busy loop), there is no deadline, and bytes
  after the empty line are kept in the header buffer and lost to the first reply.
- replies: there is no deadline (a stalled Asterisk holds the session forever); ``HANGUP`` sent
  after ``200 result=-1`` is left unread and becomes the reply to the next command; EOF is parsed
  as a reply (``int('')`` raises ValueError); only one line of a ``520-`` usage block is read, so
  every later reply is off by some lines.
- errors: panoramisk catches ``BaseException`` around a route, which swallows the cancellation
  of a session when the server stops.

Deadlines use one sweeper per application rather than ``asyncio.timeout()`` per command: each
session writes its deadline (a float) before it waits, and the sweeper cancels the late ones.
The per-command timer handle, context manager and reschedule cost a quarter of the server's
CPU per call in bench/fastagi.py; a deadline fires up to one sweep (≤ 0.5 s) late.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from panoramisk import fast_agi

from ivr.agi import (
    MAX_ENVIRONMENT_LINES,
    AgiEnvironment,
    AgiReply,
    ReplyKind,
    command_line,
    parse_environment_block,
    parse_reply,
)
from ivr.errors import AgiCommandRejected, AgiError, AgiHangup, AgiProtocolError, AgiTimeout

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_USAGE_LINES = 100
WRITE_BUFFER_LIMIT = 64 * 1024
MAX_SWEEP_S = 0.5


class SessionWatch:
    """A session's deadline, checked by the application's sweeper."""

    __slots__ = ("deadline", "expired", "task")

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.deadline = 0.0  # loop time; 0: not waiting on Asterisk
        self.expired = False

    def arm(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        self.deadline = loop.time() + seconds

    def disarm(self) -> bool:
        """Stop the clock; True when the deadline had already passed (the task was cancelled)."""
        self.deadline = 0.0
        if self.expired:
            self.expired = False
            self.task.uncancel()
            return True
        return False


class AgiRequest(fast_agi.Request):
    """panoramisk's Request with deadlines and a strict reply parser."""

    def __init__(
        self,
        app: FastAgiApplication,
        environment: AgiEnvironment,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        watch: SessionWatch,
    ) -> None:
        super().__init__(app, environment.variables, reader, writer, encoding="utf-8")
        self.environment = environment
        self.command_timeout_s = app.command_timeout_s
        self.watch = watch
        self._now = app.loop.time
        self._transport = writer.transport

    async def send_command(self, command: str) -> AgiReply:  # type: ignore[override]
        return await self.execute(command_line(command))

    async def execute(self, line: bytes, *, patience_s: float = 0.0) -> AgiReply:
        """Send one command line and return its reply; raise ``AgiError`` when there is none."""
        limit = self.command_timeout_s + patience_s
        watch = self.watch
        watch.deadline = self._now() + limit
        self._transport.write(line)
        try:
            # A command is a few dozen bytes: the buffer only fills when Asterisk stops reading.
            if self._transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
                await self.writer.drain()
            while True:
                # The reply is read here rather than in _read_line: one coroutine less per command.
                raw = await self.reader.readuntil(b"\n")
                reply = parse_reply(raw.decode("utf-8", "replace").rstrip("\r\n"))
                if reply.kind is ReplyKind.RESULT:
                    return reply
                if reply.kind is not ReplyKind.TRYING:
                    await self._refuse(reply, line)
        except asyncio.IncompleteReadError:
            raise AgiHangup("Asterisk closed the connection") from None
        except asyncio.LimitOverrunError as exc:
            raise AgiProtocolError(f"line too long: {exc}") from None
        except asyncio.CancelledError:
            if watch.disarm():
                raise AgiTimeout(_verb(line), limit) from None
            raise
        except ConnectionError as exc:
            raise AgiHangup(f"connection lost: {exc}") from None
        finally:
            watch.deadline = 0.0

    async def wait_for(self, awaitable: Awaitable[T], seconds: float) -> T:
        """Await something other than Asterisk (a CRM lookup) under the session's deadline;
        ``TimeoutError`` when it takes longer than ``seconds``."""
        watch = self.watch
        watch.deadline = self._now() + seconds
        try:
            return await awaitable
        except asyncio.CancelledError:
            if watch.disarm():
                raise TimeoutError from None
            raise
        finally:
            watch.deadline = 0.0

    async def _refuse(self, reply: AgiReply, line: bytes) -> None:
        if reply.kind in (ReplyKind.HANGUP, ReplyKind.DEAD_CHANNEL):
            raise AgiHangup(reply.text)
        detail = [reply.text]
        if reply.continues:
            for _ in range(MAX_USAGE_LINES):
                text = await _read_line(self.reader)
                detail.append(text)
                if text.startswith("520 "):
                    break
            else:
                raise AgiProtocolError("520 usage block without its end line", detail[-1])
        raise AgiCommandRejected(line.decode("utf-8", "replace").strip(), reply.code, " / ".join(detail))


async def _read_line(reader: asyncio.StreamReader) -> str:
    try:
        raw = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError:
        raise AgiHangup("Asterisk closed the connection") from None
    except asyncio.LimitOverrunError as exc:
        raise AgiProtocolError(f"line too long: {exc}") from None
    return raw.decode("utf-8", "replace").rstrip("\r\n")


def _verb(line: bytes) -> str:
    return " ".join(line.decode("utf-8", "replace").split()[:2])


class FastAgiApplication(fast_agi.Application):
    """panoramisk's FastAGI application, fixed for Python 3.11+ and for a hostile network."""

    def __init__(self, *, command_timeout_s: float, max_sessions: int = 1000) -> None:
        super().__init__(default_encoding="utf-8", loop=asyncio.get_running_loop())
        self.command_timeout_s = command_timeout_s
        self.max_sessions = max_sessions
        self.sessions: dict[asyncio.Task[Any], SessionWatch] = {}
        self._sweep_s = min(MAX_SWEEP_S, command_timeout_s / 4)
        self._sweeper: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(), name="agi-deadlines")

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_s)
            now = self.loop.time()
            for watch in self.sessions.values():
                if watch.deadline and now > watch.deadline and not watch.expired:
                    watch.expired = True
                    watch.task.cancel()

    def add_route(self, path: str, endpoint: Callable[[AgiRequest], Any]) -> None:
        # panoramisk wraps plain functions with asyncio.coroutine, which Python 3.11 removed.
        assert callable(endpoint), endpoint
        if path in self._route:
            raise ValueError(f"a FastAGI route {path!r} already exists")
        if not inspect.iscoroutinefunction(endpoint):
            function = endpoint

            async def endpoint(request: AgiRequest) -> None:
                function(request)

        self._route[path] = endpoint

    async def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        watch = self.sessions[task] = SessionWatch(task)
        try:
            if len(self.sessions) > self.max_sessions:
                # Closing at once makes AGI() fail; the dialplan then queues the call itself.
                log.warning("agi_session_refused", extra={"kv": {"sessions": len(self.sessions)}})
                return
            environment = await self.read_environment(reader, watch)
            route = self._route.get(environment.script)
            if route is None:
                log.error("agi_unknown_route", extra={"kv": {"script": environment.script}})
                return
            await route(AgiRequest(self, environment, reader, writer, watch))
        except AgiError as exc:
            log.warning("agi_session_ended", extra={"kv": {"reason": str(exc)}})
        except Exception:
            log.exception("agi_session_failed")
        finally:
            del self.sessions[task]
            # close() sends what is buffered, then closes; waiting for it would only delay the
            # next call (and, before Python 3.12, cost a task per call in wait_for).
            writer.close()

    async def read_environment(self, reader: asyncio.StreamReader, watch: SessionWatch) -> AgiEnvironment:
        """The ``agi_*`` lines up to the empty line, and not one byte more."""
        watch.arm(self.loop, self.command_timeout_s)
        try:
            block = await reader.readuntil(b"\n\n")
        except asyncio.CancelledError:
            if watch.disarm():
                raise AgiTimeout("the AGI environment", self.command_timeout_s) from None
            raise
        except asyncio.IncompleteReadError:
            raise AgiHangup("Asterisk closed the connection before the end of the environment") from None
        except asyncio.LimitOverrunError:
            raise AgiProtocolError("AGI environment larger than the reader's limit") from None
        finally:
            watch.deadline = 0.0
        text = block.decode("utf-8", "replace").replace("\r", "")
        if text.count("\n") > MAX_ENVIRONMENT_LINES:
            raise AgiProtocolError(f"AGI environment longer than {MAX_ENVIRONMENT_LINES} lines")
        return parse_environment_block(text)
