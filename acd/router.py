"""The router: which agent takes which waiting call. Pure and clock-injected (every input says when).

Matching keeps one invariant: after every input, no waiting call and available agent that could
serve it are left unpaired. So a decision never scans: a call that arrives only needs the best
available agent for its skill (the top of one heap), and an agent who becomes free only needs the
best waiting call among their skills (the tops of a few heaps).

- Agents are indexed per (skill, strategy) in heaps keyed by the strategy: longest idle
  (idle since), fewest calls (calls answered, then idle since), best skill (level, then idle
  since). Calls are indexed per skill in heaps keyed by call priority (VIP first), queue weight,
  then arrival. Entries are removed lazily: each agent and call carries a token, bumped whenever
  it leaves the index, and stale entries are dropped when they reach the top (or on compaction).
- Last-agent stickiness: a returning customer is offered to the agent who last answered them,
  within ``sticky_agent_s``, when that agent is free and has the skill — not the same call
  transferred back into a queue, which that agent handed on.
- Overflow: after a queue's ``overflow_after_s`` the call may also be served by the agents of
  ``overflow_to`` (under that queue's skill and strategy); it keeps its place and its queue.
- Ring-no-answer: the call goes back to its place and the next agent is tried; the agent stays
  reserved until the caller of ``ring_no_answer`` pauses them.
- Maximum wait: the call leaves the router with a ``MaxWait`` outcome (callback or message).
- A failed delivery puts the call back at its place after ``retry_delivery_s``.
"""

from __future__ import annotations

import enum
import heapq
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from acd.errors import QueueInUse, UnknownAgent, UnknownQueue
from acd.models import MaxWaitAction, QueueConfig, Strategy, WaitingCall
from acd.skill_index import AgentEntry, CallEntry, CallPhase, SkillIndex, Target

# Ringing is the dialplan's business (Dial's timeout); this margin covers the Redirect and the
# way back into the queue before the router gives up waiting for the news.
RING_GRACE_S = 5.0


@dataclass(frozen=True, slots=True)
class Assignment:
    call: WaitingCall
    agent: str
    queue: str  # the queue whose agents serve the call: its own, or the one it overflowed to
    attempt: int  # 1 for the first agent tried, 2 for the next…
    sticky: bool = False


@dataclass(frozen=True, slots=True)
class Overflowed:
    call: WaitingCall
    to_queue: str
    wait_seconds: float


@dataclass(frozen=True, slots=True)
class MaxWait:
    call: WaitingCall
    action: MaxWaitAction
    wait_seconds: float


@dataclass(frozen=True, slots=True)
class RingTimedOut:
    """No news of the agent answering within the ring timeout: treated as ring-no-answer."""

    call: WaitingCall
    agent: str


Outcome = Assignment | Overflowed | MaxWait | RingTimedOut


class _Timer(enum.IntEnum):
    OVERFLOW = 1
    MAX_WAIT = 2
    RING = 3
    RETRY = 4


def _ts(at: datetime) -> float:
    return at.timestamp()


