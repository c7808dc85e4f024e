"""The marketing gate: "market when idle, serve when busy". Pure; time and load come in.

Per agent group, a supervisor sets the control threshold (the most agents doing marketing at
once, as a number, a percentage of the group's logged-in agents, or both — the smaller wins) and
the load conditions that stop marketing altogether. Each stop condition has its own resume level,
so the gate does not flap:

- it closes at once when calls waiting > ``stop_waiting``, or the longest wait >
  ``stop_longest_wait_s``, or the service level < ``stop_service_level`` (callers come first);
- it opens again only when every figure is back at its resume level (waiting ≤
  ``resume_waiting``, longest wait ≤ ``resume_longest_wait_s``, service level ≥
  ``resume_service_level``) and it has stayed closed for at least ``min_hold_s``.

Agents already doing marketing when the gate closes finish it; they get no more.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from acd.errors import AcdConfigError
from acd.events import DecisionReason, MarketingDecision, MarketingGateChanged, MarketingWork
from acd.models import AgentState

READY_FOR = {
    MarketingWork.OFFER: (AgentState.RINGING, AgentState.ON_CALL),
    MarketingWork.OUTBOUND: (AgentState.AVAILABLE,),
}


@dataclass(frozen=True, slots=True)
class MarketingPolicy:
    group: str
    queues: tuple[str, ...]  # the queues whose load governs the group
    max_agents: int | None = None
    max_percent: float | None = None  # of the group's logged-in agents, rounded down
    stop_waiting: int | None = None
    resume_waiting: int | None = None
    stop_longest_wait_s: float | None = None
    resume_longest_wait_s: float | None = None
    stop_service_level: float | None = None  # 0..1
    resume_service_level: float | None = None
    min_hold_s: float = 60.0

    def __post_init__(self) -> None:
        where = f"marketing policy {self.group!r}"
        if self.max_agents is None and self.max_percent is None:
            raise AcdConfigError(f"{where}: set max_agents, max_percent or both")
        if self.max_agents is not None and self.max_agents < 0:
            raise AcdConfigError(f"{where}: max_agents must be ≥ 0")
        if self.max_percent is not None and not 0 <= self.max_percent <= 100:
            raise AcdConfigError(f"{where}: max_percent must be within 0..100")
        if self.min_hold_s < 0:
            raise AcdConfigError(f"{where}: min_hold_s must be ≥ 0")
        self._pair("waiting", self.stop_waiting, self.resume_waiting, higher_is_worse=True)
        self._pair(
            "longest_wait_s", self.stop_longest_wait_s, self.resume_longest_wait_s, higher_is_worse=True
        )
        self._pair("service_level", self.stop_service_level, self.resume_service_level, higher_is_worse=False)
        for level in (self.stop_service_level, self.resume_service_level):
            if level is not None and not 0 <= level <= 1:
                raise AcdConfigError(f"{where}: service levels are fractions within 0..1")

    def _pair(self, name: str, stop: float | None, resume: float | None, *, higher_is_worse: bool) -> None:
        if stop is None and resume is not None:
            raise AcdConfigError(f"marketing policy {self.group!r}: resume_{name} without stop_{name}")
        if stop is None:
            return
        if resume is None:
            object.__setattr__(self, f"resume_{name}", stop)
            return
        if (higher_is_worse and resume > stop) or (not higher_is_worse and resume < stop):
            raise AcdConfigError(
                f"marketing policy {self.group!r}: resume_{name} {resume} must be on the safe side of "
                f"stop_{name} {stop} (that gap is what keeps the gate from flapping)"
            )

    def limit(self, logged_in: int) -> int:
        limits = []
        if self.max_agents is not None:
            limits.append(self.max_agents)
        if self.max_percent is not None:
            limits.append(math.floor(logged_in * self.max_percent / 100 + 1e-9))
        return min(limits)


@dataclass(frozen=True, slots=True)
class Load:
    """A group's load: waiting summed over its queues, the worst longest wait and service level."""

    waiting: int = 0
    longest_wait_s: float = 0.0
    service_level: float = 1.0


@dataclass(slots=True)
class _Group:
    policy: MarketingPolicy
    open: bool = True
    changed_at: datetime | None = None
    why_closed: str = ""
    marketing: dict[str, MarketingWork] = field(default_factory=dict)  # agent → the work they do


