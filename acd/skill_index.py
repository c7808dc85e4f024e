"""The router's indexes: available agents per (skill, strategy) and waiting calls per skill.

Heaps with lazy deletion. Each agent and call carries a token, bumped whenever it leaves the
index; a heap entry whose token is stale is dropped when it reaches the top, and a heap is
compacted when stale entries outnumber live ones. Keys:

- longest idle: (idle since, ·, order of registration)
- fewest calls: (calls answered, idle since, order)
- best skill: (−level, idle since, order)
- calls: (−call priority, −queue weight, waiting since, order of arrival)

With several Asterisk servers a call is delivered only to agents whose phone is homed on the
caller's server (docs/scale.md): both indexes are kept per (server, skill), and an agent is
indexed under their phone's server (``AgentEntry.home``), a call under its own (from its id).
With one server every home is "" and there is one partition.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Mapping

from acd.models import QueueConfig, Strategy, WaitingCall
from cti.events import server_of

Target = tuple[str, Strategy, str]  # (skill, strategy, the queue serving under it)
Key = tuple[str, str]  # (server, skill)


class CallPhase(enum.StrEnum):
    WAITING = "waiting"
    DELIVERING = "delivering"
    HELD = "held"  # a delivery failed; back at its place after a short pause


class AgentEntry:
    __slots__ = ("agent", "available", "calls", "home", "idle_ts", "seq", "skills", "token")

    def __init__(self, agent: str, seq: int, skills: Mapping[str, int]) -> None:
        self.agent = agent
        self.home = ""  # the server the agent's phone is homed on
        self.seq = seq
        self.skills = dict(skills)
        self.available = False
        self.token = 0
        self.idle_ts = 0.0
        self.calls = 0


class CallEntry:
    __slots__ = ("agent", "attempt", "call", "home", "key", "phase", "queue", "targets", "token", "wait_from")

    def __init__(self, call: WaitingCall, queue: QueueConfig, seq: int, wait_from: float) -> None:
        self.call = call
        self.home = server_of(call.call_id)  # the server the caller is on
        self.queue = queue
        self.wait_from = wait_from
        self.key = (-call.priority, -queue.weight, wait_from, seq)
        # (skill, strategy, queue serving) in the order they are tried
        self.targets: list[Target] = [(call.skill or queue.skill, queue.strategy, queue.name)]
        self.phase = CallPhase.WAITING
        self.token = 0
        self.agent = ""
        self.attempt = 0


class SkillIndex:
    def __init__(self) -> None:
        self._available: dict[Key, set[AgentEntry]] = {}  # available agents with the skill
        self._agent_heaps: dict[Key, dict[Strategy, list]] = {}
        self._call_heaps: dict[Key, list] = {}
        self._waiting: dict[Key, set[CallEntry]] = {}  # waiting calls servable under the skill
        self._homes: set[str] = set()  # every server an agent was indexed under

    def best_agent(self, skill: str, strategy: Strategy, home: str = "") -> AgentEntry | None:
        """The available agent of ``home``'s phones a call of ``skill`` would get now."""
        key = (home, skill)
        available = self._available.get(key)
        if not available:
            return None
        heap = self._agent_heap(key, strategy)
        while heap:
            top = heap[0]
            record = top[4]
            if record.available and record.token == top[3]:
                return record
            heapq.heappop(heap)
        return None

    def best_agent_anywhere(self, skill: str, strategy: Strategy) -> AgentEntry | None:
        """The best available agent of ``skill`` on any server (a callback dials from theirs)."""
        found = [r for r in (self.best_agent(skill, strategy, home) for home in self._homes) if r]
        if not found:
            return None
        return min(found, key=lambda record: self._agent_entry(record, skill, strategy)[:3])

    def best_call_for(self, record: AgentEntry) -> tuple[CallEntry, str] | None:
        best = None
        best_skill = ""
        for skill in record.skills:
            key = (record.home, skill)
            if not self._waiting.get(key):
                continue
            heap = self._call_heaps[key]
            while heap:
                top = heap[0]
                entry = top[5]
                if entry.phase is CallPhase.WAITING and entry.token == top[4]:
                    if best is None or top < best:
                        best, best_skill = top, skill
                    break
                heapq.heappop(heap)
        if best is None:
            return None
        entry = best[5]
        queue = next(queue for skill, _, queue in entry.targets if skill == best_skill)
        return entry, queue

    def _agent_heap(self, key: Key, strategy: Strategy) -> list:
        by_strategy = self._agent_heaps.setdefault(key, {})
        heap = by_strategy.get(strategy)
        if heap is None:
            heap = [self._agent_entry(r, key[1], strategy) for r in self._available.get(key, ())]
            heapq.heapify(heap)
            by_strategy[strategy] = heap
        return heap

    @staticmethod
    def _agent_entry(record: AgentEntry, skill: str, strategy: Strategy) -> tuple:
        if strategy is Strategy.LONGEST_IDLE:
            return (record.idle_ts, 0, record.seq, record.token, record)
        if strategy is Strategy.FEWEST_CALLS:
            return (record.calls, record.idle_ts, record.seq, record.token, record)
        return (-record.skills[skill], record.idle_ts, record.seq, record.token, record)

    def index_agent(self, record: AgentEntry) -> None:
        record.available = True
        record.token += 1
        self._homes.add(record.home)
        for skill in record.skills:
            key = (record.home, skill)
            available = self._available.setdefault(key, set())
            available.add(record)
            for strategy, heap in self._agent_heaps.get(key, {}).items():
                heapq.heappush(heap, self._agent_entry(record, skill, strategy))
                if len(heap) > 2 * len(available) + 64:
                    self._agent_heaps[key][strategy] = heap = [e for e in heap if e[4].token == e[3]]
                    heapq.heapify(heap)

    def unindex_agent(self, record: AgentEntry) -> None:
        record.available = False
        record.token += 1
        for skill in record.skills:
            self._available[(record.home, skill)].discard(record)

    def index_call(self, entry: CallEntry, targets: list[Target]) -> None:
        entry_tuple = (*entry.key, entry.token, entry)
        for skill, _, _ in targets:
            key = (entry.home, skill)
            waiting = self._waiting.setdefault(key, set())
            waiting.add(entry)
            heap = self._call_heaps.setdefault(key, [])
            heapq.heappush(heap, entry_tuple)
            if len(heap) > 2 * len(waiting) + 64:
                self._call_heaps[key] = heap = [
                    e for e in heap if e[5].phase is CallPhase.WAITING and e[5].token == e[4]
                ]
                heapq.heapify(heap)

    def unindex_call(self, entry: CallEntry) -> None:
        entry.token += 1
        for skill, _, _ in entry.targets:
            waiting = self._waiting.get((entry.home, skill))
            if waiting is not None:
                waiting.discard(entry)
