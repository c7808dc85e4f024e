from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.errors import UnknownAgent, UnknownQueue
from acd.models import MaxWaitAction, QueueConfig, Strategy, WaitingCall
from acd.router import RING_GRACE_S, Assignment, CallPhase, MaxWait, Overflowed, RingTimedOut, Router

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def call(call_id: str, queue: str = "support", **fields) -> WaitingCall:
    return WaitingCall(call_id, f"PJSIP/trunk-{call_id}", queue, **fields)


def picked(assignments: list[Assignment]) -> list[tuple[str, str]]:
    return [(a.call.call_id, a.agent) for a in assignments]


def router_with(strategy: Strategy = Strategy.LONGEST_IDLE, **queue_fields) -> Router:
    queues = {
        "support": QueueConfig("support", strategy=strategy, **queue_fields),
        "sales": QueueConfig("sales"),
        "vip": QueueConfig("vip", skill="support", weight=5),
    }
    return Router(queues, ring_timeout_s=15, sticky_agent_s=3600, retry_delivery_s=2)


def test_a_call_goes_to_the_longest_idle_agent_with_its_skill() -> None:
    router = router_with()
    router.set_agent("a", {"support": 3})
    router.set_agent("b", {"support": 3})
    router.set_agent("c", {"sales": 9})
    router.agent_available("c", at(0))
    router.agent_available("b", at(1))
    router.agent_available("a", at(2))
    assert picked(router.add_call(call("c1"), at(10))) == [("c1", "b")]
    assert picked(router.add_call(call("c2"), at(11))) == [("c2", "a")]
    assert router.add_call(call("c3"), at(12)) == []  # c knows only sales
    assert router.phase("c3") is CallPhase.WAITING


def test_an_agent_without_the_calls_skill_is_never_offered_it() -> None:
    router = router_with()
    router.set_agent("seller", {"sales": 10})
    router.add_call(call("c1"), at(0))
    assert router.agent_available("seller", at(1)) == []
    assert router.is_available("seller")


def test_the_ivr_may_name_a_skill_other_than_the_queues() -> None:
    router = router_with()
    router.set_agent("gen", {"support": 5})
    router.set_agent("bill", {"billing": 2})
    router.agent_available("gen", at(0))
    router.agent_available("bill", at(1))
    assert picked(router.add_call(call("c1", skill="billing"), at(5))) == [("c1", "bill")]


def test_best_skill_picks_the_highest_level_then_the_longest_idle() -> None:
    router = router_with(Strategy.BEST_SKILL)
    for name, level, idle in [("junior", 2, 0), ("senior", 9, 5), ("senior2", 9, 3), ("mid", 5, 1)]:
        router.set_agent(name, {"support": level})
        router.agent_available(name, at(idle))
    order = [picked(router.add_call(call(f"c{i}"), at(10 + i)))[0][1] for i in range(4)]
    assert order == ["senior2", "senior", "mid", "junior"]


def test_fewest_calls_picks_the_agent_who_answered_least_today() -> None:
    router = router_with(Strategy.FEWEST_CALLS)
    for name, calls, idle in [("busy", 40, 0), ("quiet", 3, 9), ("quiet-longer", 3, 4)]:
        router.set_agent(name, {"support": 1})
        router.agent_available(name, at(idle), calls_handled=calls)
    order = [picked(router.add_call(call(f"c{i}"), at(10 + i)))[0][1] for i in range(3)]
    assert order == ["quiet-longer", "quiet", "busy"]


def test_a_freed_agent_takes_the_vip_caller_first_then_the_longest_waiting() -> None:
    router = router_with()
    router.set_agent("a", {"support": 1})
    router.add_call(call("early"), at(0))
    router.add_call(call("later"), at(5))
    router.add_call(call("vip", priority=10), at(9))
    assert picked(router.agent_available("a", at(20))) == [("vip", "a")]
    router.agent_unavailable("a")
    assert picked(router.agent_available("a", at(30))) == [("early", "a")]


def test_queue_weight_orders_callers_of_equal_priority_across_queues() -> None:
    router = router_with()
    router.set_agent("a", {"support": 1})
    router.add_call(call("plain"), at(0))
    router.add_call(call("weighted", queue="vip"), at(5))
    assert picked(router.agent_available("a", at(6))) == [("weighted", "a")]


def test_an_agent_with_several_skills_takes_the_best_call_among_them() -> None:
    router = router_with()
    router.set_agent("both", {"support": 1, "sales": 1})
    router.add_call(call("s1", queue="sales"), at(0))
    router.add_call(call("h1"), at(1))
    router.add_call(call("h2", priority=3), at(2))
    assert picked(router.agent_available("both", at(3))) == [("h2", "both")]
    router.agent_unavailable("both")
    assert picked(router.agent_available("both", at(4))) == [("s1", "both")]


