"""Domain events between two nodes' buses through a real Redis: in order per call, caught up after
an absence, a gap reported when events were lost, nothing echoed back, a deposed leader fenced."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from cti.bus import EventBus
from cti.events import CallAnswered, CallEnded, CallOffered, CallQueued, CallRinging, EndCause
from hotline.cluster.redis_bus import Entry, StreamPublisher, StreamReader, connect, relay_into
from tests.cluster.conftest import RedisServer

AT = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
WAIT_S = 5.0


def call(call_id: str) -> list[object]:
    return [
        CallOffered(AT, call_id, "13800138000", "", "4008001234", f"PJSIP/trunk-{call_id}"),
        CallQueued(AT, call_id, "support", 1),
        CallRinging(AT, call_id, "PJSIP/1001", "support", "PJSIP/1001-1"),
        CallAnswered(AT, call_id, "PJSIP/1001", "support", 3.0),
        CallEnded(AT, call_id, EndCause.NORMAL, 30.0),
    ]


@pytest.fixture
async def stream(redis_server: RedisServer) -> AsyncIterator[str]:
    redis = connect(redis_server.url)
    name = f"test:{uuid.uuid4().hex}"
    yield name
    await redis.delete(name)
    await redis.aclose()


async def until(predicate, within_s: float = WAIT_S) -> None:
    async with asyncio.timeout(within_s):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_events_reach_the_other_node_in_order_per_call_and_are_not_sent_back(
    redis_server: RedisServer, stream: str
) -> None:
    redis_a, redis_b = connect(redis_server.url), connect(redis_server.url)
    bus_a, bus_b = EventBus(), EventBus()
    out_a = StreamPublisher(bus_a, redis_a, node="a", stream=stream)
    out_b = StreamPublisher(bus_b, redis_b, node="b", stream=stream)
    seen_b = bus_b.subscribe("test")
    into_b = StreamReader(redis_b, node="b", stream=stream, on_event=relay_into(bus_b, out_b))
    echoed: list[Entry] = []
    into_a = StreamReader(redis_a, node="a", stream=stream, on_event=echoed.append)
    for part in (out_a, out_b, into_b, into_a):
        await part.start()
    try:
        calls = {f"c-{i}": call(f"c-{i}") for i in range(40)}
        # The calls' events interleave on the bus as concurrent calls' events do.
        order = [call_id for call_id, events in calls.items() for _ in events]
        random.Random(7).shuffle(order)
        cursors = dict.fromkeys(calls, 0)
        for call_id in order:
            bus_a.publish(calls[call_id][cursors[call_id]])
            cursors[call_id] += 1
        received: list[object] = []
        async with asyncio.timeout(WAIT_S):
            while len(received) < len(order):
                received.append(await seen_b.get())
        for call_id, events in calls.items():
            assert [e for e in received if e.call_id == call_id] == events
        # b put a's events on its own bus; they do not travel back to a.
        await asyncio.sleep(0.3)
        assert out_b.sent == 0
        assert echoed == []
    finally:
        for part in (out_a, out_b, into_b, into_a):
            await part.stop()
        await redis_a.aclose()
        await redis_b.aclose()


async def test_a_node_that_was_away_catches_up_from_the_last_id_it_saw(
    redis_server: RedisServer, stream: str
) -> None:
    redis = connect(redis_server.url)
    bus = EventBus()
    out = StreamPublisher(bus, redis, node="leader", stream=stream)
    await out.start()
    got: list[object] = []
    gaps: list[str] = []
    reader = StreamReader(
        redis, node="f", stream=stream, on_event=lambda e: got.append(e.event), on_gap=gaps.append
    )
    try:
        bus.publish_all(call("c-1"))
        await reader.start()
        await until(lambda: len(got) == 5)
        await reader.stop()  # away
        bus.publish_all(call("c-2"))
        await until(lambda: out.sent == 10)
        back = StreamReader(
            redis, node="f", stream=stream, after=reader.last_id,
            on_event=lambda e: got.append(e.event), on_gap=gaps.append,
        )  # fmt: skip
        await back.start()
        await until(lambda: len(got) == 10)
        await back.stop()
        assert got == call("c-1") + call("c-2")
        assert gaps == []
    finally:
        await out.stop()
        await reader.stop()
        await redis.aclose()


async def test_a_node_that_was_away_too_long_is_told_to_resynchronize(
    redis_server: RedisServer, stream: str
) -> None:
    redis = connect(redis_server.url)
    bus = EventBus()
    out = StreamPublisher(bus, redis, node="leader", stream=stream, maxlen=10)
    await out.start()
    try:
        bus.publish_all(call("c-1"))
        await until(lambda: out.sent == 5)
        first = await redis.xrange(stream)
        last_seen = first[1][0].decode()
        for i in range(2, 40):
            bus.publish_all(call(f"c-{i}"))
        await until(lambda: out.sent == 5 * 39)
        await redis.xtrim(stream, maxlen=10, approximate=False)
        gaps: list[str] = []
        back = StreamReader(
            redis, node="f", stream=stream, after=last_seen, on_event=lambda _e: None, on_gap=gaps.append
        )
        await back.start()
        await until(lambda: gaps != [])
        await back.stop()
        assert "trimmed" in gaps[0]
    finally:
        await out.stop()
        await redis.aclose()


async def test_across_a_broker_restart_what_the_publisher_held_arrives_and_readers_resynchronize(
    redis_server: RedisServer, stream: str
) -> None:
    redis = connect(redis_server.url)
    reader_redis = connect(redis_server.url)
    bus = EventBus()
    out = StreamPublisher(bus, redis, node="leader", stream=stream)
    got: list[object] = []
    gaps: list[str] = []
    reader = StreamReader(
        reader_redis, node="f", stream=stream, on_event=lambda e: got.append(e.event), on_gap=gaps.append
    )
    await out.start()
    await reader.start()
    try:
        bus.publish_all(call("c-1"))
        await until(lambda: len(got) == 5)
        redis_server.stop()
        bus.publish_all(call("c-2"))  # published while the broker is down: held by the publisher
        await asyncio.sleep(0.3)
        redis_server.start()  # no persistence: the stream comes back empty
        await until(lambda: len(got) == 10, within_s=10)
        assert got == call("c-1") + call("c-2")
        # The broker came back without its stream: a reader cannot know what else it lost, and
        # is told to resynchronize.
        assert gaps != []
    finally:
        await out.stop()
        await reader.stop()
        await redis.aclose()
        await reader_redis.aclose()


async def test_a_deposed_leaders_late_events_are_dropped(redis_server: RedisServer, stream: str) -> None:
    redis = connect(redis_server.url)
    epochs = {"old": 3, "new": 4}
    buses = {name: EventBus() for name in epochs}
    outs = {
        name: StreamPublisher(buses[name], redis, node=name, stream=stream, epoch=lambda n=name: epochs[n])
        for name in epochs
    }
    got: list[Entry] = []
    reader = StreamReader(redis, node="f", stream=stream, on_event=got.append)
    for part in (*outs.values(), reader):
        await part.start()
    try:
        buses["old"].publish_all(call("c-1"))
        await until(lambda: len(got) == 5)
        buses["new"].publish_all(call("c-2"))
        await until(lambda: len(got) == 10)
        buses["old"].publish(CallEnded(AT, "c-2", EndCause.NORMAL, 1.0))  # too late: it no longer leads
        await until(lambda: reader.fenced == 1)
        assert [entry.node for entry in got] == ["old"] * 5 + ["new"] * 5
    finally:
        for part in (*outs.values(), reader):
            await part.stop()
        await redis.aclose()


async def test_an_event_its_consumer_fails_on_is_logged_and_the_next_ones_still_arrive(
    redis_server: RedisServer, stream: str
) -> None:
    redis = connect(redis_server.url)
    bus = EventBus()
    out = StreamPublisher(bus, redis, node="leader", stream=stream)
    got: list[object] = []

    def consume(entry: Entry) -> None:
        if isinstance(entry.event, CallQueued):
            raise RuntimeError("a consumer's bug")
        got.append(entry.event)

    reader = StreamReader(redis, node="f", stream=stream, on_event=consume)
    await out.start()
    await reader.start()
    try:
        bus.publish_all(call("c-1"))
        await until(lambda: len(got) == 4)
        assert [type(e).__name__ for e in got] == ["CallOffered", "CallRinging", "CallAnswered", "CallEnded"]
    finally:
        await out.stop()
        await reader.stop()
        await redis.aclose()
