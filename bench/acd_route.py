"""How long does one routing decision take, at 100, 1,000 and 10,000 agents with 500 waiting calls?

A decision is either a call arriving (the best available agent for its skill, by its queue's
strategy, or the call waits) or an agent becoming free (the best waiting call among their skills,
or the agent waits). Skills are mixed: 20 skills of skewed popularity, each agent has 1 to 4 of
them with levels, the queues use the three strategies, one caller in ten is a VIP. The loop keeps
500 calls waiting: busy agents are freed at random, calls arrive whenever fewer than 500 wait.

The reference, in the same run, is a naive router that scans every agent (or every waiting call)
per decision. Both see the same sequence and must make the same decisions; the script checks it.

Target: p99 ≤ 1 ms at 1,000 agents, and 10,000 agents well under 10× the cost of 1,000.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from acd.models import QueueConfig, Strategy, WaitingCall
from acd.router import Router

SKILLS = [f"skill{i:02d}" for i in range(20)]
POPULARITY = [1 / (i + 1) for i in range(len(SKILLS))]  # Zipf-like: a few skills carry most calls
STRATEGIES = [Strategy.LONGEST_IDLE, Strategy.FEWEST_CALLS, Strategy.BEST_SKILL]
WAITING = 500
DECISIONS = 20_000
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def queues() -> dict[str, QueueConfig]:
    return {
        skill: QueueConfig(skill, strategy=STRATEGIES[i % 3], weight=i % 2) for i, skill in enumerate(SKILLS)
    }


def agent_skills(rng: random.Random, count: int) -> dict[str, dict[str, int]]:
    agents = {}
    for i in range(count):
        chosen = rng.sample(SKILLS, rng.randint(1, 4))
        agents[f"agent{i:05d}"] = {skill: rng.randint(1, 10) for skill in chosen}
    return agents


class NaiveRouter:
    """The reference: the same rules, a scan over all agents / all waiting calls per decision."""

    def __init__(self, queues: dict[str, QueueConfig]) -> None:
        self.queues = queues
        self.agents: dict[str, dict] = {}
        self.calls: list[dict] = []
        self.seq = 0

    def set_agent(self, agent: str, skills: dict[str, int]) -> None:
        self.seq += 1
        self.agents[agent] = {"skills": skills, "available": False, "idle": 0.0, "calls": 0, "seq": self.seq}

    def agent_available(self, agent: str, now: datetime, *, idle_since=None, calls_handled=0) -> list:
        record = self.agents[agent]
        record["idle"] = (idle_since or now).timestamp()
        record["calls"] = calls_handled
        best = None
        for call in self.calls:
            if call["skill"] in record["skills"] and (best is None or call["key"] < best["key"]):
                best = call
        if best is None:
            record["available"] = True
            return []
        self.calls.remove(best)
        return [(best["id"], agent)]

    def add_call(self, call: WaitingCall, now: datetime) -> list:
        queue = self.queues[call.queue]
        skill = call.skill or queue.skill
        best, best_key = None, None
        for agent, record in self.agents.items():
            if not record["available"] or skill not in record["skills"]:
                continue
            if queue.strategy is Strategy.LONGEST_IDLE:
                key = (record["idle"], 0, record["seq"])
            elif queue.strategy is Strategy.FEWEST_CALLS:
                key = (record["calls"], record["idle"], record["seq"])
            else:
                key = (-record["skills"][skill], record["idle"], record["seq"])
            if best_key is None or key < best_key:
                best, best_key = agent, key
        if best is not None:
            self.agents[best]["available"] = False
            return [(call.call_id, best)]
        self.seq += 1
        key = (-call.priority, -queue.weight, (call.queued_at or now).timestamp(), self.seq)
        self.calls.append({"id": call.call_id, "skill": skill, "key": key})
        return []


def pairs(assignments: list) -> list[tuple[str, str]]:
    return [a if isinstance(a, tuple) else (a.call.call_id, a.agent) for a in assignments]


def run(router, agents: dict[str, dict[str, int]], seed: int) -> tuple[list[int], list[tuple[str, str]]]:
    rng = random.Random(seed)
    for agent, skills in agents.items():
        router.set_agent(agent, skills)
    busy = list(agents)
    calls_handled = dict.fromkeys(agents, 0)
    now = START
    waiting = 0
    call_no = 0
    timings: list[int] = []
    decided: list[tuple[str, str]] = []
    clock = time.perf_counter_ns

    def new_call() -> WaitingCall:
        nonlocal call_no
        call_no += 1
        skill = rng.choices(SKILLS, POPULARITY)[0]
        priority = 5 if rng.random() < 0.1 else 0
        return WaitingCall(f"call{call_no}", "PJSIP/trunk", skill, priority=priority, queued_at=now)

    # Warm-up, untimed: 500 callers waiting, a third of the agents free.
    for _ in range(WAITING):
        router.add_call(new_call(), now)
    waiting = WAITING
    for agent in rng.sample(busy, len(busy) // 3):
        busy.remove(agent)
        made = pairs(router.agent_available(agent, now))
        if made:
            busy.append(agent)
            waiting -= 1
    for step in range(DECISIONS):
        now += timedelta(milliseconds=50)
        if waiting < WAITING or not busy:
            call = new_call()
            started = clock()
            made = router.add_call(call, now)
            timings.append(clock() - started)
            made = pairs(made)
            if made:
                busy.append(made[0][1])
            else:
                waiting += 1
        else:
            agent = busy.pop(rng.randrange(len(busy)))
            calls_handled[agent] += 1
            started = clock()
            made = router.agent_available(agent, now, calls_handled=calls_handled[agent])
            timings.append(clock() - started)
            made = pairs(made)
            if made:
                busy.append(agent)
                waiting -= 1
        decided.extend(made)
        if step % 1000 == 0 and len(decided) > 200_000:
            decided = decided[-1000:]
    return timings, decided


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6  # ms


def main() -> int:
    figures = {}
    for size in (100, 1_000, 10_000):
        agents = agent_skills(random.Random(size), size)
        fast, fast_decisions = run(Router(queues()), agents, seed=size)
        naive, naive_decisions = run(NaiveRouter(queues()), agents, seed=size)
        same = fast_decisions == naive_decisions
        figures[size] = {
            "p50_ms": percentile(fast, 0.50),
            "p99_ms": percentile(fast, 0.99),
            "mean_ms": statistics.fmean(fast) / 1e6,
            "naive_p50_ms": percentile(naive, 0.50),
            "naive_p99_ms": percentile(naive, 0.99),
            "same_decisions": same,
        }
        f = figures[size]
        print(
            f"{size:>6} agents, {WAITING} waiting, {DECISIONS} decisions: "
            f"router p50 {f['p50_ms']:.4f} ms p99 {f['p99_ms']:.4f} ms mean {f['mean_ms']:.4f} ms | "
            f"naive scan p50 {f['naive_p50_ms']:.4f} ms p99 {f['naive_p99_ms']:.4f} ms | "
            f"same decisions: {same}"
        )
        if not same:
            print("ERROR: the router and the naive reference disagree", file=sys.stderr)
            return 1
    ratio_10k = figures[10_000]["p99_ms"] / figures[1_000]["p99_ms"]
    naive_ratio_10k = figures[10_000]["naive_p99_ms"] / figures[1_000]["naive_p99_ms"]
    print(f"p99 10,000 / 1,000 agents: router {ratio_10k:.2f}x, naive scan {naive_ratio_10k:.2f}x")
    value = figures[1_000]["p99_ms"]
    reference = figures[1_000]["naive_p99_ms"]
    result = {
        "bench": "acd_route",
        "value": round(value, 5),
        "unit": "ms p99 per decision at 1,000 agents / 500 waiting",
        "reference": round(reference, 5),
        "ratio": round(value / reference, 4),
        "target": "p99 <= 1 ms at 1,000 agents; 10,000 agents well under 10x of 1,000",
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
