from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from acd.errors import AcdConfigError
from acd.events import DecisionReason, MarketingWork
from acd.gate import Load, MarketingGate, MarketingPolicy, combined_load
from acd.models import AgentState

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
OFFER = MarketingWork.OFFER
ON_CALL = AgentState.ON_CALL


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def policy(**fields) -> MarketingPolicy:
    base = dict(
        group="team1",
        queues=("support",),
        max_agents=3,
        stop_waiting=5,
        resume_waiting=2,
        stop_longest_wait_s=60,
        resume_longest_wait_s=20,
        stop_service_level=0.8,
        resume_service_level=0.9,
        min_hold_s=30,
    )
    base.update(fields)
    return MarketingPolicy(**base)


def test_the_threshold_as_a_number_caps_agents_marketing_at_once() -> None:
    gate = MarketingGate([policy(max_agents=2)])
    decisions = [gate.request(at(0), f"a{i}", "team1", OFFER, state=ON_CALL, logged_in=10) for i in range(3)]
    assert [d.admitted for d in decisions] == [True, True, False]
    assert decisions[2].reason is DecisionReason.THRESHOLD_REACHED
    assert (decisions[1].marketing_agents, decisions[1].limit) == (2, 2)


def test_the_threshold_as_a_percentage_of_logged_in_agents_rounds_down() -> None:
    gate = MarketingGate([policy(max_agents=None, max_percent=25)])
    assert (
        gate.request(at(0), "a1", "team1", OFFER, state=ON_CALL, logged_in=3).reason
        is DecisionReason.THRESHOLD_REACHED
    )
    assert gate.request(at(0), "a1", "team1", OFFER, state=ON_CALL, logged_in=7).limit == 1  # 1.75 agents
    assert gate.request(at(0), "a2", "team1", OFFER, state=ON_CALL, logged_in=8).limit == 2
    assert not gate.request(at(0), "a3", "team1", OFFER, state=ON_CALL, logged_in=8).admitted


def test_with_both_a_number_and_a_percentage_the_smaller_wins() -> None:
    assert policy(max_agents=3, max_percent=50).limit(4) == 2
    assert policy(max_agents=3, max_percent=50).limit(40) == 3


def test_a_finished_agent_frees_their_slot() -> None:
    gate = MarketingGate([policy(max_agents=1)])
    assert gate.request(at(0), "a1", "team1", OFFER, state=ON_CALL, logged_in=5).admitted
    assert not gate.request(at(1), "a2", "team1", OFFER, state=ON_CALL, logged_in=5).admitted
    assert gate.finished("a1", "team1")
    assert gate.request(at(2), "a2", "team1", OFFER, state=ON_CALL, logged_in=5).admitted
    assert not gate.finished("a1", "team1")


def test_an_agent_holding_a_slot_is_not_counted_twice() -> None:
    gate = MarketingGate([policy(max_agents=1)])
    gate.request(at(0), "a1", "team1", OFFER, state=ON_CALL, logged_in=5)
    again = gate.request(at(1), "a1", "team1", OFFER, state=ON_CALL, logged_in=5)
    assert (again.admitted, again.reason, again.marketing_agents) == (
        True,
        DecisionReason.ALREADY_MARKETING,
        1,
    )


def test_a_group_without_a_policy_gets_no_marketing() -> None:
    decision = MarketingGate([policy()]).request(at(0), "a1", "team9", OFFER, state=ON_CALL, logged_in=5)
    assert (decision.admitted, decision.reason) == (False, DecisionReason.NO_POLICY)


def test_rising_load_closes_the_gate_and_marketing_agents_finish_but_get_no_more() -> None:
    gate = MarketingGate([policy()])
    assert gate.request(at(0), "a1", "team1", OFFER, state=ON_CALL, logged_in=10).admitted
    [closed] = gate.update_load(at(5), "team1", Load(waiting=6))
    assert (closed.open, closed.detail) == (False, "waiting 6 > 5")
    assert gate.marketing_agents("team1") == {"a1": OFFER}  # a1 finishes what they started
    denied = gate.request(at(6), "a2", "team1", OFFER, state=ON_CALL, logged_in=10)
    assert (denied.admitted, denied.reason, denied.detail) == (
        False,
        DecisionReason.GATE_CLOSED,
        "waiting 6 > 5",
    )
    gate.finished("a1", "team1")
    assert not gate.request(at(7), "a1", "team1", OFFER, state=ON_CALL, logged_in=10).admitted


@pytest.mark.parametrize(
    ("load", "detail"),
    [
        (Load(longest_wait_s=61), "longest wait 61 s > 60 s"),
        (Load(service_level=0.75), "service level 75% < 80%"),
    ],
)
def test_each_load_condition_closes_the_gate(load: Load, detail: str) -> None:
    gate = MarketingGate([policy()])
    [closed] = gate.update_load(at(0), "team1", load)
    assert closed.detail == detail and not gate.is_open("team1")


