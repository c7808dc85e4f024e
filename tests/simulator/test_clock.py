"""Virtual time moves only when everything waits on it."""

from __future__ import annotations

import asyncio

from cti.simulator import VirtualClock


async def test_virtual_time_jumps_to_the_next_deadline_in_order() -> None:
    clock = VirtualClock(start=1000.0)
    ticking = asyncio.create_task(clock.run())
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, delay: float) -> None:
        await clock.sleep(delay)
        woke.append((name, clock.time()))

    await asyncio.gather(sleeper("late", 30.0), sleeper("early", 0.5), sleeper("same", 0.5))
    ticking.cancel()
    assert woke == [("early", 1000.5), ("same", 1000.5), ("late", 1030.0)]


async def test_busy_work_holds_virtual_time_still() -> None:
    clock = VirtualClock(start=0.0)
    ticking = asyncio.create_task(clock.run())
    released = asyncio.Event()
    timer = clock.timer(1.0)

    async def slow_peer() -> float:
        with clock.busy():
            await released.wait()
            return clock.time()

    peer = asyncio.create_task(slow_peer())
    for _ in range(50):
        await asyncio.sleep(0)
    assert not timer.done()
    released.set()
    assert await peer == 0.0
    await timer
    assert clock.time() == 1.0
    ticking.cancel()