def test_a_returning_customer_goes_back_to_their_last_agent_when_free() -> None:
    router = router_with()
    for name, idle in [("a", 0), ("b", 1)]:
        router.set_agent(name, {"support": 1})
        router.agent_available(name, at(idle))
    [first] = router.add_call(call("c1", customer_id="cust-7"), at(10))
    assert first.agent == "a"
    router.answered("c1", "a", at(12))
    router.agent_available("a", at(100))  # now b is the longest idle
    [second] = router.add_call(call("c2", customer_id="cust-7"), at(200))
    assert (second.agent, second.sticky) == ("a", True)


def test_a_call_transferred_into_a_queue_is_not_stuck_to_the_agent_who_handed_it_on() -> None:
    router = router_with()
    for name, idle in [("a", 0), ("b", 1)]:
        router.set_agent(name, {"support": 1})
        router.agent_available(name, at(idle))
    router.add_call(call("c1", customer_id="cust-7"), at(10))
    router.answered("c1", "a", at(12))
    router.agent_available("a", at(20))  # free again after the wrap-up; b has been idle longer
    [back] = router.add_call(call("c1", customer_id="cust-7"), at(30))
    assert (back.agent, back.sticky) == ("b", False)


def test_stickiness_ends_after_the_time_limit() -> None:
    router = router_with()
    for name, idle in [("a", 0), ("b", 1)]:
        router.set_agent(name, {"support": 1})
        router.agent_available(name, at(idle))
    router.add_call(call("c1", caller="13800131000"), at(10))
    router.answered("c1", "a", at(12))
    router.agent_available("a", at(100))
    [late] = router.add_call(call("c2", caller="13800131000"), at(12 + 3601))
    assert (late.agent, late.sticky) == ("b", False)


def test_a_busy_last_agent_does_not_hold_the_returning_customer_back() -> None:
    router = router_with()
    for name, idle in [("a", 0), ("b", 1)]:
        router.set_agent(name, {"support": 1})
        router.agent_available(name, at(idle))
    router.add_call(call("c1", customer_id="cust-7"), at(10))
    router.answered("c1", "a", at(12))
    [second] = router.add_call(call("c2", customer_id="cust-7"), at(20))
    assert (second.agent, second.sticky) == ("b", False)


def test_after_the_overflow_time_the_overflow_queues_agents_may_take_the_call() -> None:
    router = router_with(overflow_after_s=30, overflow_to="sales")
    router.set_agent("seller", {"sales": 4})
    router.agent_available("seller", at(0))
    assert router.add_call(call("c1"), at(1)) == []
    assert router.due(at(30)) == []
    assert router.next_due() == at(31)
    outcomes = router.due(at(31))
    assert isinstance(outcomes[0], Overflowed) and outcomes[0].to_queue == "sales"
    assert outcomes[0].wait_seconds == 30
    assert [(o.call.call_id, o.agent, o.queue) for o in outcomes[1:]] == [("c1", "seller", "sales")]


def test_an_overflowed_call_is_taken_by_an_overflow_agent_who_frees_up_later() -> None:
    router = router_with(overflow_after_s=30, overflow_to="sales")
    router.set_agent("seller", {"sales": 4})
    router.add_call(call("c1"), at(0))
    router.add_call(call("s1", queue="sales"), at(5))
    router.due(at(30))
    # c1 arrived first, and keeps that place among the sales callers
    assert picked(router.agent_available("seller", at(40))) == [("c1", "seller")]


def test_ring_no_answer_tries_the_next_agent_and_keeps_the_call_in_place() -> None:
    router = router_with()
    for name, idle in [("a", 0), ("b", 1)]:
        router.set_agent(name, {"support": 1})
        router.agent_available(name, at(idle))
    router.add_call(call("c1"), at(10))
    missed, assignments = router.ring_no_answer("c1", at(25))
    assert missed == "a"
    assert [(x.call.call_id, x.agent, x.attempt) for x in assignments] == [("c1", "b", 2)]
    assert not router.is_available("a")  # the caller pauses them as missed


def test_after_ring_no_answer_with_nobody_free_the_call_is_first_in_line() -> None:
    router = router_with()
    router.set_agent("a", {"support": 1})
    router.set_agent("b", {"support": 1})
    router.agent_available("a", at(0))
    router.add_call(call("c1"), at(10))
    router.add_call(call("c2"), at(11))
    router.ring_no_answer("c1", at(25))
    assert picked(router.agent_available("b", at(26))) == [("c1", "b")]


