"""The in-process event bus that joins the packages.

Publishing never blocks and never fails: each subscriber has its own bounded queue. When a
subscriber falls behind and its queue is full, the oldest event waiting for it is dropped, the
drop is counted and logged once per burst, and the publisher (the AMI reader) goes on. A slow
screen-pop consumer must never delay the call tracker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 10_000

E = TypeVar("E")


@dataclass(eq=False)
class Subscription(Generic[E]):
    name: str
    accepts: tuple[type, ...]
    queue: asyncio.Queue[E]
    dropped: int = 0
    _warned: bool = field(default=False, repr=False)

    def offer(self, event: E) -> None:
        if not isinstance(event, self.accepts):
            return
        try:
            self.queue.put_nowait(event)
            self._warned = False
            return
        except asyncio.QueueFull:
            pass
        self.queue.get_nowait()
        self.queue.put_nowait(event)
        self.dropped += 1
        if not self._warned:
            self._warned = True
            fields = {"subscriber": self.name, "dropped": self.dropped}
            log.warning("bus_subscriber_slow", extra={"kv": fields})

    async def get(self) -> E:
        return await self.queue.get()

    def get_nowait(self) -> E:
        return self.queue.get_nowait()

    def pending(self) -> int:
        return self.queue.qsize()

    async def __aiter__(self) -> AsyncIterator[E]:
        while True:
            yield await self.queue.get()


class EventBus:
    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._listeners: list[Callable[[object], None]] = []

    def subscribe(self, name: str, *accepts: type, maxsize: int = DEFAULT_QUEUE_SIZE) -> Subscription:
        """A queue of the events of the given types (all events when none are given)."""
        subscription: Subscription = Subscription(
            name=name, accepts=accepts or (object,), queue=asyncio.Queue(maxsize)
        )
        self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    def listen(self, callback: Callable[[object], None]) -> None:
        """A synchronous listener, called in the publisher's turn; for pure, fast cores only
        (statistics, state machines). It must not block; an exception is logged, not raised."""
        self._listeners.append(callback)

    def publish(self, event: object) -> None:
        for callback in self._listeners:
            try:
                callback(event)
            except Exception:
                log.exception("bus_listener_failed", extra={"kv": {"event_type": type(event).__name__}})
        for subscription in self._subscriptions:
            subscription.offer(event)

    def publish_all(self, events: list) -> None:
        for event in events:
            self.publish(event)
