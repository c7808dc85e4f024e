"""The call log's shell: events from the bus folded into facts, written in batches.

Two tasks: one folds events as they come (it never waits for the database, so the bus never
waits for it either), the other writes what the fold made with ``record_facts``, a batch at a
time. A failed write is logged and tried again a few times, then given up (logged with the
number of facts lost); the facts waiting are bounded, the oldest dropped first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, tzinfo

from acd.call_log import CONSUMED, CallLog
from crm.db import Database
from crm.reporting.facts import Fact, record_facts
from cti.bus import EventBus, Subscription

log = logging.getLogger(__name__)

BATCH = 500
WRITE_EVERY_S = 1.0
WRITE_TIMEOUT_S = 30.0
RETRIES = 3
RETRY_AFTER_S = (0.5, 2.0, 5.0)
MAX_PENDING = 100_000

Translator = Callable[[object], Iterable[Fact]]


class CallLogWriter:
    def __init__(
        self,
        bus: EventBus,
        db: Database,
        *,
        tz: tzinfo,
        clock: Callable[[], datetime],
        call_log: CallLog | None = None,
        translators: Mapping[type, Translator] | None = None,
        write_every_s: float = WRITE_EVERY_S,
        retry_after_s: tuple[float, ...] = RETRY_AFTER_S,
        max_pending: int = MAX_PENDING,
    ) -> None:
        """``translators``: facts from events the call log does not know (the IVR's), added by
        the composition root so acd/ needs no import of the packages that publish them."""
        self._bus = bus
        self._db = db
        self._tz = tz
        self._clock = clock
        self.call_log = call_log or CallLog()
        self._translators = dict(translators or {})
        self._every = write_every_s
        self._retry_after = retry_after_s
        self._pending: deque[Fact] = deque()
        self._max_pending = max_pending
        self._wake = asyncio.Event()
        self._subscription: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._writing = False
        self.written = 0
        self.lost = 0

    async def start(self) -> None:
        self._subscription = self._bus.subscribe("call-log", *CONSUMED, *self._translators)
        self._tasks = [
            asyncio.create_task(self._fold(self._subscription), name="call-log-fold"),
            asyncio.create_task(self._write_loop(), name="call-log-write"),
        ]

    async def stop(self) -> None:
        """Fold what is queued, write every fact still followed as it stands, then stop."""
        if not self._tasks:
            return
        fold, writer = self._tasks
        fold.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fold
        if self._subscription is not None:
            self._bus.unsubscribe(self._subscription)
            while self._subscription.pending():
                self._add(self._feed(self._subscription.get_nowait()))
            self._subscription = None
        self._add(self.call_log.flush())
        self._stopping = True
        self._wake.set()
        await writer
        self._tasks = []

    def _feed(self, event: object) -> list[Fact]:
        try:
            translate = self._translators.get(type(event))
            if translate is not None:
                return list(translate(event))
            return self.call_log.feed(event)
        except Exception:
            log.exception("call_log_event_failed", extra={"kv": {"event_type": type(event).__name__}})
            return []

    def add(self, facts: list[Fact]) -> None:
        """Facts made elsewhere (the screen-pop's rule holdbacks), written with the next batch."""
        self._add(facts)

    def _add(self, facts: list[Fact]) -> None:
        if not facts:
            return
        self._pending.extend(facts)
        overflow = len(self._pending) - self._max_pending
        if overflow > 0:
            for _ in range(overflow):
                self._pending.popleft()
            self.lost += overflow
            log.error("call_log_backlog_dropped", extra={"kv": {"facts": overflow}})
        if len(self._pending) >= BATCH:
            self._wake.set()

    async def _fold(self, subscription: Subscription) -> None:
        # Time limits are checked once per interval, not per event: a scan of every call followed.
        loop = asyncio.get_running_loop()
        checked = loop.time()
        while True:
            try:
                async with asyncio.timeout(self._every):
                    event = await subscription.get()
            except TimeoutError:
                pass
            else:
                self._add(self._feed(event))
                while subscription.pending():
                    self._add(self._feed(subscription.get_nowait()))
            if loop.time() - checked >= self._every:
                checked = loop.time()
                self._add(self.call_log.advance(self._clock()))

    async def _write_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._every):
                    await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(BATCH, len(self._pending)))]
                self._writing = True
                try:
                    await self._write(batch)
                finally:
                    self._writing = False
            if self._stopping:
                return

    async def _write(self, batch: list[Fact]) -> None:
        for attempt in range(len(self._retry_after) + 1):
            try:
                async with asyncio.timeout(WRITE_TIMEOUT_S):
                    await record_facts(self._db, batch, tz=self._tz)
            except Exception as exc:
                fields = {"facts": len(batch), "attempt": attempt + 1, "error": type(exc).__name__}
                if attempt == len(self._retry_after):
                    self.lost += len(batch)
                    log.exception("call_log_write_failed", extra={"kv": fields})
                    return
                log.warning("call_log_write_retry", extra={"kv": fields})
                await asyncio.sleep(self._retry_after[attempt])
            else:
                self.written += len(batch)
                return

    async def drained(self) -> None:
        """Wait until every fact folded so far is written (tests, and a clean stop)."""
        while (self._subscription and self._subscription.pending()) or self._pending or self._writing:
            self._wake.set()
            await asyncio.sleep(0.01)
