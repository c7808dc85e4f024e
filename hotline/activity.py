"""A running tally of calls and agents, printed while Hotline serves so an operator sees it live."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from acd.events import AgentStateChanged
from acd.models import AgentState
from cti.bus import EventBus
from cti.events import CallAbandoned, CallAnswered, CallEnded, CallOffered, CallQueued

WATCHED = (CallOffered, CallQueued, CallAnswered, CallAbandoned, CallEnded, AgentStateChanged)


@dataclass
class Activity:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    waiting: set[str] = field(default_factory=set)
    in_progress: set[str] = field(default_factory=set)
    agents: dict[str, AgentState] = field(default_factory=dict)

    def add(self, event: object) -> None:
        match event:
            case CallOffered(call_id=call_id):
                self.offered += 1
                self.in_progress.add(call_id)
            case CallQueued(call_id=call_id):
                self.waiting.add(call_id)
            case CallAnswered(call_id=call_id):
                self.answered += 1
                self.waiting.discard(call_id)
            case CallAbandoned(call_id=call_id):
                self.abandoned += 1
                self.waiting.discard(call_id)
            case CallEnded(call_id=call_id):
                self.waiting.discard(call_id)
                self.in_progress.discard(call_id)
            case AgentStateChanged(agent=agent, state=state):
                self.agents[agent] = state

    def line(self) -> str:
        states = Counter(self.agents.values())
        agents = ", ".join(
            f"{states[state]} {state.value}"
            for state in AgentState
            if states[state] and state is not AgentState.LOGGED_OUT
        )
        return (
            f"calls: {self.offered} offered, {self.answered} answered, {self.abandoned} abandoned,"
            f" {len(self.in_progress)} in progress, {len(self.waiting)} waiting"
            f" | agents: {agents or 'none logged in'}"
        )


async def report_activity(bus: EventBus, every_s: float, out: Callable[[str], None]) -> None:
    """Print the tally every ``every_s`` seconds when something changed, until cancelled."""
    activity = Activity()
    subscription = bus.subscribe("activity", *WATCHED)
    last = ""
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(every_s):
                    while True:
                        activity.add(await subscription.get())
            line = activity.line()
            if line != last:
                out(line)
                last = line
    finally:
        bus.unsubscribe(subscription)
