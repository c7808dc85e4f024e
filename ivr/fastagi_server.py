"""The FastAGI server: Asterisk's ``agi://HOST:4573/ivr`` runs the menu for the dialed number.

This is the thin shell around the menu engine: it reads the AGI environment, performs each step
the engine returns (an AGI command, a CRM lookup), feeds the reply back, and when the call leaves
the IVR publishes ``IvrCompleted`` (and ``CallbackRequested``) on the bus.

It is built on panoramisk's ``fast_agi.Application`` with the fixes described in
docs/ivr-fastagi.md: routes that are plain functions work on Python 3.11+, the environment is
read line by line with a deadline (no busy loop on a closed socket, nothing read past the empty
line), every reply has a deadline, ``HANGUP`` / 511 / EOF end the session as a hang-up, usage
errors are read to their end, and a cancelled session is not swallowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from panoramisk import fast_agi

from cti.bus import EventBus
from hotline.settings import Settings
from ivr.agi import (
    MAX_ENVIRONMENT_LINES,
    AgiEnvironment,
    AgiReply,
    ReplyKind,
    command_line,
    parse_environment_line,
    parse_reply,
)
from ivr.crm_port import CustomerLookup, LookupSource
from ivr.errors import (
    AgiCommandRejected,
    AgiError,
    AgiHangup,
    AgiProtocolError,
    AgiTimeout,
    LookupUnavailable,
)
from ivr.events import CallbackRequested, IvrCompleted, IvrOutcome
from ivr.menu import MenuRun
from ivr.prompts import PromptPaths
from ivr.registry import MenuRegistry
from ivr.steps import FindCaller, Finished, HangupChannel, LookupAnswer, LookupStatus, SetVariable

log = logging.getLogger(__name__)

ROUTE = "ivr"
MAX_USAGE_LINES = 100
_HUNG_UP = AgiReply(ReplyKind.RESULT, 200, "1")


class AgiRequest(fast_agi.Request):
    """panoramisk's Request with deadlines and a strict reply parser."""

    def __init__(
        self,
        app: FastAgiApplication,
        environment: AgiEnvironment,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        super().__init__(app, dict(environment.variables), reader, writer, encoding="utf-8")
        self.environment = environment
        self.command_timeout_s = app.command_timeout_s

    async def send_command(self, command: str) -> AgiReply:  # type: ignore[override]
        return await self.execute(command_line(command))

    async def execute(self, line: bytes, *, patience_s: float = 0.0) -> AgiReply:
        """Send one command line and return its reply; raise ``AgiError`` when there is none."""
        limit = self.command_timeout_s + patience_s
        self.writer.write(line)
        try:
            async with asyncio.timeout(limit):
                await self.writer.drain()
                while True:
                    reply = parse_reply(await _read_line(self.reader))
                    if reply.kind is ReplyKind.RESULT:
                        return reply
                    if reply.kind is not ReplyKind.TRYING:
                        await self._refuse(reply, line)
        except TimeoutError:
            raise AgiTimeout(_verb(line), limit) from None
        except ConnectionError as exc:
            raise AgiHangup(f"connection lost: {exc}") from None

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
        raw = await reader.readline()
    except ValueError as exc:  # a line longer than the reader's limit
        raise AgiProtocolError(f"line too long: {exc}") from None
    if not raw.endswith(b"\n"):
        raise AgiHangup("Asterisk closed the connection")
    return raw.decode("utf-8", "replace").rstrip("\r\n")


def _verb(line: bytes) -> str:
    return " ".join(line.decode("utf-8", "replace").split()[:2])


Endpoint = Callable[[AgiRequest], Awaitable[None]]


class FastAgiApplication(fast_agi.Application):
    """panoramisk's FastAGI application, fixed for Python 3.11+ and for a hostile network."""

    def __init__(self, *, command_timeout_s: float, max_sessions: int = 1000) -> None:
        super().__init__(default_encoding="utf-8", loop=asyncio.get_running_loop())
        self.command_timeout_s = command_timeout_s
        self.max_sessions = max_sessions
        self.sessions: set[asyncio.Task[Any]] = set()

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
        self.sessions.add(task)
        try:
            if len(self.sessions) > self.max_sessions:
                # Closing at once makes AGI() fail; the dialplan then queues the call itself.
                log.warning("agi_session_refused", extra={"kv": {"sessions": len(self.sessions)}})
                return
            environment = await self.read_environment(reader)
            route = self._route.get(environment.script)
            if route is None:
                log.error("agi_unknown_route", extra={"kv": {"script": environment.script}})
                return
            await route(AgiRequest(self, environment, reader, writer))
        except AgiError as exc:
            log.warning("agi_session_ended", extra={"kv": {"reason": str(exc)}})
        except Exception:
            log.exception("agi_session_failed")
        finally:
            self.sessions.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def read_environment(self, reader: asyncio.StreamReader) -> AgiEnvironment:
        """The ``agi_*`` lines up to the empty line, and not one byte more."""
        variables: dict[str, str] = {}
        try:
            async with asyncio.timeout(self.command_timeout_s):
                for _ in range(MAX_ENVIRONMENT_LINES):
                    line = await _read_line(reader)
                    if not line:
                        return AgiEnvironment(variables)
                    name, value = parse_environment_line(line)
                    variables[name] = value
        except TimeoutError:
            raise AgiTimeout("the AGI environment", self.command_timeout_s) from None
        raise AgiProtocolError(f"AGI environment longer than {MAX_ENVIRONMENT_LINES} lines")


class IvrServer:
    """Runs the menus for Asterisk; owns its listening socket and its sessions."""

    def __init__(
        self,
        *,
        registry: MenuRegistry,
        bus: EventBus,
        customers: CustomerLookup,
        prompts: PromptPaths,
        messages_dir: str,
        timezone: str = "Asia/Shanghai",
        command_timeout_s: float = 30.0,
        lookup_timeout_s: float = 2.0,
        default_queue: str = "support",
        host: str = "127.0.0.1",
        port: int = 4573,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.registry = registry
        self.bus = bus
        self.customers = customers
        self.prompts = prompts
        self.messages_dir = messages_dir
        self.command_timeout_s = command_timeout_s
        self.lookup_timeout_s = lookup_timeout_s
        self.default_queue = default_queue
        self.host = host
        self.requested_port = port
        zone = ZoneInfo(timezone)
        self.clock = clock or (lambda: datetime.now(zone))
        self._app: FastAgiApplication | None = None
        self._server: asyncio.Server | None = None
        self._warned_years: set[int] = set()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, registry: MenuRegistry, bus: EventBus, customers: CustomerLookup
    ) -> IvrServer:
        return cls(
            registry=registry,
            bus=bus,
            customers=customers,
            prompts=PromptPaths(str(Path(settings.agi.prompts_dir).resolve())),
            messages_dir=str((Path(settings.data_dir) / "messages").resolve()),
            timezone=settings.timezone,
            command_timeout_s=settings.agi.command_timeout_s,
            host=settings.agi.host,
            port=settings.agi.port,
        )

    @property
    def port(self) -> int:
        assert self._server is not None, "the FastAGI server is not started"
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        self._app = FastAgiApplication(command_timeout_s=self.command_timeout_s)
        self._app.add_route(ROUTE, self.run_session)
        self._server = await asyncio.start_server(self._app.handler, self.host, self.requested_port)
        log.info("agi_listening", extra={"kv": {"host": self.host, "port": self.port}})

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop accepting, let calls in the IVR finish for ``grace_s``, then cut the rest short
        (their channels go on in the dialplan with HOTLINE_QUEUE already set)."""
        if self._server is None or self._app is None:
            return
        self._server.close()
        await self._server.wait_closed()
        sessions = set(self._app.sessions)
        if sessions:
            _, pending = await asyncio.wait(sessions, timeout=grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._server = None

    async def run_session(self, request: AgiRequest) -> None:
        environment = request.environment
        menu = self.registry.get(environment.dialed)
        if menu is None:
            log.warning("ivr_no_menu", extra={"kv": {"dialed": environment.dialed}})
            await request.execute(SetVariable("HOTLINE_QUEUE", self.default_queue).line())
            self._publish_no_menu(environment)
            return
        run = MenuRun(
            menu,
            caller=environment.caller,
            uniqueid=environment.uniqueid,
            now=self.clock(),
            calendar=self.registry.calendar(menu.number),
            prompts=self.prompts,
            messages_dir=self.messages_dir,
        )
        try:
            step = run.start()
            while not isinstance(step, Finished):
                step = run.send(await self._perform(request, step))
        except AgiHangup:
            run.stop(IvrOutcome.CALLER_HUNG_UP)
        except AgiTimeout as exc:
            run.stop(IvrOutcome.STALLED)
            log.warning("ivr_stalled", extra={"kv": {"call_id": run.call_id, "reason": str(exc)}})
        except AgiError as exc:
            run.stop(IvrOutcome.FAILED)
            log.warning("ivr_agi_error", extra={"kv": {"call_id": run.call_id, "reason": str(exc)}})
        except Exception:
            # The caller is not stranded: HOTLINE_QUEUE was set to the fallback queue first.
            run.stop(IvrOutcome.FAILED)
            log.exception("ivr_failed", extra={"kv": {"call_id": run.call_id, "queue": run.queue}})
        finally:
            self._publish(run, environment)

    async def _perform(self, request: AgiRequest, step: Any) -> object:
        if isinstance(step, FindCaller):
            return await self._ask_crm("find_caller", self.customers.find_caller(step.number), None)
        if isinstance(step, LookupStatus):
            return await self._lookup(step)
        if isinstance(step, HangupChannel):
            try:
                return await request.execute(step.line())
            except AgiHangup:
                return _HUNG_UP
        return await request.execute(step.line(), patience_s=step.patience_s)

    async def _lookup(self, step: LookupStatus) -> LookupAnswer:
        if step.source is LookupSource.TICKET:
            found: Any = await self._ask_crm("ticket_status", self.customers.ticket_status(step.key), False)
        else:
            found = await self._ask_crm("order_progress", self.customers.order_progress(step.key), False)
        if found is False:
            return LookupAnswer(available=False)
        if found is None:
            return LookupAnswer(available=True, found=False)
        return LookupAnswer(available=True, found=True, status=found.status)

    async def _ask_crm(self, what: str, question: Awaitable[Any], unavailable: Any) -> Any:
        try:
            async with asyncio.timeout(self.lookup_timeout_s):
                return await question
        except (LookupUnavailable, TimeoutError) as exc:
            log.warning(
                "ivr_lookup_unavailable", extra={"kv": {"lookup": what, "reason": str(exc) or "timeout"}}
            )
            return unavailable

    def _publish(self, run: MenuRun, environment: AgiEnvironment) -> None:
        at = self.clock()
        if run.calendar_estimated and at.year not in self._warned_years:
            self._warned_years.add(at.year)
            log.warning("calendar_year_not_covered", extra={"kv": {"year": at.year, "rule": "Mon-Fri"}})
        self.bus.publish(
            IvrCompleted(
                at=at,
                call_id=run.call_id,
                channel=environment.channel,
                caller=environment.caller,
                dialed=environment.dialed,
                path=tuple(run.path),
                queue=run.queue,
                skill=run.skill,
                priority=run.priority,
                language=run.language,
                customer_id=run.customer_id,
                outcome=run.outcome,
                message_file=run.message_file,
                transfer_to=run.transfer_to,
            )
        )
        if run.callback is not None:
            self.bus.publish(
                CallbackRequested(
                    at=at,
                    call_id=run.call_id,
                    channel=environment.channel,
                    number=run.callback.number,
                    queue=run.callback.queue,
                    skill=run.callback.skill,
                    priority=run.callback.priority,
                    language=run.language,
                    customer_id=run.customer_id,
                )
            )
        fields = {
            "call_id": run.call_id,
            "outcome": run.outcome,
            "queue": run.queue,
            "caller": environment.caller,
        }
        log.info("ivr_completed", extra={"kv": fields})

    def _publish_no_menu(self, environment: AgiEnvironment) -> None:
        self.bus.publish(
            IvrCompleted(
                at=self.clock(),
                call_id=environment.uniqueid,
                channel=environment.channel,
                caller=environment.caller,
                dialed=environment.dialed,
                path=(),
                queue=self.default_queue,
                skill="",
                priority=0,
                language="",
                customer_id=None,
                outcome=IvrOutcome.NO_MENU,
            )
        )
