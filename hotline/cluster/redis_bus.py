"""The bus's domain events between nodes, over one Redis stream.

**Out**: ``StreamPublisher`` subscribes to the node's in-process bus and appends every event it
can encode to the stream, in the bus's order, stamped with the node, its lease epoch and a
sequence number of its own. One stream keeps one order, so every call's events stay in order. A
broker that does not answer is retried; meanwhile events wait in a bounded buffer (past it the
oldest are dropped and counted: readers see the hole in the sequence and resynchronize).

**In**: ``StreamReader`` reads the stream from the last id it saw (a node that was away catches
up from there) and hands each other node's event to ``on_event``. It calls ``on_gap`` when it
cannot have seen everything: the entries after its last id were trimmed away, a publisher's
sequence jumped (its buffer overflowed, or the broker restarted and lost the stream). Entries
stamped with an epoch below the highest it has seen come from a deposed leader and are dropped.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from cti.bus import EventBus, Subscription
from hotline.cluster.codec import CodecError, decode, encode, registry

log = logging.getLogger(__name__)

STREAM = "hotline:events"
MAXLEN = 200_000  # about ten minutes at 20 calls/s; older entries are trimmed (approximately)
BUFFER = 100_000
RETRY_S = 0.5


def connect(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(url, socket_connect_timeout=2.0, socket_timeout=None)


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    node: str
    epoch: int
    seq: int
    event: object


class StreamPublisher:
    """Local bus → stream."""

    def __init__(
        self,
        bus: EventBus,
        redis: aioredis.Redis,
        *,
        node: str,
        epoch: Callable[[], int] = lambda: 0,
        stream: str = STREAM,
        maxlen: int = MAXLEN,
        buffer: int = BUFFER,
        also: Callable[[Any, object], None] | None = None,
    ) -> None:
        self._bus = bus
        self._also = also  # adds commands for one event to the same pipeline (a snapshot key)
        self._redis = redis
        self.node = node
        self._epoch = epoch
        self.stream = stream
        self._maxlen = maxlen
        self._pending: collections.deque[tuple[int, str, object]] = collections.deque(maxlen=buffer)
        self._seq = 0
        self.dropped = 0
        self.sent = 0
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._skip: dict[int, object] = {}  # events a reader put on this bus: not sent back

    def skip(self, event: object) -> None:
        """``event`` came from the stream: when the bus hands it back, it is not sent again."""
        self._skip[id(event)] = event

    async def start(self) -> None:
        self._subscription = self._bus.subscribe("cluster-out", *registry().values(), maxsize=BUFFER)
        self._task = asyncio.create_task(self._run(), name="cluster-out")

    async def stop(self) -> None:
        """Stop, after a last attempt to send what waits (bounded in time)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._subscription is not None:
            self._take_waiting()
            self._bus.unsubscribe(self._subscription)
            self._subscription = None
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(2.0):
                await self._flush()

    async def _run(self) -> None:
        assert self._subscription is not None
        while True:
            if not self._pending:
                self._add(await self._subscription.get())
            self._take_waiting()
            try:
                await self._flush()
            except (RedisError, OSError) as exc:
                log.warning(
                    "cluster_broker_unreachable", extra={"kv": {"error": str(exc) or type(exc).__name__}}
                )
                await asyncio.sleep(RETRY_S)
            except Exception:
                log.exception("cluster_publish_failed")
                await asyncio.sleep(RETRY_S)

    def _take_waiting(self) -> None:
        assert self._subscription is not None
        while self._subscription.pending():
            self._add(self._subscription.get_nowait())

    def _add(self, event: object) -> None:
        if self._skip.pop(id(event), None) is event:
            return
        try:
            text = encode(event)
        except CodecError as exc:
            log.warning(
                "cluster_event_not_sent",
                extra={"kv": {"event_type": type(event).__name__, "error": str(exc)}},
            )
            return
        if len(self._pending) == self._pending.maxlen:
            self.dropped += 1
        self._seq += 1
        self._pending.append((self._seq, text, event))

    async def _flush(self) -> None:
        while self._pending:
            batch = list(self._pending)[:500]
            epoch = self._epoch()
            pipe = self._redis.pipeline(transaction=False)
            for seq, text, event in batch:
                fields = {"n": self.node, "e": epoch, "s": seq, "v": text}
                pipe.xadd(self.stream, fields, maxlen=self._maxlen, approximate=True)
                if self._also is not None:
                    self._also(pipe, event)
            await pipe.execute()
            for _ in batch:
                self._pending.popleft()
            self.sent += len(batch)


