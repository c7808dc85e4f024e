"""The AMI link: one logged-in manager connection to Asterisk, kept alive and reconnected.

Built on panoramisk's model — an ``asyncio.Protocol`` fed by ``data_received``, actions matched
to their answers by ActionID, events handed to a callback — with the parts that panoramisk 1.4
gets wrong replaced (see docs/panoramisk.md): parsing is ``AmiParser`` (plain dicts), every
action has a timeout, list answers (``EventList: start`` … ``…Complete``) and async Originate
(``OriginateResponse``) are gathered into one ``ActionResult``, a Ping every few seconds notices
a dead or stalled Asterisk, and reconnecting backs off exponentially with jitter.

The link interprets nothing: events go to ``on_events`` in the order received, in batches (one
per socket read); after each login ``on_connected`` runs (the service resyncs there) and after
each loss of a logged-in connection ``on_disconnected``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from panoramisk.ami_protocol import AMIProtocol

from cti.action_results import ActionResult
from cti.ami_protocol import AmiMessage, AmiParser, EventFilter, first, format_action
from cti.errors import (
    AmiActionFailed,
    AmiLoginRefused,
    AmiProtocolError,
    AmiTimeout,
    SwitchError,
    SwitchUnavailable,
)

log = logging.getLogger(__name__)

EventsCallback = Callable[[list[AmiMessage]], None]
ConnectedCallback = Callable[[str], Awaitable[None]]
DisconnectedCallback = Callable[[str], None]

_SUCCESS_RESPONSES = frozenset({"Success", "Follows", "Goodbye"})


@dataclass(frozen=True, slots=True)
class AmiLinkConfig:
    """Where Asterisk is and how patient to be; the fields of ``hotline.settings.AmiSettings``."""

    host: str
    port: int = 5038
    username: str = "hotline"
    secret: str = field(default="", repr=False)
    action_timeout_s: float = 5.0
    ping_interval_s: float = 3.0
    ping_timeout_s: float = 5.0
    connect_timeout_s: float = 5.0
    reconnect_initial_s: float = 0.5
    reconnect_max_s: float = 30.0


class _PendingAction:
    __slots__ = (
        "action",
        "action_id",
        "blocks_session",
        "completion",
        "completion_event",
        "future",
        "items",
        "response",
    )

    def __init__(
        self,
        action: str,
        action_id: str,
        future: asyncio.Future[ActionResult],
        completion_event: str,
        blocks_session: bool = False,
    ) -> None:
        self.blocks_session = blocks_session
        self.action = action
        self.action_id = action_id
        self.future = future
        self.completion_event = completion_event
        self.response: AmiMessage | None = None
        self.items: list[AmiMessage] = []
        self.completion: AmiMessage | None = None

    def waiting_for(self) -> str:
        if self.response is None:
            return "response"
        return f"{self.completion_event} event" if self.completion_event else "end of the event list"


class AmiProtocol(AMIProtocol):
    """panoramisk's protocol with its parsing and action bookkeeping handed to the link.

    panoramisk builds a case-insensitive dict per message and keeps actions in the protocol;
    here the bytes go straight to the link's ``AmiParser`` and pending actions live in the link,
    so they outlive a connection only as failures (``SwitchUnavailable``), never as silent
    re-sends on the next connection.
    """

    def __init__(self, link: AmiLink) -> None:
        self._link = link
        self.transport: asyncio.Transport | None = None
        self.closed = True
        self.version = None
        self.factory = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.closed = False
        self.log = log
        self._link._connection_made(self)

    def data_received(self, data: bytes) -> None:
        self._link._data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._link._connection_lost(self, exc)

    def send(self, data: bytes) -> None:  # type: ignore[override]
        if self.transport is not None:
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class AmiLink:
    """A manager connection that stays up: ``await start()``, ``await stop()``; between them
    ``send_action`` works whenever the link is logged in and raises ``SwitchUnavailable`` when
    it is not."""

    def __init__(
        self,
        config: AmiLinkConfig,
        *,
        on_events: EventsCallback,
        on_connected: ConnectedCallback | None = None,
        on_disconnected: DisconnectedCallback | None = None,
        wanted: EventFilter | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.wanted = wanted  # events worth parsing; None: all of them
        self._on_events = on_events
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._jitter = jitter
        self._parser = AmiParser(wanted=wanted)
        self._protocol: AmiProtocol | None = None
        self._pending: dict[str, _PendingAction] = {}
        self._lost: asyncio.Future[str] | None = None
        self._logged_in = False
        self._task: asyncio.Task[None] | None = None
        # A prefix unique to this process and link tells our own late answers from others'.
        self._id_prefix = f"hl{os.getpid():x}{id(self) & 0xFFFF:x}-"
        self._ids = itertools.count(1)
        self.connected = asyncio.Event()  # set while logged in: ``await link.connected.wait()``

    # --- public ----------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        return self._logged_in

    @property
    def version(self) -> str:
        return self._parser.version

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ami-link")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def drop(self, reason: str) -> None:
        """Close the current connection (it will be reconnected), e.g. after a stalled resync."""
        if self._protocol is not None and not self._protocol.closed:
            log.warning("ami_dropping_connection", extra={"kv": {"reason": reason}})
            self._protocol.close()

    async def send_action(
        self,
        action: str,
        fields: Mapping[str, object] | None = None,
        *,
        timeout_s: float | None = None,
        completion_event: str = "",
        blocks_session: bool = False,
    ) -> ActionResult:
        """Send one action and wait for its whole answer.

        Raises ``AmiActionFailed`` on ``Response: Error``, ``AmiTimeout`` when the answer is not
        complete within ``timeout_s`` (the configured action timeout by default),
        ``SwitchUnavailable`` when the link is down or goes down meanwhile, and
        ``ActionFieldError`` (before sending anything) for a value with a line break.
        ``completion_event`` names an event carrying the ActionID that ends the action
        (``OriginateResponse`` for an async Originate). ``blocks_session`` marks an action during
        which Asterisk answers nothing else on this connection (a sync Originate holds the
        manager session until the call is answered or fails): Pings are not counted against the
        link meanwhile, and the action's own timeout bounds that blind time.
        """
        if not self._logged_in and action != "Login":
            raise SwitchUnavailable("not connected to Asterisk", action=action)
        return await self._send(action, fields, timeout_s, completion_event, blocks_session)

    # --- actions ---------------------------------------------------------------------------

    async def _send(
        self,
        action: str,
        fields: Mapping[str, object] | None,
        timeout_s: float | None,
        completion_event: str,
        blocks_session: bool = False,
    ) -> ActionResult:
        protocol = self._protocol
        if protocol is None or protocol.closed:
            raise SwitchUnavailable("not connected to Asterisk", action=action)
        action_id = f"{self._id_prefix}{next(self._ids)}"
        data = format_action(action, action_id, fields)
        timeout = self.config.action_timeout_s if timeout_s is None else timeout_s
        future: asyncio.Future[ActionResult] = asyncio.get_running_loop().create_future()
        pending = _PendingAction(action, action_id, future, completion_event, blocks_session)
        self._pending[action_id] = pending
        try:
            protocol.send(data)
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise AmiTimeout(action, action_id, timeout, pending.waiting_for()) from None
        finally:
            del self._pending[action_id]

    def _answer(self, pending: _PendingAction, message: AmiMessage) -> None:
        event = message.get("Event")
        if event is None:
            if pending.response is not None:
                return  # a second Response for one ActionID: Asterisk never does this; ignore it
            pending.response = message
            if message.get("Response") not in _SUCCESS_RESPONSES:
                pending.future.set_exception(
                    AmiActionFailed(pending.action, first(message, "Message"), pending.action_id)
                )
                return
            waits_for_more = pending.completion_event or first(message, "EventList").lower() == "start"
            if waits_for_more and pending.completion is None:
                return
        elif event == pending.completion_event or first(message, "EventList").lower() == "complete":
            pending.completion = message
            if pending.response is None:
                return
        else:
            pending.items.append(message)
            return
        assert pending.response is not None
        if not pending.future.done():
            pending.future.set_result(
                ActionResult(
                    pending.action,
                    pending.action_id,
                    pending.response,
                    tuple(pending.items),
                    pending.completion,
                )
            )

    def _fail_pending(self, reason: str) -> None:
        for pending in list(self._pending.values()):
            if not pending.future.done():
                pending.future.set_exception(SwitchUnavailable(reason, action=pending.action, sent=True))

    # --- the byte stream -------------------------------------------------------------------

    def _connection_made(self, protocol: AmiProtocol) -> None:
        self._protocol = protocol
        self._parser = AmiParser(wanted=self.wanted)
        self._lost = asyncio.get_running_loop().create_future()

    def _connection_lost(self, protocol: AmiProtocol, exc: Exception | None) -> None:
        if protocol is not self._protocol:
            return  # an earlier connection, already given up
        reason = _describe(exc) if exc is not None else "closed by the remote end"
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(reason)
        self._fail_pending(f"connection lost ({reason})")

    def _data_received(self, data: bytes) -> None:
        parser = self._parser
        messages = parser.feed(data)
        if parser.malformed:
            for bad in parser.take_malformed():
                # The raw bytes may carry callers' numbers: only at debug level.
                log.warning("ami_malformed_input", extra={"kv": {"offset": bad.offset, "reason": bad.reason}})
                log.debug("ami_malformed_raw", extra={"kv": {"offset": bad.offset, "raw": bad.raw[:200]}})
        if not messages:
            return
        pending = self._pending
        events: list[AmiMessage] = []
        append = events.append
        for message in messages:
            action_id = message.get("ActionID")
            if action_id is not None:
                if isinstance(action_id, list):
                    action_id = action_id[0]
                answer_to = pending.get(action_id)
                if answer_to is not None:
                    self._answer(answer_to, message)
                    continue
                if "Event" not in message or action_id.startswith(self._id_prefix):
                    # An answer that came after its action gave up: nobody is waiting for it.
                    log.debug("ami_late_answer", extra={"kv": {"action_id": action_id}})
                    continue
            elif "Event" not in message:
                continue
            append(message)
        if events:
            try:
                self._on_events(events)
            except Exception:
                log.exception("ami_event_handler_failed", extra={"kv": {"events": len(events)}})

    # --- connection management -------------------------------------------------------------

    async def _run(self) -> None:
        config = self.config
        failures = 0
        try:
            while True:
                try:
                    await self._session()
                    failures = 0
                    kv: dict[str, object] = {}
                    event = ""
                except _Unreachable as exc:
                    event, kv = "ami_unreachable", {"error": exc.reason}
                except AmiLoginRefused as exc:
                    event, kv = "ami_login_refused", {"username": config.username, "message": exc.message}
                except SwitchError as exc:
                    event, kv = "ami_login_failed", {"error": str(exc)}
                delay = self._backoff(failures)
                failures += 1
                if event:
                    log.warning(
                        event,
                        extra={
                            "kv": {
                                "host": config.host,
                                "port": config.port,
                                **kv,
                                "retry_in_s": round(delay, 2),
                            }
                        },
                    )
                else:
                    log.info("ami_reconnecting", extra={"kv": {"retry_in_s": round(delay, 2)}})
                await asyncio.sleep(delay)
        finally:
            if self._protocol is not None:
                self._protocol.close()
            self._fail_pending("link stopped")

    def _backoff(self, failures: int) -> float:
        config = self.config
        ceiling = min(config.reconnect_max_s, config.reconnect_initial_s * (2 ** min(failures, 30)))
        # "Equal jitter": at least half the ceiling, so a crowd of clients spreads out but none
        # of them retries at once after a failure.
        return ceiling * (0.5 + 0.5 * self._jitter())

    async def _session(self) -> None:
        config = self.config
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(config.connect_timeout_s):
                await loop.create_connection(lambda: AmiProtocol(self), config.host, config.port)
        except TimeoutError:
            raise _Unreachable(f"no answer within {config.connect_timeout_s:g} s") from None
        except OSError as exc:
            raise _Unreachable(_describe(exc)) from None
        lost = self._lost
        assert lost is not None
        try:
            await self._login()
            self._logged_in = True
            self.connected.set()
            log.info(
                "ami_connected",
                extra={"kv": {"host": config.host, "port": config.port, "version": self.version}},
            )
            keep_alive = asyncio.create_task(self._keep_alive(), name="ami-keep-alive")
            try:
                if self._on_connected is not None:
                    await self._connected_hook()
                reason = await lost
            finally:
                keep_alive.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keep_alive
            log.warning("ami_disconnected", extra={"kv": {"host": config.host, "reason": reason}})
        finally:
            was_logged_in = self._logged_in
            self._logged_in = False
            self.connected.clear()
            if self._protocol is not None:
                self._protocol.close()
            if was_logged_in and self._on_disconnected is not None:
                ended = lost.done() and not lost.cancelled()  # cancelled with us by stop()
                self._on_disconnected(lost.result() if ended else "link stopped")

    async def _connected_hook(self) -> None:
        assert self._on_connected is not None
        try:
            await self._on_connected(self.version)
        except SwitchError as exc:
            log.warning("ami_resync_failed", extra={"kv": {"error": str(exc)}})
            self.drop("resync failed")
        except Exception:
            log.exception("ami_on_connected_failed")
            self.drop("resync failed")

    async def _login(self) -> None:
        config = self.config
        fields = {"Username": config.username, "Secret": config.secret, "Events": "on"}
        try:
            await self._send("Login", fields, config.action_timeout_s, "")
        except AmiActionFailed as exc:
            raise AmiLoginRefused(config.host, config.port, config.username, exc.message) from None
        except (SwitchUnavailable, AmiTimeout) as exc:
            if self._parser.banner is None:
                raise AmiProtocolError(
                    f"{config.host}:{config.port} sent no AMI banner ({exc}); is it Asterisk's manager port?"
                ) from None
            raise

    async def _keep_alive(self) -> None:
        config = self.config
        while True:
            await asyncio.sleep(config.ping_interval_s)
            if any(pending.blocks_session for pending in self._pending.values()):
                continue
            try:
                await self._send("Ping", None, config.ping_timeout_s, "")
            except AmiTimeout:
                log.warning(
                    "ami_stalled",
                    extra={"kv": {"host": config.host, "no_answer_s": config.ping_timeout_s}},
                )
                self.drop("no answer to Ping")
                return
            except SwitchError:
                return


class _Unreachable(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno).lower()  # "connection refused", not asyncio's wording
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