def test_the_gate_reopens_only_below_the_resume_levels_and_after_the_hold_time() -> None:
    gate = MarketingGate([policy()])
    gate.update_load(at(0), "team1", Load(waiting=6))
    assert gate.update_load(at(10), "team1", Load(waiting=4)) == []  # below stop, above resume
    assert gate.update_load(at(20), "team1", Load(waiting=1)) == []  # resume level, but held 30 s
    assert gate.update_load(at(31), "team1", Load(waiting=3)) == []  # held enough, load above resume
    [opened] = gate.update_load(at(32), "team1", Load(waiting=2))
    assert opened.open and gate.is_open("team1")
    assert gate.request(at(33), "a2", "team1", OFFER, state=ON_CALL, logged_in=10).admitted


def test_every_condition_must_be_back_at_its_resume_level_to_reopen() -> None:
    gate = MarketingGate([policy(min_hold_s=0)])
    gate.update_load(at(0), "team1", Load(waiting=9, longest_wait_s=90))
    assert gate.update_load(at(1), "team1", Load(waiting=0, longest_wait_s=30)) == []
    assert gate.update_load(at(2), "team1", Load(waiting=0, longest_wait_s=10, service_level=0.85)) == []
    assert gate.update_load(at(3), "team1", Load(waiting=0, longest_wait_s=10, service_level=0.9))[0].open


def test_load_hovering_at_the_stop_level_does_not_flap_the_gate() -> None:
    gate = MarketingGate([policy(min_hold_s=0)])
    changes = []
    for second, waiting in enumerate([6, 5, 6, 4, 6, 3, 5, 2, 3, 5, 6]):
        changes += gate.update_load(at(second), "team1", Load(waiting=waiting))
    assert [c.open for c in changes] == [False, True, False]


def test_a_new_policy_keeps_the_gate_state_and_slots() -> None:
    gate = MarketingGate([policy(max_agents=2)])
    gate.request(at(0), "a1", "team1", OFFER, state=ON_CALL, logged_in=10)
    gate.update_load(at(1), "team1", Load(waiting=10))
    gate.set_policy(policy(max_agents=1))
    assert not gate.is_open("team1")
    assert gate.marketing_agents("team1") == {"a1": OFFER}


def test_combined_load_sums_waiting_and_takes_the_worst_wait_and_service_level() -> None:
    loads = {"a": Load(3, 40, 0.9), "b": Load(2, 70, 0.95), "c": Load(100, 900, 0.1)}
    assert combined_load(loads, ("a", "b")) == Load(5, 70, 0.9)
    assert combined_load(loads, ("nowhere",)) == Load()


@pytest.mark.parametrize(
    "fields",
    [
        {"max_agents": None, "max_percent": None},
        {"max_agents": -1},
        {"max_percent": 120},
        {"stop_waiting": 5, "resume_waiting": 6},
        {"stop_longest_wait_s": 20, "resume_longest_wait_s": 30},
        {"stop_service_level": 0.8, "resume_service_level": 0.7},
        {"stop_service_level": 80, "resume_service_level": 90},
        {"stop_waiting": None, "resume_waiting": 2},
        {"min_hold_s": -1},
    ],
)
def test_a_policy_that_cannot_work_is_refused_with_the_reason(fields) -> None:
    with pytest.raises(AcdConfigError, match="team1"):
        policy(**fields)


def test_a_stop_level_without_a_resume_level_resumes_at_the_stop_level() -> None:
    assert policy(stop_waiting=4, resume_waiting=None).resume_waiting == 4


@pytest.mark.parametrize(
    ("work", "state", "reason"),
    [
        (MarketingWork.OFFER, AgentState.AVAILABLE, DecisionReason.AGENT_NOT_READY),
        (MarketingWork.OFFER, AgentState.LOGGED_OUT, DecisionReason.NOT_LOGGED_IN),
        (MarketingWork.OUTBOUND, AgentState.ON_CALL, DecisionReason.AGENT_NOT_READY),
        (MarketingWork.OUTBOUND, AgentState.WRAP_UP, DecisionReason.AGENT_NOT_READY),
    ],
)
def test_work_the_agent_cannot_take_in_their_state_is_refused(work, state, reason) -> None:
    decision = MarketingGate([policy()]).request(at(0), "a1", "team1", work, state=state, logged_in=5)
    assert (decision.admitted, decision.reason) == (False, reason)


def test_outbound_work_is_for_an_available_agent() -> None:
    gate = MarketingGate([policy()])
    decision = gate.request(
        at(0), "a1", "team1", MarketingWork.OUTBOUND, state=AgentState.AVAILABLE, logged_in=5
    )
    assert decision.admitted and gate.work_of("a1", "team1") is MarketingWork.OUTBOUND
