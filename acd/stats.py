"""Live queue statistics for the wallboard and the marketing gate: pure, updated on every event.

Figures over a sliding window (``window_s``, half an hour by default) of finished calls:

- service level = calls answered within the queue's T seconds ÷ (answered + abandoned); 1.0
  when no call was answered or abandoned in the window, so an empty morning is not "bad";
- abandon rate = abandoned ÷ (answered + abandoned);
- ASA = mean wait of the answered calls;
- AHT = (talk + wrap-up) ÷ calls handled, a call counting once its talk has ended;
- waiting and longest wait are live: a caller waits from joining the queue until answered or
  gone, ringing agents included (the caller is still waiting for service).

A call is counted in the queue it first joined, whoever's agents answer it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from acd.events import AgentsByState, AgentStateChanged, QueueStatsUpdated
from acd.models import AgentState, QueueConfig
from crm.restart_state import RecentLeg
from cti.events import CallAbandoned, CallAnswered, CallEnded, CallQueued, SwitchResynced

_ANSWERED, _ABANDONED, _HANDLED, _WRAPUP = range(4)
_STATE_FIELD = {
    AgentState.AVAILABLE: "available",
    AgentState.RINGING: "ringing",
    AgentState.ON_CALL: "on_call",
    AgentState.WRAP_UP: "wrap_up",
    AgentState.PAUSED: "paused",
    AgentState.OUTBOUND: "outbound",
}


@dataclass(slots=True)
class _QueueFigures:
    service_level_s: float
    waiting: dict[str, datetime] = field(default_factory=dict)  # call → joined at, in arrival order
    records: deque[tuple[datetime, int, float]] = field(default_factory=deque)
    answered: int = 0
    abandoned: int = 0
    within_sl: int = 0
    wait_sum: float = 0.0
    handled: int = 0
    handle_sum: float = 0.0
    agents: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_STATE_FIELD.values(), 0))

    def add(self, at: datetime, kind: int, value: float, sign: int) -> None:
        if kind == _ANSWERED:
            self.answered += sign
            self.wait_sum += sign * value
            if value <= self.service_level_s:
                self.within_sl += sign
        elif kind == _ABANDONED:
            self.abandoned += sign
        elif kind == _HANDLED:
            self.handled += sign
            self.handle_sum += sign * value
        else:
            self.handle_sum += sign * value


class QueueStatistics:
    def __init__(self, queues: Mapping[str, QueueConfig], *, window_s: float = 1800.0) -> None:
        self._window = timedelta(seconds=window_s)
        self._queues = {name: _QueueFigures(q.service_level_s) for name, q in queues.items()}
        self._call_queue: dict[str, str] = {}  # call → the queue it first joined, until it ends
        self._agent_queues: dict[str, tuple[AgentState, tuple[str, ...]]] = {}

    def feed(self, event: object) -> tuple[str, ...]:
        """Apply one event; returns the queues whose figures it changed."""
        if isinstance(event, CallQueued):
            figures = self._queues.get(event.queue)
            if figures is None or event.call_id in self._call_queue:
                return ()
            self._call_queue[event.call_id] = event.queue
            figures.waiting[event.call_id] = event.at
            return (event.queue,)
        if isinstance(event, CallAnswered):
            queue = self._call_queue.get(event.call_id)
            figures = self._queues.get(queue or "")
            if figures is None or figures.waiting.pop(event.call_id, None) is None:
                return ()
            self._record(figures, event.at, _ANSWERED, event.wait_seconds)
            return (queue,)  # type: ignore[return-value]
        if isinstance(event, CallAbandoned):
            queue = self._call_queue.pop(event.call_id, None)
            figures = self._queues.get(queue or "")
            if figures is None or figures.waiting.pop(event.call_id, None) is None:
                return ()
            self._record(figures, event.at, _ABANDONED, event.wait_seconds)
            return (queue,)  # type: ignore[return-value]
        if isinstance(event, CallEnded):
            queue = self._call_queue.pop(event.call_id, None)
            figures = self._queues.get(queue or "")
            if figures is None:
                return ()
            if figures.waiting.pop(event.call_id, None) is None:
                self._record(figures, event.at, _HANDLED, event.talk_seconds)
            # else: the caller hung up while an agent's phone rang: neither answered nor abandoned
            # in the queue (Asterisk had let go of the caller)
            return (queue,)  # type: ignore[return-value]
        if isinstance(event, AgentStateChanged):
            return self._agent_changed(event)
        return ()

    def _agent_changed(self, event: AgentStateChanged) -> tuple[str, ...]:
        touched: set[str] = set()
        old = self._agent_queues.pop(event.agent, None)
        if old is not None:
            state, queues = old
            for queue in queues:
                if queue in self._queues:
                    self._queues[queue].agents[_STATE_FIELD[state]] -= 1
                    touched.add(queue)
        if event.state is not AgentState.LOGGED_OUT:
            self._agent_queues[event.agent] = (event.state, event.queues)
            for queue in event.queues:
                if queue in self._queues:
                    self._queues[queue].agents[_STATE_FIELD[event.state]] += 1
                    touched.add(queue)
        if event.previous is AgentState.WRAP_UP and event.queue in self._queues:
            self._record(self._queues[event.queue], event.at, _WRAPUP, event.previous_seconds)
            touched.add(event.queue)
        return tuple(sorted(touched))

    @property
    def window(self) -> timedelta:
        return self._window

    def restore(self, legs: Iterable[RecentLeg], now: datetime) -> tuple[str, ...]:
        """At start, before any event: the window's finished calls counted again from the stored
        queue legs, so a restart does not empty the wallboard. A call counts in the first queue it
        entered, answered if any of its legs was (after the waits of all of them), else abandoned
        if one was; its talk and wrap-up as the legs stored them. Returns the queues touched."""
        calls: dict[str, list[RecentLeg]] = {}
        for leg in legs:
            calls.setdefault(leg.call_id, []).append(leg)
        records: list[tuple[datetime, str, int, float]] = []
        for visits in calls.values():
            visits.sort(key=lambda leg: leg.entered_at)
            first, wait = visits[0], sum(leg.wait_s for leg in visits)
            answered = next((leg for leg in visits if leg.outcome == "answered"), None)
            left_at = first.entered_at + timedelta(seconds=wait)
            if answered is not None:
                talk_over = left_at + timedelta(seconds=answered.talk_s)
                records.append((left_at, first.queue, _ANSWERED, wait))
                records.append((talk_over, first.queue, _HANDLED, answered.talk_s))
                if answered.wrap_s > 0:
                    records.append(
                        (
                            talk_over + timedelta(seconds=answered.wrap_s),
                            first.queue,
                            _WRAPUP,
                            answered.wrap_s,
                        )
                    )
            elif any(leg.outcome == "abandoned" for leg in visits):
                records.append((left_at, first.queue, _ABANDONED, wait))
        horizon, touched = now - self._window, set()
        for at, queue, kind, value in sorted(records, key=lambda record: record[0]):
            figures = self._queues.get(queue)
            if figures is not None and horizon <= at <= now:
                self._record(figures, at, kind, value)
                touched.add(queue)
        return tuple(sorted(touched))

    def set_queue(self, queue: QueueConfig) -> None:
        """A queue added or changed at run time. A new service-level threshold applies to the whole
        window at once: the answered calls in it are counted again against the new T."""
        figures = self._queues.get(queue.name)
        if figures is None:
            # its agents are counted as they are reseated (``reseat``)
            self._queues[queue.name] = _QueueFigures(queue.service_level_s)
            return
        figures.service_level_s = queue.service_level_s
        figures.within_sl = sum(
            1 for _, kind, wait in figures.records if kind == _ANSWERED and wait <= queue.service_level_s
        )

    def remove_queue(self, name: str) -> None:
        self._queues.pop(name, None)

    def reseat(self, agent: str, queues: tuple[str, ...]) -> tuple[str, ...]:
        """A logged-in agent serves other queues now (a queue added, removed or given another
        skill): counted under the new ones in their current state. Returns the queues touched."""
        old = self._agent_queues.get(agent)
        if old is None:
            return ()
        state, before = old
        self._agent_queues[agent] = (state, queues)
        field_name = _STATE_FIELD[state]
        for queue in before:
            if queue in self._queues:
                self._queues[queue].agents[field_name] -= 1
        for queue in queues:
            if queue in self._queues:
                self._queues[queue].agents[field_name] += 1
        return tuple(sorted(set(before) ^ set(queues)))

    def forget_calls(self, resynced: SwitchResynced) -> tuple[str, ...]:
        """After a resync: calls the switch no longer has are no longer waiting."""
        touched = []
        for name, figures in self._queues.items():
            gone = resynced.ended(figures.waiting)
            for call in gone:
                del figures.waiting[call]
                self._call_queue.pop(call, None)
            if gone:
                touched.append(name)
        return tuple(touched)

    def _record(self, figures: _QueueFigures, at: datetime, kind: int, value: float) -> None:
        figures.records.append((at, kind, value))
        figures.add(at, kind, value, +1)

    def _expire(self, figures: _QueueFigures, now: datetime) -> None:
        horizon = now - self._window
        records = figures.records
        while records and records[0][0] < horizon:
            at, kind, value = records.popleft()
            figures.add(at, kind, value, -1)

    def snapshot(self, queue: str, now: datetime) -> QueueStatsUpdated:
        figures = self._queues[queue]
        self._expire(figures, now)
        offered = figures.answered + figures.abandoned
        oldest = next(iter(figures.waiting.values()), None)
        return QueueStatsUpdated(
            at=now,
            queue=queue,
            waiting=len(figures.waiting),
            longest_wait_s=max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0,
            answered=figures.answered,
            abandoned=figures.abandoned,
            answered_within_sl=figures.within_sl,
            service_level=figures.within_sl / offered if offered else 1.0,
            abandon_rate=figures.abandoned / offered if offered else 0.0,
            asa_s=figures.wait_sum / figures.answered if figures.answered else 0.0,
            aht_s=figures.handle_sum / figures.handled if figures.handled else 0.0,
            agents=AgentsByState(**figures.agents),
        )

    def snapshots(self, now: datetime) -> list[QueueStatsUpdated]:
        return [self.snapshot(queue, now) for queue in self._queues]

    @property
    def queues(self) -> tuple[str, ...]:
        return tuple(self._queues)
