from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from acd.agents import AgentStates
from acd.errors import IllegalTransition, UnknownAgent, UnknownReasonCode
from acd.models import AgentProfile, AgentState, PauseReason

S = AgentState
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def states() -> AgentStates:
    profiles = {"alice": AgentProfile("alice", "1001", {"support": 5}, group="team1")}
    return AgentStates(profiles, reason_codes={"coaching"})


def logged_in(states: AgentStates) -> AgentStates:
    states.login(at(0), "alice", ("support",))
    return states


def on_call(states: AgentStates) -> AgentStates:
    logged_in(states)
    states.ring(at(1), "alice", "c1", "support")
    states.answer(at(3), "alice", "c1", "support")
    return states


def test_login_makes_the_agent_available_in_the_queues_of_their_skills(states: AgentStates) -> None:
    [event] = states.login(at(0), "alice", ("support",))
    assert (event.state, event.previous, event.reason) == (S.AVAILABLE, S.LOGGED_OUT, "login")
    assert event.queues == ("support",)
    assert event.interface == "PJSIP/1001"
    assert states.get("alice").extension == "1001"


def test_login_paused_starts_in_the_pause_with_its_reason(states: AgentStates) -> None:
    [event] = states.login(at(0), "alice", ("support",), extension="1009", paused_reason="meeting")
    assert (event.state, event.reason) == (S.PAUSED, "meeting")
    assert states.get("alice").extension == "1009"


def test_a_full_inbound_call_goes_ringing_on_call_wrap_up_and_back_to_available(states: AgentStates) -> None:
    logged_in(states)
    [ringing] = states.ring(at(10), "alice", "c1", "support")
    [answered] = states.answer(at(12), "alice", "c1", "support")
    [wrapup] = states.hang_up(at(72), "alice", "c1", wrapup_s=15)
    assert [e.state for e in (ringing, answered, wrapup)] == [S.RINGING, S.ON_CALL, S.WRAP_UP]
    assert ringing.previous_seconds == 10 and answered.previous_seconds == 2 and wrapup.previous_seconds == 60
    assert wrapup.queue == "support" and wrapup.call_id == "c1"
    assert states.expire_wrapups(at(86)) == []
    [available] = states.expire_wrapups(at(87))
    assert (available.state, available.previous, available.reason) == (S.AVAILABLE, S.WRAP_UP, "wrap-up-over")
    assert available.at == at(87) and available.previous_seconds == 15
    assert states.get("alice").calls_handled == 1
    assert states.get("alice").idle_since == at(87)


def test_wrap_up_can_be_extended_and_the_old_end_no_longer_frees_the_agent(states: AgentStates) -> None:
    on_call(states)
    states.hang_up(at(10), "alice", "c1", wrapup_s=15)
    assert states.extend_wrapup(at(20), "alice", 30) == at(55)
    assert states.expire_wrapups(at(30)) == []
    assert states.next_wrapup_end() == at(55)
    [event] = states.expire_wrapups(at(60))
    assert event.at == at(55)


def test_the_agent_may_end_wrap_up_early(states: AgentStates) -> None:
    on_call(states)
    states.hang_up(at(10), "alice", "c1", wrapup_s=15)
    [event] = states.ready(at(12), "alice")
    assert (event.state, event.reason) == (S.AVAILABLE, "ready")
    assert states.expire_wrapups(at(100)) == []


def test_zero_wrap_up_returns_the_agent_straight_to_available(states: AgentStates) -> None:
    on_call(states)
    [event] = states.hang_up(at(10), "alice", "c1", wrapup_s=0)
    assert event.state is S.AVAILABLE


def test_ring_no_answer_pauses_the_agent_as_missed(states: AgentStates) -> None:
    logged_in(states)
    states.ring(at(1), "alice", "c1", "support")
    [event] = states.ring_no_answer(at(16), "alice", "c1")
    assert (event.state, event.reason, event.call_id) == (S.PAUSED, PauseReason.MISSED, "c1")


def test_a_caller_hanging_up_during_the_ring_leaves_the_agent_their_idle_place(states: AgentStates) -> None:
    logged_in(states)
    states.ring(at(5), "alice", "c1", "support")
    [event] = states.ring_cancelled(at(8), "alice", "c1")
    assert (event.state, event.reason) == (S.AVAILABLE, "caller-hung-up")
    assert states.get("alice").idle_since == at(0)


def test_pause_with_a_reason_code_and_unpause(states: AgentStates) -> None:
    logged_in(states)
    [paused] = states.pause(at(5), "alice", "lunch")
    assert (paused.state, paused.reason) == (S.PAUSED, "lunch")
    [changed] = states.pause(at(6), "alice", "coaching")  # a site's own reason code
    assert changed.reason == "coaching" and changed.previous is S.PAUSED
    assert states.pause(at(7), "alice", "coaching") == []
    [ready] = states.ready(at(9), "alice")
    assert (ready.state, ready.previous) == (S.AVAILABLE, S.PAUSED)