class Router:
    def __init__(
        self,
        queues: Mapping[str, QueueConfig],
        *,
        ring_timeout_s: float = 15.0,
        sticky_agent_s: float = 86400.0,
        retry_delivery_s: float = 1.0,
    ) -> None:
        self._queues = dict(queues)
        self._ring_timeout_s = ring_timeout_s + RING_GRACE_S
        self._sticky_s = sticky_agent_s
        self._retry_s = retry_delivery_s
        self._agents: dict[str, AgentEntry] = {}
        self._calls: dict[str, CallEntry] = {}
        self._index = SkillIndex()
        self._timers: list[tuple[float, int, _Timer, str, int]] = []
        # customer → (agent, answered at, the call they answered)
        self._last_agent: dict[str, tuple[str, float, str]] = {}
        self._seq = itertools.count()

    # --- agents --------------------------------------------------------------------------------

    def set_agent(self, agent: str, skills: Mapping[str, int]) -> None:
        """Register an agent, or change their skills (a free agent is re-indexed at once)."""
        record = self._agents.get(agent)
        if record is None:
            self._agents[agent] = AgentEntry(agent, next(self._seq), skills)
            return
        was_available = record.available
        if was_available:
            self._index.unindex_agent(record)
        record.skills = dict(skills)
        if was_available:
            self._index.index_agent(record)

    def agent_available(
        self,
        agent: str,
        now: datetime,
        *,
        idle_since: datetime | None = None,
        calls_handled: int = 0,
        home: str = "",
    ) -> list[Assignment]:
        """The agent can take a call: the best waiting call among their skills, if any, is theirs.
        ``home``: the server their phone is homed on; they take only that server's callers."""
        record = self._agent(agent)
        if record.available:
            self._index.unindex_agent(record)
        record.home = home
        record.idle_ts = _ts(idle_since or now)
        record.calls = calls_handled
        best = self._index.best_call_for(record)
        if best is None:
            self._index.index_agent(record)
            return []
        call, queue = best
        return [self._assign(call, record, queue, _ts(now), sticky=False)]

    def agent_unavailable(self, agent: str) -> None:
        record = self._agent(agent)
        if record.available:
            self._index.unindex_agent(record)

    def best_call_key(self, agent: str) -> tuple[int, int, float] | None:
        """The place (−priority, −weight, waiting since) of the first waiting call the agent could
        take, without assigning it: what a callback is weighed against."""
        best = self._index.best_call_for(self._agent(agent))
        return best[0].key[:3] if best is not None else None

    def best_available_agent(self, skill: str, strategy: Strategy) -> str:
        """The available agent a call of this skill would get now; "" when none."""
        record = self._index.best_agent_anywhere(skill, strategy)
        return record.agent if record is not None else ""

    def agent_home(self, agent: str) -> str:
        return self._agent(agent).home

    def is_available(self, agent: str) -> bool:
        record = self._agents.get(agent)
        return record is not None and record.available

    # --- calls ---------------------------------------------------------------------------------

    def add_call(self, call: WaitingCall, now: datetime) -> list[Assignment]:
        """A caller to be served. Known already (news from the IVR after the queue's): the call is
        updated — skill, priority, customer — and keeps the place its arrival gave it."""
        queue = self._queues.get(call.queue)
        if queue is None:
            raise UnknownQueue(call.queue)
        existing = self._calls.get(call.call_id)
        if existing is not None:
            return self._update_call(existing, call, now)
        wait_from = _ts(call.queued_at or now)
        entry = CallEntry(replace(call, queued_at=call.queued_at or now), queue, next(self._seq), wait_from)
        self._calls[call.call_id] = entry
        if queue.overflow_after_s is not None:
            self._timer(wait_from + queue.overflow_after_s, _Timer.OVERFLOW, entry, 0)
        if queue.max_wait_s is not None:
            self._timer(wait_from + queue.max_wait_s, _Timer.MAX_WAIT, entry, 0)
        return self._route_call(entry, _ts(now), entry.targets)

    def _update_call(self, entry: CallEntry, call: WaitingCall, now: datetime) -> list[Assignment]:
        if entry.phase is CallPhase.WAITING:
            self._index.unindex_call(entry)
        queued_at = entry.call.queued_at
        entry.call = replace(call, queue=entry.call.queue, queued_at=queued_at)
        entry.key = (-call.priority, -entry.queue.weight, entry.wait_from, entry.key[3])
        skill = call.skill or entry.queue.skill
        entry.targets[0] = (skill, entry.queue.strategy, entry.queue.name)
        if entry.phase is CallPhase.WAITING:
            return self._route_call(entry, _ts(now), entry.targets)
        return []

    def remove_call(self, call_id: str) -> WaitingCall | None:
        """The call left (answered elsewhere, abandoned, ended): forget it."""
        entry = self._calls.pop(call_id, None)
        if entry is None:
            return None
        if entry.phase is CallPhase.WAITING:
            self._index.unindex_call(entry)
        entry.token += 1
        entry.phase = CallPhase.HELD  # unreachable from any heap or timer now
        return entry.call

    def answered(self, call_id: str, agent: str, now: datetime) -> WaitingCall | None:
        """The agent answered: the call is done here, and the customer will be sticky to them."""
        call = self.remove_call(call_id)
        key = call.customer_key if call is not None else ""
        if key:
            self._last_agent[key] = (agent, _ts(now), call_id)
        return call

    def ring_no_answer(self, call_id: str, now: datetime) -> tuple[str, list[Assignment]]:
        """The agent did not answer: the call goes back to its place and the next agent is tried.
        Returns the agent who missed it ("" when the call was not ringing anyone) and the new
        assignments. The agent stays out of the index until ``agent_available``."""
        entry = self._calls.get(call_id)
        if entry is None or entry.phase is not CallPhase.DELIVERING:
            return "", []
        missed = entry.agent
        entry.agent = ""
        entry.phase = CallPhase.WAITING
        entry.token += 1
        return missed, self._route_call(entry, _ts(now), entry.targets)

    def delivery_failed(self, call_id: str, now: datetime) -> str:
        """The switch refused the delivery: the call is held a moment, then back at its place.
        Returns the agent who was reserved for it (free them with ``agent_available``)."""
        entry = self._calls.get(call_id)
        if entry is None or entry.phase is not CallPhase.DELIVERING:
            return ""
        agent = entry.agent
        entry.agent = ""
        entry.phase = CallPhase.HELD
        entry.token += 1
        self._timer(_ts(now) + self._retry_s, _Timer.RETRY, entry, entry.token)
        return agent

    def call(self, call_id: str) -> WaitingCall | None:
        entry = self._calls.get(call_id)
        return entry.call if entry is not None else None

    def phase(self, call_id: str) -> CallPhase | None:
        entry = self._calls.get(call_id)
        return entry.phase if entry is not None else None

    def delivering_agent(self, call_id: str) -> str:
        entry = self._calls.get(call_id)
        return entry.agent if entry is not None and entry.phase is CallPhase.DELIVERING else ""

    def calls(self) -> list[WaitingCall]:
        return [entry.call for entry in self._calls.values()]

    # --- queues --------------------------------------------------------------------------------

    def set_queue(self, queue: QueueConfig, now: datetime) -> list[Assignment]:
        """A queue added or changed at run time. Its waiting calls keep their place in time and
        are weighed, matched and timed (overflow, maximum wait, counted from when they joined)
        under the new settings from now on; calls that overflowed to it are served under its new
        skill and strategy. A waiting call that an available agent can now serve is assigned."""
        self._queues[queue.name] = queue
        now_ts = _ts(now)
        assignments: list[Assignment] = []
        for entry in list(self._calls.values()):
            own = entry.queue.name == queue.name
            if not own and all(target[2] != queue.name for target in entry.targets):
                continue
            waiting = entry.phase is CallPhase.WAITING
            if waiting:
                self._index.unindex_call(entry)
            if own:
                entry.queue = queue
                entry.key = (-entry.call.priority, -queue.weight, entry.wait_from, entry.key[3])
                if queue.overflow_after_s is not None:
                    self._timer(entry.wait_from + queue.overflow_after_s, _Timer.OVERFLOW, entry, 0)
                if queue.max_wait_s is not None:
                    self._timer(entry.wait_from + queue.max_wait_s, _Timer.MAX_WAIT, entry, 0)
            entry.targets = self._retarget(entry)
            if waiting:
                assignments.extend(self._route_call(entry, now_ts, entry.targets))
        return assignments

    def calls_in(self, name: str) -> int:
        """Calls that wait in the queue, or overflowed to it."""
        return sum(
            1
            for entry in self._calls.values()
            if entry.queue.name == name or any(target[2] == name for target in entry.targets)
        )

    def remove_queue(self, name: str) -> None:
        """Forget a queue; refused (QueueInUse) while a call waits in it or overflowed to it."""
        if name not in self._queues:
            raise UnknownQueue(name)
        in_use = self.calls_in(name)
        if in_use:
            raise QueueInUse(name, f"{in_use} call(s) wait in it or overflowed to it")
        del self._queues[name]

    def _retarget(self, entry: CallEntry) -> list[Target]:
        own = entry.queue
        targets: list[Target] = [(entry.call.skill or own.skill, own.strategy, own.name)]
        for _, _, name in entry.targets[1:]:
            queue = self._queues.get(name)
            if queue is not None and (queue.skill, queue.strategy, name) not in targets:
                targets.append((queue.skill, queue.strategy, name))
        return targets

    # --- time ----------------------------------------------------------------------------------

    def next_due(self) -> datetime | None:
        while self._timers:
            due, _, kind, call_id, token = self._timers[0]
            if self._timer_valid(kind, call_id, token):
                return datetime.fromtimestamp(due, UTC)
            heapq.heappop(self._timers)
        return None

    def due(self, now: datetime) -> list[Outcome]:
        """What the passing of time decided: overflows, maximum waits, ring timeouts, retries."""
        now_ts = _ts(now)
        outcomes: list[Outcome] = []
        while self._timers and self._timers[0][0] <= now_ts:
            _, _, kind, call_id, token = heapq.heappop(self._timers)
            if not self._timer_valid(kind, call_id, token):
                continue
            entry = self._calls[call_id]
            if not self._timer_current(kind, entry, now_ts):
                continue  # the queue's settings changed since this timer was set
            if kind is _Timer.OVERFLOW:
                outcomes.extend(self._overflow(entry, now_ts))
            elif kind is _Timer.MAX_WAIT:
                if entry.phase is CallPhase.DELIVERING:
                    # An agent's phone is ringing: let it; decide when the news comes back.
                    self._timer(now_ts + self._retry_s, _Timer.MAX_WAIT, entry, 0)
                    continue
                self.remove_call(call_id)
                wait = now_ts - entry.wait_from
                outcomes.append(MaxWait(entry.call, entry.queue.max_wait_action, wait))
            elif kind is _Timer.RING:
                agent = entry.agent
                _, assignments = self.ring_no_answer(call_id, now)
                outcomes.append(RingTimedOut(entry.call, agent))
                outcomes.extend(assignments)
            else:
                entry.phase = CallPhase.WAITING
                entry.token += 1
                outcomes.extend(self._route_call(entry, now_ts, entry.targets))
        return outcomes

    def _overflow(self, entry: CallEntry, now_ts: float) -> list[Outcome]:
        to_queue = self._queues[entry.queue.overflow_to]
        target = (to_queue.skill, to_queue.strategy, to_queue.name)
        if target in entry.targets:
            return []
        entry.targets.append(target)
        outcomes: list[Outcome] = [Overflowed(entry.call, to_queue.name, now_ts - entry.wait_from)]
        if entry.phase is CallPhase.WAITING:
            outcomes.extend(self._route_call(entry, now_ts, [target]))
        return outcomes

    def _timer_valid(self, kind: _Timer, call_id: str, token: int) -> bool:
        entry = self._calls.get(call_id)
        if entry is None:
            return False
        if kind is _Timer.RING:
            return entry.phase is CallPhase.DELIVERING and entry.token == token
        if kind is _Timer.RETRY:
            return entry.phase is CallPhase.HELD and entry.token == token
        return True

    @staticmethod
    def _timer_current(kind: _Timer, entry: CallEntry, now_ts: float) -> bool:
        queue = entry.queue
        if kind is _Timer.OVERFLOW:
            limit = queue.overflow_after_s
        elif kind is _Timer.MAX_WAIT:
            limit = queue.max_wait_s
        else:
            return True
        return limit is not None and now_ts >= entry.wait_from + limit - 1e-6

    def _timer(self, due: float, kind: _Timer, entry: CallEntry, token: int) -> None:
        heapq.heappush(self._timers, (due, next(self._seq), kind, entry.call.call_id, token))

    # --- matching ------------------------------------------------------------------------------

    def _route_call(self, entry: CallEntry, now_ts: float, targets: list[Target]) -> list[Assignment]:
        sticky = self._sticky_agent(entry, now_ts)
        if sticky is not None:
            record, queue = sticky
            return [self._assign(entry, record, queue, now_ts, sticky=True)]
        for skill, strategy, queue in targets:
            record = self._index.best_agent(skill, strategy, entry.home)
            if record is not None:
                return [self._assign(entry, record, queue, now_ts, sticky=False)]
        self._index.index_call(entry, targets)
        return []

    def _sticky_agent(self, entry: CallEntry, now_ts: float) -> tuple[AgentEntry, str] | None:
        key = entry.call.customer_key
        if not key or not self._last_agent:
            return None
        last = self._last_agent.get(key)
        if last is None:
            return None
        agent, at, call_id = last
        if now_ts - at > self._sticky_s:
            del self._last_agent[key]
            return None
        if call_id == entry.call.call_id:
            return None  # the same call back in a queue: that agent handed it on
        record = self._agents.get(agent)
        if record is None or not record.available or record.home != entry.home:
            return None
        for skill, _, queue in entry.targets:
            if skill in record.skills:
                return record, queue
        return None

    def _assign(
        self, entry: CallEntry, record: AgentEntry, queue: str, now_ts: float, *, sticky: bool
    ) -> Assignment:
        if record.available:
            self._index.unindex_agent(record)
        if entry.phase is CallPhase.WAITING:
            self._index.unindex_call(entry)
        entry.phase = CallPhase.DELIVERING
        entry.agent = record.agent
        entry.attempt += 1
        entry.token += 1
        self._timer(now_ts + self._ring_timeout_s, _Timer.RING, entry, entry.token)
        return Assignment(entry.call, record.agent, queue, entry.attempt, sticky)

    def _agent(self, agent: str) -> AgentEntry:
        try:
            return self._agents[agent]
        except KeyError:
            raise UnknownAgent(agent) from None