class StreamReader:
    """Stream → ``on_event`` for every other node's events, from ``after`` on ("0": all kept)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        node: str,
        on_event: Callable[[Entry], None],
        on_gap: Callable[[str], None] = lambda _reason: None,
        after: str = "0",
        stream: str = STREAM,
        block_ms: int = 500,
        resync: Callable[[], Awaitable[str]] | None = None,
    ) -> None:
        self._redis = redis
        # Called at the first gap (and at start when given): rebuilds the reader's picture from
        # a snapshot and returns the stream id the snapshot stands for, to read on from.
        self._resync = resync
        self._resync_due = resync is not None
        self.node = node
        self._on_event = on_event
        self._on_gap = on_gap
        self.last_id = after
        self.stream = stream
        self._block_ms = block_ms
        self._seqs: dict[str, int] = {}
        self.highest_epoch = 0
        self.fenced = 0
        self._task: asyncio.Task[None] | None = None
        self._checked = False
        self._from_start = after == "0"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cluster-in")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                if self._resync_due and self._resync is not None:
                    self.last_id = await self._resync()
                    self._seqs.clear()
                    self._from_start = False
                    self._resync_due = False
                    self._checked = True
                if not self._checked:
                    await self._check_trimmed()
                    self._checked = True
                await self.read_once()
            except (RedisError, OSError) as exc:
                log.warning(
                    "cluster_broker_unreachable", extra={"kv": {"error": str(exc) or type(exc).__name__}}
                )
                self._checked = False  # the stream may have been trimmed or lost meanwhile
                await asyncio.sleep(RETRY_S)
            except Exception:
                log.exception("cluster_read_failed")
                await asyncio.sleep(RETRY_S)

    async def _check_trimmed(self) -> None:
        """Entries after our last id that the stream no longer holds: a gap."""
        if self.last_id == "0":
            return
        try:
            info = await self._redis.xinfo_stream(self.stream)
        except RedisError as exc:
            if "no such key" in str(exc).lower():
                self._gap("the stream is gone (the broker lost it)")
                return
            raise
        # Trimming moves the first entry past our last id (the entries between may have been
        # none: resynchronizing then is only unneeded, never wrong); XDEL moves the deleted mark.
        first = info.get("recorded-first-entry-id") or b"0-0"
        deleted = info.get("max-deleted-entry-id") or b"0-0"
        mine = _id_key(self.last_id)
        if _id_key(_text(first)) > mine or _id_key(_text(deleted)) > mine:
            self._gap("entries were trimmed before they were read")

    async def read_once(self) -> int:
        answer = await self._redis.xread({self.stream: self.last_id}, count=1000, block=self._block_ms)
        count = 0
        for _stream, entries in answer or []:
            for entry_id, fields in entries:
                self.last_id = _text(entry_id)
                self._take(self.last_id, fields)
                count += 1
        return count

    def _take(self, entry_id: str, fields: dict) -> None:
        node = _text(fields.get(b"n", b""))
        epoch, seq = int(fields.get(b"e", 0)), int(fields.get(b"s", 0))
        last = self._seqs.get(node)
        if last is not None and seq != last + 1:
            self._gap(f"node {node} skipped from {last} to {seq}")
        elif last is None and self._from_start and seq != 1:
            self._gap(f"node {node}'s first {seq - 1} events were trimmed")
        self._seqs[node] = seq
        if epoch and epoch < self.highest_epoch:
            self.fenced += 1
            return
        self.highest_epoch = max(self.highest_epoch, epoch)
        if node == self.node:
            return
        try:
            event = decode(fields[b"v"])
        except (CodecError, KeyError) as exc:
            log.warning("cluster_event_unreadable", extra={"kv": {"id": entry_id, "error": str(exc)}})
            return
        try:
            self._on_event(Entry(entry_id, node, epoch, seq, event))
        except Exception:
            log.exception("cluster_event_failed", extra={"kv": {"id": entry_id}})

    def _gap(self, reason: str) -> None:
        log.warning("cluster_events_missed", extra={"kv": {"reason": reason}})
        self._resync_due = True
        self._on_gap(reason)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def relay_into(bus: EventBus, publisher: StreamPublisher | None = None) -> Callable[[Entry], None]:
    """An ``on_event`` that publishes other nodes' events on ``bus`` (not sent back out)."""

    def on_event(entry: Entry) -> None:
        if publisher is not None:
            publisher.skip(entry.event)
        bus.publish(entry.event)

    return on_event
