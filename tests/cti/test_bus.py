from __future__ import annotations

from datetime import UTC, datetime

from cti.bus import EventBus
from cti.events import CallEnded, CallQueued, EndCause

AT = datetime(2026, 11, 23, 6, 46, tzinfo=UTC)


def queued(call_id: str) -> CallQueued:
    return CallQueued(at=AT, call_id=call_id, queue="support", position=1)


async def test_subscriber_receives_only_the_types_it_asked_for() -> None:
    bus = EventBus()
    ended = bus.subscribe("reports", CallEnded)
    bus.publish(queued("a"))
    bus.publish(CallEnded(at=AT, call_id="a", cause=EndCause.NORMAL, talk_seconds=4))
    assert (await ended.get()).call_id == "a"
    assert ended.pending() == 0


def test_slow_subscriber_loses_its_oldest_events_and_never_blocks_the_publisher() -> None:
    bus = EventBus()
    slow = bus.subscribe("slow", maxsize=2)
    fast = bus.subscribe("fast", maxsize=10)
    for n in range(5):
        bus.publish(queued(str(n)))
    assert slow.dropped == 3
    assert [slow.get_nowait().call_id for _ in range(2)] == ["3", "4"]
    assert fast.pending() == 5


def test_a_failing_listener_does_not_stop_delivery_to_others() -> None:
    bus = EventBus()
    seen: list[object] = []

    def broken(event: object) -> None:
        raise RuntimeError("boom")

    bus.listen(broken)
    bus.listen(seen.append)
    sub = bus.subscribe("any")
    bus.publish(queued("x"))
    assert len(seen) == 1
    assert sub.pending() == 1
