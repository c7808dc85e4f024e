"""Steady, seeded call arrivals for load and for ``hotline demo``."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cti.simulator.scripts import CallerScript, random_caller

if TYPE_CHECKING:
    from cti.simulator.core import CallRecord, SwitchSimulator


@dataclass(frozen=True, slots=True)
class TrafficSummary:
    offered: int
    answered: int
    abandoned: int
    other: int
    mean_wait_s: float

    def lines(self) -> list[str]:
        return [
            f"offered:   {self.offered}",
            f"answered:  {self.answered}",
            f"abandoned: {self.abandoned}",
            f"other:     {self.other}",
            f"mean wait: {self.mean_wait_s:.1f} s",
        ]


def summarize(calls: list[CallRecord]) -> TrafficSummary:
    answered = [c for c in calls if c.answered is not None]
    abandoned = [c for c in calls if c.abandoned]
    waits = [w for c in calls if (w := c.wait_s) is not None]
    return TrafficSummary(
        offered=len(calls),
        answered=len(answered),
        abandoned=len(abandoned),
        other=len(calls) - len(answered) - len(abandoned),
        mean_wait_s=sum(waits) / len(waits) if waits else 0.0,
    )


class DemoTraffic:
    """``calls`` callers arriving at ``rate`` calls per second (Poisson, seeded); ``menu``, when
    given, draws each caller's keys through the IVR menu."""

    def __init__(
        self,
        sim: SwitchSimulator,
        *,
        rate: float,
        seed: int = 1,
        abandon_ratio: float = 0.2,
        patience_s: tuple[float, float] = (4.0, 20.0),
        stay_s: tuple[float, float] = (25.0, 60.0),
        script: CallerScript | None = None,
        numbers: Sequence[str] = (),
        menu: Callable[[random.Random], tuple[tuple[float, str], ...]] | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive (calls per second)")
        self.sim = sim
        self.rate = rate
        self.abandon_ratio = abandon_ratio
        self.patience_s = patience_s
        self.stay_s = stay_s
        self.script = script
        self.numbers = tuple(numbers)  # known callers' numbers, for most of the calls
        self.menu = menu  # each caller's keys through the menu (ivr/menus), drawn from the seed
        self._rng = random.Random(seed)
        self.placed: list[CallRecord] = []
        self._task: asyncio.Task[None] | None = None

    async def run(self, calls: int) -> TrafficSummary:
        """Place ``calls`` callers, then wait until every call has ended."""
        await self._arrivals(calls)
        for record in self.placed:
            if record.done is not None:
                await record.done
        return summarize(self.placed)

    def start(self) -> None:
        """Callers keep arriving in the background until ``stop()`` (``hotline serve --demo``)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._arrivals(None), name="demo-traffic")

    async def stop(self) -> TrafficSummary:
        """No new callers; the calls in progress go on in the simulator until they end."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return summarize(self.placed)

    async def _arrivals(self, calls: int | None) -> None:
        index = 0
        while calls is None or index < calls:
            index += 1
            script = self.script or random_caller(
                self._rng,
                index,
                abandon_ratio=self.abandon_ratio,
                patience_s=self.patience_s,
                stay_s=self.stay_s,
                numbers=self.numbers,
                presses=self.menu(self._rng) if self.menu is not None else (),
            )
            self.placed.append(self.sim.place_call(script))
            if calls is None or index < calls:
                await self.sim.clock.sleep(self._rng.expovariate(self.rate))
