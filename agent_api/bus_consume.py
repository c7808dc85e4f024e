"""The events agent_api follows, taken from the bus by one task in the order they were published."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from acd.events import (
    AgentStateChanged,
    CallbackFailed,
    CallbackStarted,
    MarketingDecision,
    MarketingGateChanged,
    QueueStatsUpdated,
)
from agent_api.desktop.services import Desktop
from agent_api.supervisor.services import Board
from cti.bus import EventBus, Subscription
from cti.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallQueued,
    CallResumed,
    CallRinging,
    CallTransferred,
    ConferenceLeft,
    ConferenceStarted,
    ConsultCancelled,
    ConsultStarted,
    SwitchResynced,
)
from ivr.events import IvrCompleted

log = logging.getLogger(__name__)

CALL_EVENTS = (
    CallOffered,
    IvrCompleted,
    CallQueued,
    CallRinging,
    CallAnswered,
    CallHeld,
    CallResumed,
    CallTransferred,
    ConsultStarted,
    ConsultCancelled,
    ConferenceStarted,
    ConferenceLeft,
    CallEnded,
    CallAbandoned,
    SwitchResynced,
)
BOARD_EVENTS = (AgentStateChanged, QueueStatsUpdated, MarketingDecision, MarketingGateChanged)
CALLBACK_EVENTS = (CallbackStarted, CallbackFailed)


class LiveFeed:
    """Bus → call book, screen-pops, agent states, wallboard. The subscription's queue is bounded
    (the bus drops the oldest event for a subscriber that falls behind)."""

    def __init__(self, bus: EventBus, desktop: Desktop, board: Board, *, maxsize: int = 10_000) -> None:
        self._bus = bus
        self._desktop = desktop
        self._board = board
        self._maxsize = maxsize
        self._subscription: Subscription | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._subscription = self._bus.subscribe(
            "agent_api", *CALL_EVENTS, *CALLBACK_EVENTS, *BOARD_EVENTS, maxsize=self._maxsize
        )
        self._task = asyncio.create_task(self._run(self._subscription), name="agent-api-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._subscription is not None:
            self._bus.unsubscribe(self._subscription)
            self._subscription = None

    async def _run(self, subscription: Subscription) -> None:
        async for event in subscription:
            try:
                await self.handle(event)
            except Exception:
                log.exception("agent_api_event_failed", extra={"kv": {"event_type": type(event).__name__}})

    async def handle(self, event: object) -> None:
        desktop = self._desktop
        if isinstance(event, CALL_EVENTS):
            ended = desktop.calls.feed(event)
            if isinstance(event, CallRinging):
                await desktop.on_ringing(event)
            elif isinstance(event, CallAnswered):
                await desktop.on_answered(event)
            elif isinstance(event, CallHeld | CallResumed):
                desktop.call_changed(event.call_id)
            elif isinstance(event, CallTransferred):
                await desktop.call_left(event.call_id, event.from_agent)
            elif isinstance(event, ConsultStarted | ConsultCancelled | ConferenceStarted | ConferenceLeft):
                await desktop.consult_changed(event)
            if ended:
                await desktop.calls_ended(ended)
            return
        if isinstance(event, CallbackStarted):
            desktop.callback_started(event)
            return
        if isinstance(event, CallbackFailed):
            await desktop.callback_failed(event)
            return
        if isinstance(event, AgentStateChanged):
            await desktop.state_changed(event)
        self._board.mark_dirty()
