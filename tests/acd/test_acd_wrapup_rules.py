"""Wrap-up that cannot misfile: an open wrap-up form holds the agent, extended once, pause after."""

from __future__ import annotations

import pytest

from acd.agents import AgentStates
from acd.errors import IllegalTransition, UnknownReasonCode
from acd.models import AgentProfile, AgentState
from cti.events import CallAnswered, CallEnded, EndCause
from tests.acd.test_acd_service import Harness, at, config, offered, queued

S = AgentState


@pytest.fixture
def states() -> AgentStates:
    states = AgentStates({"alice": AgentProfile("alice", "1001", {"support": 5})}, reason_codes={"coaching"})
    states.login(at(0), "alice", ("support",))
    states.ring(at(1), "alice", "c1", "support")
    states.answer(at(3), "alice", "c1", "support")
    return states


def test_a_wrap_up_can_be_extended_once_only(states: AgentStates) -> None:
    states.hang_up(at(10), "alice", "c1", wrapup_s=15)
    assert states.extend_wrapup(at(12), "alice", 30) == at(55)
    with pytest.raises(IllegalTransition):
        states.extend_wrapup(at(13), "alice", 30)


def test_the_next_wrap_up_may_be_extended_again(states: AgentStates) -> None:
    states.hang_up(at(10), "alice", "c1", wrapup_s=15)
    states.extend_wrapup(at(12), "alice", 30)
    states.ready(at(20), "alice")
    states.ring(at(21), "alice", "c2", "support")
    states.answer(at(22), "alice", "c2", "support")
    states.hang_up(at(30), "alice", "c2", wrapup_s=15)
    assert states.extend_wrapup(at(31), "alice", 10) == at(55)


def test_pause_after_the_call_pauses_when_the_wrap_up_ends(states: AgentStates) -> None:
    states.pause_after_call("alice", "coaching")
    states.hang_up(at(10), "alice", "c1", wrapup_s=15)
    [event] = states.expire_wrapups(at(25))
    assert (event.state, event.reason, event.previous) == (S.PAUSED, "coaching", S.WRAP_UP)
    assert states.get("alice").pause_after == ""


def test_pause_after_the_call_pauses_at_the_ready_that_ends_the_wrap_up(states: AgentStates) -> None:
    states.hang_up(at(10), "alice", "c1", wrapup_s=15)
    states.pause_after_call("alice", "break")
    [event] = states.ready(at(12), "alice")
    assert (event.state, event.reason) == (S.PAUSED, "break")


def test_pause_after_the_call_with_no_wrap_up_time_pauses_at_the_hang_up(states: AgentStates) -> None:
    states.pause_after_call("alice", "lunch")
    [event] = states.hang_up(at(10), "alice", "c1", wrapup_s=0)
    assert (event.state, event.reason) == (S.PAUSED, "lunch")


def test_pause_after_can_be_cancelled_and_needs_a_known_reason(states: AgentStates) -> None:
    states.pause_after_call("alice", "break")
    states.pause_after_call("alice", "")
    states.hang_up(at(10), "alice", "c1", wrapup_s=0)
    assert states.get("alice").state is S.AVAILABLE
    with pytest.raises(IllegalTransition):
        states.pause_after_call("alice", "break")  # available: pause now instead
    states.ring(at(11), "alice", "c2", "support")
    with pytest.raises(UnknownReasonCode):
        states.pause_after_call("alice", "nap")


def test_a_held_wrap_up_stays_past_its_time_until_released(states: AgentStates) -> None:
    states.hang_up(at(10), "alice", "c1", wrapup_s=15)
    assert states.expire_wrapups(at(30), held=lambda record: True) == []
    assert states.get("alice").state is S.WRAP_UP
    assert states.next_wrapup_end() is None  # nothing left to wake up for
    [event] = states.release_wrapup(at(40), "alice")
    assert (event.state, event.reason, event.previous_seconds) == (S.AVAILABLE, "wrap-up-over", 30)


def test_releasing_a_wrap_up_still_in_its_time_changes_nothing(states: AgentStates) -> None:
    states.hang_up(at(10), "alice", "c1", wrapup_s=15)
    assert states.release_wrapup(at(12), "alice") == []
    [event] = states.expire_wrapups(at(25))
    assert event.state is S.AVAILABLE


async def answered_and_ended(h: Harness) -> None:
    await h.acd.login("alice")
    await h.feed(offered("c1"), queued("c1", 1))
    await h.feed(CallAnswered(at(2), "c1", "PJSIP/1001", "support", 1.0))
    await h.feed(CallEnded(at(30), "c1", EndCause.NORMAL, 28.0, agent="PJSIP/1001"))


async def test_no_call_is_offered_while_the_agents_wrap_up_form_is_open() -> None:
    h = Harness()
    await answered_and_ended(h)
    await h.acd.wrapup_form("alice", open=True)
    await h.feed(offered("c2", 31), queued("c2", 31))
    h.clock.now = at(60)  # support's wrap-up of 10 s is long over
    await h.acd.run_due()
    assert h.state("alice") is S.WRAP_UP
    assert [r[1] for r in h.switch.of("redirect")] == ["PJSIP/trunk-c1"]
    await h.acd.wrapup_form("alice", open=False)  # saved: the waiting call comes now
    assert h.state("alice") is S.RINGING
    assert h.switch.of("redirect")[-1][1] == "PJSIP/trunk-c2"


async def test_a_queue_that_offers_during_wrap_up_ends_it_on_time_with_the_form_open() -> None:
    h = Harness(config(offer_during_wrapup=True))
    await answered_and_ended(h)
    await h.acd.wrapup_form("alice", open=True)
    h.clock.now = at(40)
    await h.acd.run_due()
    assert h.state("alice") is S.AVAILABLE


async def test_a_wrap_up_form_kept_across_a_restart_holds_the_agent_from_the_log_in() -> None:
    h = Harness()
    await h.acd.wrapup_form("alice", open=True)  # restored at start, before anyone logged in
    await h.acd.login("alice")
    assert h.state("alice") is S.WRAP_UP
    await h.feed(offered("c2", 31), queued("c2", 31))
    h.clock.now = at(60)
    await h.acd.run_due()
    assert h.state("alice") is S.WRAP_UP
    assert h.switch.of("redirect") == []
    await h.acd.wrapup_form("alice", open=False)  # saved: the waiting call comes now
    assert h.state("alice") is S.RINGING


async def test_a_kept_wrap_up_form_does_not_hold_an_agent_who_logs_in_paused_or_where_queues_offer() -> None:
    h = Harness()
    await h.acd.wrapup_form("alice", open=True)
    await h.acd.login("alice", paused_reason="break")
    assert h.state("alice") is S.PAUSED
    offering = Harness(config(offer_during_wrapup=True))
    await offering.acd.wrapup_form("alice", open=True)
    await offering.acd.login("alice")
    assert offering.state("alice") is S.AVAILABLE
