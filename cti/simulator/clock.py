"""Where the simulator's time comes from.

``RealClock`` is wall time (the demo). ``VirtualClock`` is fast virtual time for tests: time only
moves when nothing in the process can make progress without it — every task is either asleep on
the clock or idle — and then it jumps straight to the next deadline. Work that waits on a socket
whose answer decides what happens next (a FastAGI reply, an AMI action's response) marks itself
``busy()`` so the clock does not run ahead of it.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

# Loop turns the virtual clock lets pass before it decides the process is idle: a woken task
# needs one turn to run and maybe one more for a write it started to reach its peer's reader.
_SETTLE_TURNS = 8


class Clock(Protocol):
    def time(self) -> float:
        """Seconds since the epoch, as Asterisk stamps its events."""

    async def sleep(self, delay: float) -> None: ...

    def timer(self, delay: float) -> asyncio.Future[None]:
        """A future that completes after ``delay`` seconds of this clock."""

    def busy(self) -> AbstractContextManager[None]:
        """Held while waiting on something outside the clock whose answer decides what happens next."""


class RealClock:
    def time(self) -> float:
        return time.time()

    async def sleep(self, delay: float) -> None:
        await asyncio.sleep(max(0.0, delay))

    def timer(self, delay: float) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        handle = loop.call_later(max(0.0, delay), _resolve, future)
        future.add_done_callback(lambda _f: handle.cancel())
        return future

    @contextmanager
    def busy(self) -> Iterator[None]:
        yield


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class VirtualClock:
    """Virtual time; ``run()`` (a task owned by whoever starts the clock) moves it forward."""

    def __init__(self, start: float = 1_795_416_380.0) -> None:
        self._now = start
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._sequence = itertools.count()
        self._busy = 0
        self._wake = asyncio.Event()

    def time(self) -> float:
        return self._now

    def timer(self, delay: float) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self._now + max(0.0, delay), next(self._sequence), future))
        self._wake.set()
        return future

    async def sleep(self, delay: float) -> None:
        await self.timer(delay)

    async def sleep_until(self, moment: float) -> None:
        await self.timer(moment - self._now)

    @contextmanager
    def busy(self) -> Iterator[None]:
        self._busy += 1
        try:
            yield
        finally:
            self._busy -= 1
            self._wake.set()

    async def run(self) -> None:
        """Advance time forever; cancel the task to stop."""
        while True:
            for _ in range(_SETTLE_TURNS):
                await asyncio.sleep(0)
            if self._busy:
                self._wake.clear()
                await self._wake.wait()
                continue
            while self._timers and self._timers[0][2].done():
                heapq.heappop(self._timers)
            if not self._timers:
                self._wake.clear()
                await self._wake.wait()
                continue
            deadline = self._timers[0][0]
            self._now = max(self._now, deadline)
            while self._timers and self._timers[0][0] <= self._now:
                _resolve(heapq.heappop(self._timers)[2])
