"""A channel under the simulator's control, and the events that can interrupt what it is doing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cti.simulator.channels import Channel

if TYPE_CHECKING:
    from cti.simulator.core import SwitchSimulator


@dataclass(frozen=True, slots=True)
class RedirectTo:
    context: str
    exten: str
    priority: int = 1


@dataclass(slots=True)
class Leg:
    """A channel plus the futures that end its current wait: the far end hung up, an AMI
    Redirect or Hangup arrived, or a digit was pressed."""

    channel: Channel
    gone: asyncio.Future[int] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    redirect: asyncio.Future[RedirectTo] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    digit_waiter: asyncio.Future[str] | None = None
    # Set while the leg waits in hotline-hold-agent: a caller's Bridge() takes it from there.
    taken: asyncio.Future[None] | None = None
    hangup_by_action: bool = False

    def hang_up(self, cause: int = 16, *, by_action: bool = False) -> None:
        if not self.gone.done():
            self.hangup_by_action = by_action
            self.gone.set_result(cause)

    def redirect_to(self, target: RedirectTo) -> None:
        if self.redirect.done():
            self.redirect = asyncio.get_running_loop().create_future()
        self.redirect.set_result(target)

    def take_redirect(self) -> RedirectTo | None:
        if self.redirect.done():
            target = self.redirect.result()
            self.redirect = asyncio.get_running_loop().create_future()
            return target
        return None


async def first_of(*futures: asyncio.Future[object] | None) -> None:
    """Wait until any of the futures completes (``None`` entries are ignored)."""
    waiting: Iterable[asyncio.Future[object]] = [f for f in futures if f is not None]
    if any(f.done() for f in waiting):
        return
    await asyncio.wait(list(waiting), return_when=asyncio.FIRST_COMPLETED)


async def ring_phone(
    sim: SwitchSimulator, caller: Leg, agent: Channel, ring_s: float, answer_after_s: float | None
) -> str:
    """Ring the agent's phone for the caller until it answers ("answered") or why not: "cancel"
    (the caller hung up or was Redirected), "busy" (an AMI Hangup of the ringing phone refuses
    the call), "noanswer"."""
    no_answer = sim.clock.timer(ring_s)
    answer = sim.clock.timer(answer_after_s) if answer_after_s is not None else None
    ringing = Leg(agent)
    sim.legs[agent.name] = ringing
    try:
        await first_of(no_answer, answer, caller.gone, caller.redirect, ringing.gone)
    finally:
        no_answer.cancel()
        if answer is not None:
            answer.cancel()
        sim.legs.pop(agent.name, None)
    if caller.gone.done() or caller.redirect.done():
        return "cancel"
    if ringing.gone.done():
        return "busy"
    return "answered" if answer is not None and answer.done() else "noanswer"
