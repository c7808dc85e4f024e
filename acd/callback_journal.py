"""The callback queue written behind to the store, so callers promised a callback still get one
after Hotline restarts.

The ACD never waits for the database: a change only wakes the journal's task, which writes what
differs from what it wrote last (new or changed callbacks, and those made or given up), in one
transaction. A write that fails is logged and tried again at the next change, or at stop, which
writes the last state. At start, ``load`` puts every kept callback back at its place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from acd.callbacks import CallbackQueue, CallbackRequest, CallbackState
from acd.events import CallbackSource
from acd.store import CallbackStore
from crm.restart_state import SavedCallback

log = logging.getLogger(__name__)


class CallbackJournal:
    def __init__(self, queue: CallbackQueue, store: CallbackStore) -> None:
        self._queue = queue
        self._store = store
        self._written: dict[str, SavedCallback] = {}
        self._wanted = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def load(self, now: datetime) -> int:
        """Put the kept callbacks back in the queue; returns how many. One that cannot be put
        back (its queue was removed) is logged, and deleted at the next write."""
        restored = 0
        for saved in await self._store.waiting_callbacks():
            self._written[saved.callback_id] = saved
            if self._queue.restore(_state(saved), now):
                restored += 1
            else:
                fields = {"callback_id": saved.callback_id, "queue": saved.queue}
                log.warning("acd_callback_not_restored", extra={"kv": fields})
                self._wanted.set()
        return restored

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="acd-callback-journal")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.flush()
        except Exception:
            log.exception("acd_callbacks_not_saved")

    def changed(self) -> None:
        self._wanted.set()

    async def flush(self) -> None:
        """Write what changed since the last write."""
        async with self._lock:
            current = {s.request.callback_id: _saved(s) for s in self._queue.states()}
            saved = [c for key, c in current.items() if self._written.get(key) != c]
            removed = [key for key in self._written if key not in current]
            if saved or removed:
                await self._store.save_callbacks(saved, removed)
            self._written = current

    async def _run(self) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("acd_callbacks_not_saved")


def _saved(state: CallbackState) -> SavedCallback:
    request = state.request
    return SavedCallback(
        callback_id=request.callback_id,
        position=state.position,
        number=request.number,
        queue=request.queue,
        requested_at=request.requested_at,
        skill=request.skill,
        priority=request.priority,
        customer_id=request.customer_id,
        language=request.language,
        call_id=request.call_id,
        source=str(request.source),
        dialed=request.dialed,
        attempts=state.attempts,
        retry_at=state.retry_at,
    )


def _state(saved: SavedCallback) -> CallbackState:
    request = CallbackRequest(
        callback_id=saved.callback_id,
        number=saved.number,
        queue=saved.queue,
        requested_at=saved.requested_at,
        skill=saved.skill,
        priority=saved.priority,
        customer_id=saved.customer_id,
        language=saved.language,
        call_id=saved.call_id,
        source=CallbackSource(saved.source) if saved.source else CallbackSource.IVR,
        dialed=saved.dialed,
    )
    return CallbackState(request, saved.attempts, saved.retry_at, saved.position)
