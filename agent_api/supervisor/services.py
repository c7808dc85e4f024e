"""The wallboard: queue figures, agents by state, marketing against its threshold.

Boards are pushed coalesced: every change marks the board dirty and one ticker builds it at most
``1 / interval_s`` times a second, serializes it once and offers it to every supervisor's socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from agent_api.ports import Acd
from agent_api.supervisor.schemas import (
    AgentLine,
    CallbackLine,
    MarketingLine,
    QueueFigures,
    WaitingLine,
    Wallboard,
)
from agent_api.ws_hub import Hub, frame
from crm.kinds import Role

log = logging.getLogger(__name__)

BOARD_ROLES = (Role.SUPERVISOR, Role.ADMIN)
BOARD_INTERVAL_S = 0.25
BOARD_LIST_MAX = 50  # waiting callers and callbacks listed; the counts say how many in all


class Board:
    def __init__(
        self, acd: Acd, hub: Hub, clock: Callable[[], datetime], interval_s: float = BOARD_INTERVAL_S
    ):
        self._acd = acd
        self._hub = hub
        self._clock = clock
        self._interval_s = interval_s
        self._dirty = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.pushed = 0

    def mark_dirty(self) -> None:
        self._dirty.set()

    def wallboard(self) -> Wallboard:
        now = self._clock()
        acd = self._acd
        queues = []
        for name in acd.config.queues:
            s = acd.snapshot(name)
            queues.append(
                QueueFigures(
                    queue=name,
                    waiting=s.waiting,
                    longest_wait_s=round(s.longest_wait_s, 1),
                    service_level=round(s.service_level, 4),
                    abandon_rate=round(s.abandon_rate, 4),
                    answered=s.answered,
                    abandoned=s.abandoned,
                    asa_s=round(s.asa_s, 1),
                    aht_s=round(s.aht_s, 1),
                    offered=s.answered + s.abandoned,
                    answered_within_sl=s.answered_within_sl,
                    service_level_s=acd.config.queues[name].service_level_s,
                )
            )
        agents = []
        logged_in_by_group: dict[str, int] = {}
        for record in acd.states:
            if str(record.state) == "logged-out":
                continue
            group = record.profile.group
            logged_in_by_group[group] = logged_in_by_group.get(group, 0) + 1
            agents.append(
                AgentLine(
                    agent=record.profile.agent,
                    name=record.profile.name or record.profile.agent,
                    state=str(record.state),
                    reason=record.reason,
                    seconds_in_state=round((now - record.since).total_seconds(), 1) if record.since else 0.0,
                    queues=list(record.queues),
                    call_id=record.call_id,
                )
            )
        marketing = []
        for policy in acd.gate.policies():
            marketing.append(
                MarketingLine(
                    group=policy.group,
                    queues=list(policy.queues),
                    max_agents=policy.max_agents,
                    max_percent=policy.max_percent,
                    limit=policy.limit(logged_in_by_group.get(policy.group, 0)),
                    marketing_agents=len(acd.gate.marketing_agents(policy.group)),
                    gate_open=acd.gate.is_open(policy.group),
                    stop_waiting=policy.stop_waiting,
                    resume_waiting=policy.resume_waiting,
                    stop_longest_wait_s=policy.stop_longest_wait_s,
                    resume_longest_wait_s=policy.resume_longest_wait_s,
                    stop_service_level=policy.stop_service_level,
                    resume_service_level=policy.resume_service_level,
                    min_hold_s=policy.min_hold_s,
                )
            )
        return Wallboard(
            at=now.isoformat(),
            queues=queues,
            agents=agents,
            marketing=marketing,
            window_s=acd.config.stats_window_s,
            waiting_calls=self._waiting_calls(now),
            callbacks=self._callbacks(now),
        )

    def _waiting_calls(self, now: datetime) -> list[WaitingLine]:
        calls = sorted(self._acd.router.calls(), key=lambda c: c.queued_at or now)
        return [
            WaitingLine(
                call_id=call.call_id,
                queue=call.queue,
                wait_s=round((now - call.queued_at).total_seconds(), 1) if call.queued_at else 0.0,
                priority=call.priority,
                caller=_last_digits(call.caller),
            )
            for call in calls[:BOARD_LIST_MAX]
        ]

    def _callbacks(self, now: datetime) -> list[CallbackLine]:
        lines = []
        for view in self._acd.callbacks_waiting()[:BOARD_LIST_MAX]:
            requested = view.request.requested_at
            lines.append(
                CallbackLine(
                    queue=view.request.queue,
                    number=_last_digits(view.request.number),
                    phase=str(view.phase),
                    attempts=view.attempts,
                    wait_s=round((now - requested).total_seconds(), 1) if requested else 0.0,
                )
            )
        return lines

    def board_frame(self) -> str:
        return frame("board", board=self.wallboard().model_dump())

    async def start(self) -> None:
        self._task = asyncio.create_task(self._ticker(), name="wallboard")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _ticker(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                # Nobody watching: no board is built (a supervisor's page gets one as it connects).
                if self._hub.has_roles(BOARD_ROLES):
                    self._hub.send_roles(BOARD_ROLES, self.board_frame())
                    self.pushed += 1
            except Exception:
                log.exception("wallboard_failed")
            await asyncio.sleep(self._interval_s)  # the coalescing window, not a wait for an event


def _last_digits(number: str) -> str:
    """A caller's number as a wallboard on the floor's wall may show it."""
    return "…" + number[-4:] if len(number) > 4 else number