def test_pausing_during_wrap_up_is_allowed(states: AgentStates) -> None:
    on_call(states)
    states.hang_up(at(10), "alice", "c1", wrapup_s=15)
    [event] = states.pause(at(11), "alice", "break")
    assert event.state is S.PAUSED
    assert states.expire_wrapups(at(100)) == []


def test_an_unknown_reason_code_is_refused(states: AgentStates) -> None:
    logged_in(states)
    with pytest.raises(UnknownReasonCode, match="nap"):
        states.pause(at(1), "alice", "nap")


def test_an_outbound_call_from_idle_ends_in_wrap_up(states: AgentStates) -> None:
    logged_in(states)
    [busy] = states.outbound(at(1), "alice", "out1")
    assert busy.state is S.OUTBOUND
    [event] = states.hang_up(at(60), "alice", "out1", wrapup_s=10)
    assert event.state is S.WRAP_UP


def test_an_outbound_call_during_a_marketing_pause_returns_to_that_pause(states: AgentStates) -> None:
    logged_in(states)
    states.pause(at(1), "alice", PauseReason.MARKETING)
    states.outbound(at(2), "alice", "out1")
    [event] = states.hang_up(at(60), "alice", "out1", wrapup_s=10)
    assert (event.state, event.reason) == (S.PAUSED, PauseReason.MARKETING)


def test_logout_from_available_paused_or_wrap_up(states: AgentStates) -> None:
    logged_in(states)
    [event] = states.logout(at(5), "alice")
    assert (event.state, event.previous, event.queues) == (S.LOGGED_OUT, S.AVAILABLE, ("support",))
    assert states.get("alice").queues == ()
    logged_in(states)
    states.pause(at(6), "alice", "break")
    assert states.logout(at(7), "alice")[0].previous is S.PAUSED


@pytest.mark.parametrize(
    ("setup", "action"),
    [
        (lambda s: s, lambda s: s.logout(at(9), "alice")),
        (lambda s: s, lambda s: s.ring(at(9), "alice", "c9", "support")),
        (lambda s: s, lambda s: s.pause(at(9), "alice", "break")),
        (lambda s: s, lambda s: s.outbound(at(9), "alice", "o9")),
        (lambda s: s, lambda s: s.ready(at(9), "alice")),
        (logged_in, lambda s: s.login(at(9), "alice", ("support",))),
        (logged_in, lambda s: s.extend_wrapup(at(9), "alice", 10)),
        (on_call, lambda s: s.pause(at(9), "alice", "break")),
        (on_call, lambda s: s.logout(at(9), "alice")),
        (on_call, lambda s: s.ring(at(9), "alice", "c2", "support")),
        (on_call, lambda s: s.outbound(at(9), "alice", "o9")),
        (on_call, lambda s: s.ready(at(9), "alice")),
    ],
    ids=[
        "logout-while-logged-out",
        "ring-while-logged-out",
        "pause-while-logged-out",
        "outbound-while-logged-out",
        "ready-while-logged-out",
        "login-twice",
        "extend-wrap-up-while-available",
        "pause-on-call",
        "logout-on-call",
        "ring-on-call",
        "outbound-on-call",
        "ready-on-call",
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(states: AgentStates, setup, action) -> None:
    setup(states)
    before = states.get("alice").state
    with pytest.raises(IllegalTransition) as error:
        action(states)
    assert states.get("alice").state is before
    assert "alice" in str(error.value)


def test_news_about_a_call_the_agent_is_not_on_changes_nothing(states: AgentStates) -> None:
    on_call(states)
    assert states.ring_no_answer(at(9), "alice", "c1") == []  # answered already
    assert states.hang_up(at(9), "alice", "other", wrapup_s=5) == []
    assert states.answer(at(9), "alice", "c1", "support") == []  # a repeat
    assert states.get("alice").state is S.ON_CALL


def test_an_unknown_agent_is_a_clear_error(states: AgentStates) -> None:
    with pytest.raises(UnknownAgent, match="bob"):
        states.login(at(0), "bob", ())


def test_agents_are_found_by_their_interface(states: AgentStates) -> None:
    assert states.by_interface("PJSIP/1001").profile.agent == "alice"
    assert states.by_interface("PJSIP/9999") is None


def test_an_agent_paused_as_missed_who_picks_up_late_is_on_the_call(states: AgentStates) -> None:
    logged_in(states)
    states.ring(at(1), "alice", "c1", "support")
    states.ring_no_answer(at(20), "alice", "c1")
    [event] = states.answer(at(21), "alice", "c1", "support")
    assert (event.state, event.reason) == (S.ON_CALL, "answered-late")


def test_an_agent_on_a_chosen_pause_cannot_be_put_on_a_call(states: AgentStates) -> None:
    logged_in(states)
    states.pause(at(1), "alice", "lunch")
    with pytest.raises(IllegalTransition):
        states.answer(at(2), "alice", "c1", "support")
