"""Sessions with an injected clock."""

from __future__ import annotations

from agent_api.security import SessionStore, same_token
from crm.kinds import Role


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_session_ends_after_it_has_been_idle_too_long_and_lives_while_used():
    clock = Clock()
    store = SessionStore(idle_s=100, max_age_s=1000, clock=clock)
    session = store.create("agent1001", frozenset({Role.AGENT}), "", "1001")
    for _ in range(5):
        clock.now += 99
        assert store.get(session.session_id) is session
    clock.now += 101
    assert store.get(session.session_id) is None


def test_a_session_ends_at_its_maximum_age_however_busy():
    clock = Clock()
    store = SessionStore(idle_s=100, max_age_s=300, clock=clock)
    session = store.create("agent1001", frozenset({Role.AGENT}), "", "1001")
    for _ in range(3):
        clock.now += 99
        assert store.get(session.session_id) is not None
    clock.now += 10
    assert store.get(session.session_id) is None


def test_sessions_and_csrf_tokens_are_unguessable_and_distinct():
    store = SessionStore()
    a = store.create("a", frozenset({Role.AGENT}), "", "")
    b = store.create("a", frozenset({Role.AGENT}), "", "")
    assert len({a.session_id, b.session_id, a.csrf_token, b.csrf_token}) == 4
    assert len(a.session_id) >= 40
    assert store.end_user("a") == 2 and store.get(a.session_id) is None


def test_token_comparison_is_exact():
    assert same_token("abc", "abc") and not same_token("abc", "abd") and not same_token("", "abc")