def test_no_news_within_the_ring_timeout_counts_as_ring_no_answer() -> None:
    router = router_with()
    router.set_agent("a", {"support": 1})
    router.agent_available("a", at(0))
    router.add_call(call("c1"), at(10))
    assert router.due(at(10 + 15 + RING_GRACE_S - 0.1)) == []
    [timed_out] = router.due(at(10 + 15 + RING_GRACE_S))
    assert isinstance(timed_out, RingTimedOut) and timed_out.agent == "a"
    assert router.phase("c1") is CallPhase.WAITING


def test_an_answered_call_cancels_its_ring_timeout() -> None:
    router = router_with()
    router.set_agent("a", {"support": 1})
    router.agent_available("a", at(0))
    router.add_call(call("c1"), at(10))
    router.answered("c1", "a", at(12))
    assert router.due(at(100)) == []
    assert router.next_due() is None


@pytest.mark.parametrize("action", [MaxWaitAction.CALLBACK, MaxWaitAction.MESSAGE])
def test_a_caller_who_waited_the_maximum_is_sent_to_callback_or_message(action: MaxWaitAction) -> None:
    router = router_with(max_wait_s=120, max_wait_action=action)
    router.add_call(call("c1", queued_at=at(0)), at(1))
    assert router.due(at(119)) == []
    [outcome] = router.due(at(121))
    assert outcome == MaxWait(router_call := outcome.call, action, 121)
    assert router_call.call_id == "c1"
    assert router.call("c1") is None


def test_the_maximum_wait_does_not_cut_a_ringing_agent_short() -> None:
    router = router_with(max_wait_s=60)
    router.set_agent("a", {"support": 1})
    router.add_call(call("c1"), at(0))
    router.agent_available("a", at(58))
    assert router.due(at(60)) == []
    router.ring_no_answer("c1", at(62))
    [outcome] = router.due(at(62))
    assert isinstance(outcome, MaxWait)


def test_a_failed_delivery_puts_the_call_back_at_its_place_after_a_pause() -> None:
    router = router_with()
    router.set_agent("a", {"support": 1})
    router.set_agent("b", {"support": 1})
    router.agent_available("a", at(0))
    router.add_call(call("c1"), at(10))
    router.add_call(call("c2"), at(11))
    assert router.delivery_failed("c1", at(12)) == "a"
    assert router.phase("c1") is CallPhase.HELD
    assert picked(router.agent_available("a", at(12))) == [("c2", "a")]  # c1 is held a moment
    router.agent_available("b", at(13))
    [again] = router.due(at(14))
    assert (again.call.call_id, again.agent, again.attempt) == ("c1", "b", 2)


def test_a_failed_delivery_call_waits_at_its_old_place_when_nobody_is_free() -> None:
    router = router_with()
    router.set_agent("a", {"support": 1})
    router.agent_available("a", at(0))
    router.add_call(call("c1"), at(10))
    router.delivery_failed("c1", at(11))
    router.agent_unavailable("a")
    router.add_call(call("c2"), at(12))
    assert router.due(at(13)) == []
    assert picked(router.agent_available("a", at(20))) == [("c1", "a")]


def test_late_ivr_news_updates_a_waiting_call_without_losing_its_place() -> None:
    router = router_with()
    router.set_agent("a", {"support": 1})
    router.add_call(call("c1"), at(0))
    router.add_call(call("c2"), at(1))
    router.add_call(call("c2", priority=9, customer_id="cust"), at(2))
    assert router.call("c2").queued_at == at(1)
    assert picked(router.agent_available("a", at(3))) == [("c2", "a")]


def test_removed_calls_are_never_offered() -> None:
    router = router_with()
    router.set_agent("a", {"support": 1})
    router.add_call(call("c1"), at(0))
    assert router.remove_call("c1").call_id == "c1"
    assert router.agent_available("a", at(1)) == []
    assert router.remove_call("c1") is None


def test_skill_changes_of_a_free_agent_apply_at_once() -> None:
    router = router_with()
    router.set_agent("a", {"sales": 1})
    router.agent_available("a", at(0))
    router.set_agent("a", {"support": 1})
    assert picked(router.add_call(call("c1"), at(1))) == [("c1", "a")]


def test_unknown_queue_or_agent_is_a_clear_error() -> None:
    router = router_with()
    with pytest.raises(UnknownQueue, match="nowhere"):
        router.add_call(call("c1", queue="nowhere"), at(0))
    with pytest.raises(UnknownAgent, match="ghost"):
        router.agent_available("ghost", at(0))


# --- against a naive scan ----------------------------------------------------------------------

SKILLS = ["support", "sales", "billing"]
STRATEGY_OF = {
    "support": Strategy.LONGEST_IDLE,
    "sales": Strategy.FEWEST_CALLS,
    "billing": Strategy.BEST_SKILL,
}
AGENTS = [f"a{i}" for i in range(6)]

