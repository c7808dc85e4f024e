"""Bus → the CRM's back office: messages callers left, and what became of each callback.

A message is the tracker's ``MessageLeft``: the dialplan's leave-a-message context records every
message (after the IVR's message node, or at the end of the fallback). It is kept once per call.
The ACD's callback events become steps of the callback log. The translations are plain
functions; the shell is one task that writes each event as it comes (a few a minute: no
batching), logging a write that fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from acd.events import CallbackCompleted, CallbackFailed, CallbackScheduled, CallbackStarted
from crm import callback_log, messages
from crm.callback_log import CallbackStep
from crm.db import Database
from crm.messages import NewMessage
from cti.bus import EventBus, Subscription
from cti.events import MessageLeft
from recording.errors import UnsafePath
from recording.message_files import MessageFiles

log = logging.getLogger(__name__)

CONSUMED = (MessageLeft, CallbackScheduled, CallbackStarted, CallbackCompleted, CallbackFailed)
WRITE_TIMEOUT_S = 30.0

CallbackEvent = CallbackScheduled | CallbackStarted | CallbackCompleted | CallbackFailed


@dataclass(frozen=True, slots=True)
class Step:
    callback_id: str
    step: CallbackStep
    fields: dict[str, object]


def message_of(event: MessageLeft, files: MessageFiles) -> NewMessage:
    """The message the dialplan recorded. A file outside the spool is logged and left out: the
    caller's number is kept all the same."""
    try:
        stored = files.stored_name(event.file) if event.file else ""
    except UnsafePath as exc:
        log.warning(
            "message_file_outside_folders", extra={"kv": {"call_id": event.call_id, "error": str(exc)}}
        )
        stored = ""
    return NewMessage(
        call_id=event.call_id,
        at=event.at,
        caller=event.caller,
        queue=event.queue,
        file=stored,
        record_status=event.status,
    )


def callback_step(event: CallbackEvent) -> Step:
    """A callback event as a step of the callback log."""
    common: dict[str, object] = {"at": event.at, "number": event.number, "queue": event.queue}
    if isinstance(event, CallbackScheduled):
        detail = f"{event.source.value} merged" if event.merged else event.source.value
        return Step(event.callback_id, CallbackStep.SCHEDULED, {**common, "detail": detail})
    if isinstance(event, CallbackStarted):
        return Step(
            event.callback_id,
            CallbackStep.STARTED,
            {**common, "agent": event.agent, "detail": f"#{event.attempt}"},
        )
    if isinstance(event, CallbackCompleted):
        return Step(
            event.callback_id,
            CallbackStep.COMPLETED,
            {**common, "agent": event.agent, "detail": f"#{event.attempt}"},
        )
    step = CallbackStep.FAILED if event.retry_at is not None else CallbackStep.GAVE_UP
    return Step(
        event.callback_id,
        step,
        {**common, "agent": event.agent, "detail": f"#{event.attempt} {event.error}"},
    )


class BackOfficeFeed:
    def __init__(self, bus: EventBus, db: Database, files: MessageFiles) -> None:
        self._bus = bus
        self._db = db
        self._files = files
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._writing = False
        self._idle = asyncio.Event()
        self.written = 0

    async def start(self) -> None:
        self._subscription = self._bus.subscribe("back-office-feed", *CONSUMED)
        self._task = asyncio.create_task(self._run(self._subscription), name="back-office-feed")

    async def stop(self) -> None:
        """Write what is queued already, then stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._subscription is not None:
            self._bus.unsubscribe(self._subscription)
            while self._subscription.pending():
                await self.write(self._subscription.get_nowait())
            self._subscription = None

    async def _run(self, subscription: Subscription) -> None:
        async for event in subscription:
            await self.write(event)
            if not subscription.pending():
                self._idle.set()

    async def write(self, event: MessageLeft | CallbackEvent) -> None:
        self._writing = True
        try:
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                if isinstance(event, CallbackEvent):
                    step = callback_step(event)
                    await callback_log.add_step(self._db, step.callback_id, step.step, **step.fields)  # type: ignore[arg-type]
                    self.written += 1
                    return
                message = message_of(event, self._files)
                if await messages.store_message(self._db, message) is not None:
                    self.written += 1
                    log.info(
                        "message_left_stored",
                        extra={"kv": {"call_id": message.call_id, "queue": message.queue}},
                    )
        except Exception:
            log.exception("back_office_feed_write_failed", extra={"kv": {"event_type": type(event).__name__}})
        finally:
            self._writing = False

    async def drained(self) -> None:
        """Until every event published so far is written (tests)."""
        if (self._subscription is not None and self._subscription.pending()) or self._writing:
            self._idle.clear()
            await self._idle.wait()