class MarketingGate:
    def __init__(self, policies: Iterable[MarketingPolicy] = ()) -> None:
        self._groups: dict[str, _Group] = {}
        for policy in policies:
            self.set_policy(policy)

    def set_policy(self, policy: MarketingPolicy) -> None:
        """A supervisor's new threshold or conditions; the gate's state and slots are kept."""
        group = self._groups.get(policy.group)
        if group is None:
            self._groups[policy.group] = _Group(policy)
        else:
            group.policy = policy

    def policy(self, group: str) -> MarketingPolicy | None:
        entry = self._groups.get(group)
        return entry.policy if entry is not None else None

    def policies(self) -> list[MarketingPolicy]:
        return [group.policy for group in self._groups.values()]

    def is_open(self, group: str) -> bool:
        entry = self._groups.get(group)
        return entry is not None and entry.open

    def marketing_agents(self, group: str) -> dict[str, MarketingWork]:
        entry = self._groups.get(group)
        return dict(entry.marketing) if entry is not None else {}

    def update_load(self, at: datetime, group: str, load: Load) -> list[MarketingGateChanged]:
        entry = self._groups.get(group)
        if entry is None:
            return []
        policy = entry.policy
        if entry.open:
            why = _stop_condition(policy, load)
            if why:
                entry.open, entry.changed_at, entry.why_closed = False, at, why
                return [MarketingGateChanged(at=at, group=group, open=False, detail=why)]
            return []
        held = entry.changed_at is None or at - entry.changed_at >= timedelta(seconds=policy.min_hold_s)
        if held and _may_resume(policy, load):
            entry.open, entry.changed_at, entry.why_closed = True, at, ""
            return [MarketingGateChanged(at=at, group=group, open=True, detail="load back to resume levels")]
        return []

    def request(
        self,
        at: datetime,
        agent: str,
        group: str,
        work: MarketingWork,
        *,
        state: AgentState,
        logged_in: int,
        call_id: str = "",
    ) -> MarketingDecision:
        """May this agent, in this state, take this marketing work now? The answer is the decision
        event. An offer needs an agent ringing or on a call, outbound work an available one;
        ``logged_in`` is the group's logged-in agents, for a threshold set as a percentage."""
        entry = self._groups.get(group)

        def decision(admitted: bool, reason: DecisionReason, detail: str = "", limit: int = 0):
            marketing = len(entry.marketing) if entry is not None else 0
            return MarketingDecision(
                at=at,
                agent=agent,
                group=group,
                work=work,
                admitted=admitted,
                reason=reason,
                detail=detail,
                marketing_agents=marketing,
                limit=limit,
                call_id=call_id,
            )

        if state is AgentState.LOGGED_OUT:
            return decision(False, DecisionReason.NOT_LOGGED_IN)
        if state not in READY_FOR[work]:
            return decision(False, DecisionReason.AGENT_NOT_READY, f"agent is {state}")
        if entry is None:
            return decision(False, DecisionReason.NO_POLICY)
        limit = entry.policy.limit(logged_in)
        if agent in entry.marketing:
            return decision(True, DecisionReason.ALREADY_MARKETING, limit=limit)
        if not entry.open:
            return decision(False, DecisionReason.GATE_CLOSED, entry.why_closed, limit)
        if len(entry.marketing) >= limit:
            return decision(False, DecisionReason.THRESHOLD_REACHED, limit=limit)
        entry.marketing[agent] = work
        return decision(True, DecisionReason.ADMITTED, limit=limit)

    def finished(self, agent: str, group: str) -> bool:
        """The agent's marketing work is over (offer closed, task done, logged out)."""
        entry = self._groups.get(group)
        return entry is not None and entry.marketing.pop(agent, None) is not None

    def work_of(self, agent: str, group: str) -> MarketingWork | None:
        entry = self._groups.get(group)
        return entry.marketing.get(agent) if entry is not None else None


def _stop_condition(policy: MarketingPolicy, load: Load) -> str:
    if policy.stop_waiting is not None and load.waiting > policy.stop_waiting:
        return f"waiting {load.waiting} > {policy.stop_waiting}"
    if policy.stop_longest_wait_s is not None and load.longest_wait_s > policy.stop_longest_wait_s:
        return f"longest wait {load.longest_wait_s:.0f} s > {policy.stop_longest_wait_s:g} s"
    if policy.stop_service_level is not None and load.service_level < policy.stop_service_level:
        return f"service level {load.service_level:.0%} < {policy.stop_service_level:.0%}"
    return ""


def _may_resume(policy: MarketingPolicy, load: Load) -> bool:
    if policy.resume_waiting is not None and load.waiting > policy.resume_waiting:
        return False
    if policy.resume_longest_wait_s is not None and load.longest_wait_s > policy.resume_longest_wait_s:
        return False
    return not (policy.resume_service_level is not None and load.service_level < policy.resume_service_level)


def combined_load(figures: Mapping[str, Load], queues: Iterable[str]) -> Load:
    """The load a group sees over its queues: waiting summed, the worst wait and service level."""
    loads = [figures[queue] for queue in queues if queue in figures]
    if not loads:
        return Load()
    return Load(
        waiting=sum(load.waiting for load in loads),
        longest_wait_s=max(load.longest_wait_s for load in loads),
        service_level=min(load.service_level for load in loads),
    )
