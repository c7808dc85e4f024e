"""The IVR's callers, handed to the leading node's ACD whichever node ran the IVR.

Every node answers FastAGI (the dialplan tries ``HOTLINE_AGI``, then ``HOTLINE_AGI_2``), so a
caller's menus may run on a node that does not lead. In a cluster the IVR publishes on a bus of
its own, and ``IvrHandoff`` passes each of its events on, in order, one way only:

- while this node follows, to the stream ``hotline:ivr`` (the hand-off);
- from the moment it leads, onto the node's main bus, where the ACD, the call log and the
  back-office feed take them as on a single node. The switch is made between two events.

``IvrInbox`` is the leader's reading of ``hotline:ivr``: every node's hand-offs, this node's own
from before it led included, onto the main bus. It starts from the id the previous leader
acknowledged, so callers whose menus ended while no node led (the takeover's seconds) still reach
the ACD with their queue, skill and priority, and callback requests made then are not lost. It
acknowledges one period behind what it has read, so a leader that dies has its last second read
again by the next: the ACD takes a caller's details twice without harm and a second callback
request for a number already waiting is merged; only the IVR report may count such a session
twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from cti.bus import EventBus
from hotline.cluster.redis_bus import StreamPublisher, StreamReader, relay_into

log = logging.getLogger(__name__)

IVR_STREAM = "hotline:ivr"
ACK_EVERY_S = 1.0


class IvrHandoff:
    """The IVR's bus → the stream while following, the main bus once leading."""

    def __init__(self, ivr_bus: EventBus, main_bus: EventBus, redis: aioredis.Redis, *, node: str) -> None:
        self._main_bus = main_bus
        self._outbox = EventBus()
        self.publisher = StreamPublisher(self._outbox, redis, node=node, stream=IVR_STREAM)
        self.leading = False
        ivr_bus.listen(self._pass_on)

    async def start(self) -> None:
        await self.publisher.start()

    def lead(self) -> None:
        """From the next event on, straight to the main bus (its consumers subscribed first)."""
        self.leading = True

    async def stop(self) -> None:
        await self.publisher.stop()

    def _pass_on(self, event: object) -> None:
        (self._main_bus if self.leading else self._outbox).publish(event)


class IvrInbox:
    """The leader's reading of every node's hand-offs, from the last acknowledged id."""

    def __init__(self, redis: aioredis.Redis, bus: EventBus, *, publisher: StreamPublisher) -> None:
        self._redis = redis
        # Onto the bus; the main publisher does not send a hand-off out again on the event stream.
        self._take = relay_into(bus, publisher)
        self._reader: StreamReader | None = None
        self._acker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        after = await self._acknowledged()
        # An empty node name: this node's own hand-offs, made before it led, are read too.
        self._reader = StreamReader(
            self._redis, node="", on_event=self._take, after=after, stream=IVR_STREAM, on_gap=_missed
        )
        await self._reader.start()
        self._acker = asyncio.create_task(self._acknowledge(), name="cluster-ivr-ack")
        log.info("cluster_ivr_inbox", extra={"kv": {"after": after}})

    async def stop(self) -> None:
        if self._acker is not None:
            self._acker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._acker
        if self._reader is not None:
            await self._reader.stop()

    async def _acknowledged(self) -> str:
        try:
            value = await self._redis.get(ack_key())
        except (RedisError, OSError) as exc:
            log.warning("cluster_broker_unreachable", extra={"kv": {"error": str(exc) or type(exc).__name__}})
            value = None
        return (value.decode() if isinstance(value, bytes) else value) or "0"

    async def _acknowledge(self) -> None:
        read_before = ""
        while True:
            await asyncio.sleep(ACK_EVERY_S)
            assert self._reader is not None
            read_now = self._reader.last_id
            if read_before and read_before != "0":
                with contextlib.suppress(RedisError, OSError):
                    await self._redis.set(ack_key(), read_before)
            read_before = read_now


def ack_key() -> str:
    return f"{IVR_STREAM}:handled"


def _missed(reason: str) -> None:
    # No snapshot can replace a hand-off: the callers concerned are still queued by the switch
    # (the ACD sees them through the AMI), without the IVR's skill and priority.
    log.warning("cluster_ivr_handoffs_missed", extra={"kv": {"reason": reason}})