operation = st.one_of(
    st.tuples(st.just("call"), st.sampled_from(SKILLS), st.integers(0, 2)),
    st.tuples(st.just("free"), st.sampled_from(AGENTS), st.integers(0, 5)),
    st.tuples(st.just("busy"), st.sampled_from(AGENTS), st.just(0)),
)
skill_sets = st.lists(
    st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 10), min_size=1), min_size=6, max_size=6
)


@settings(max_examples=200, deadline=None)
@given(skill_sets, st.lists(operation, max_size=60))
def test_the_indexed_router_decides_like_a_scan_over_every_agent_and_call(skills, operations) -> None:
    queues = {s: QueueConfig(s, strategy=STRATEGY_OF[s]) for s in SKILLS}
    router = Router(queues)
    free: dict[str, tuple] = {}  # agent → (idle, calls, seq)
    waiting: list[tuple] = []  # (-priority, 0, arrival, seq, call id, skill)
    for seq, agent in enumerate(AGENTS):
        router.set_agent(agent, skills[seq])
    for step, (kind, what, number) in enumerate(operations):
        now = at(step)
        if kind == "call":
            got = picked(router.add_call(WaitingCall(f"c{step}", "ch", what, priority=number), now))
            candidates = [a for a in free if what in skills[AGENTS.index(a)]]

            def key(agent: str, what=what) -> tuple:
                idle, calls, seq = free[agent]
                level = skills[seq][what]
                return {
                    Strategy.LONGEST_IDLE: (idle, 0, seq),
                    Strategy.FEWEST_CALLS: (calls, idle, seq),
                    Strategy.BEST_SKILL: (-level, idle, seq),
                }[STRATEGY_OF[what]]

            expected = []
            if candidates:
                best = min(candidates, key=key)
                del free[best]
                expected = [(f"c{step}", best)]
            else:
                waiting.append((-number, 0, step, step, f"c{step}", what))
            assert got == expected
        elif kind == "free":
            if what in free:
                continue
            got = picked(router.agent_available(what, now, calls_handled=number))
            mine = [c for c in waiting if c[5] in skills[AGENTS.index(what)]]
            expected = []
            if mine:
                best_call = min(mine)
                waiting.remove(best_call)
                expected = [(best_call[4], what)]
            else:
                free[what] = (step, number, AGENTS.index(what))
            assert got == expected
        else:
            router.agent_unavailable(what)
            free.pop(what, None)


# --- several Asterisk servers: a caller reaches only agents whose phone is on their server -----


def test_a_caller_is_offered_only_to_agents_whose_phone_is_homed_on_the_callers_server() -> None:
    router = router_with()
    for name, home, idle in [("sh-agent", "sh", 0), ("bj-agent", "bj", 1)]:
        router.set_agent(name, {"support": 1})
        router.agent_available(name, at(idle), home=home)
    assert picked(router.add_call(call("bj-1795415672.1"), at(10))) == [("bj-1795415672.1", "bj-agent")]
    assert router.add_call(call("bj-1795415672.2"), at(11)) == []  # sh's idle agent is out of reach
    assert picked(router.add_call(call("sh-1795415672.1"), at(12))) == [("sh-1795415672.1", "sh-agent")]
    # bj's agent free again: bj's waiting caller is theirs.
    assert picked(router.agent_available("bj-agent", at(20), home="bj")) == [("bj-1795415672.2", "bj-agent")]


def test_an_agent_whose_phone_moves_to_another_server_takes_that_servers_callers() -> None:
    router = router_with()
    router.set_agent("a", {"support": 1})
    router.agent_available("a", at(0), home="bj")
    router.add_call(call("sh-1795415672.1"), at(1))
    assert router.agent_home("a") == "bj"
    assert picked(router.agent_available("a", at(2), home="sh")) == [("sh-1795415672.1", "a")]


def test_a_returning_customer_is_not_sent_to_their_last_agent_on_another_server() -> None:
    router = router_with()
    router.set_agent("a", {"support": 1})
    router.set_agent("b", {"support": 1})
    router.agent_available("a", at(0), home="bj")
    router.agent_available("b", at(1), home="sh")
    [first] = router.add_call(call("bj-1795415672.1", customer_id="cust-7"), at(10))
    router.answered("bj-1795415672.1", first.agent, at(12))
    router.agent_available("a", at(13), home="bj")
    [second] = router.add_call(call("sh-1795415672.9", customer_id="cust-7"), at(20))
    assert (second.agent, second.sticky) == ("b", False)


def test_a_callback_takes_the_best_idle_agent_of_any_server() -> None:
    router = router_with()
    for name, home, idle in [("bj-agent", "bj", 5), ("sh-agent", "sh", 1)]:
        router.set_agent(name, {"support": 1})
        router.agent_available(name, at(idle), home=home)
    assert router.best_available_agent("support", Strategy.LONGEST_IDLE) == "sh-agent"
