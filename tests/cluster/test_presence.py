"""What a node taking over logs in again: each agent's last state, followed from the events."""

from __future__ import annotations

from datetime import UTC, datetime

from acd.events import AgentStateChanged
from acd.models import AgentState as S
from cti.events import CallEnded, EndCause
from hotline.cluster.presence import Last, Presence, Seat

AT = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


def changed(agent: str, state: S, reason: str = "") -> AgentStateChanged:
    return AgentStateChanged(AT, agent, state, S.LOGGED_OUT, reason, interface=f"PJSIP/{agent[-4:]}")


def test_logged_in_agents_come_back_paused_ones_with_their_reason_and_logged_out_ones_not() -> None:
    presence = Presence()
    for event in (
        changed("a1001", S.AVAILABLE),
        changed("a1002", S.PAUSED, "lunch"),
        changed("a1003", S.AVAILABLE),
        changed("a1003", S.LOGGED_OUT),
        changed("a1004", S.ON_CALL, "answered"),
        CallEnded(AT, "c-1", EndCause.NORMAL, 3.0),
    ):
        presence.apply(event)
    assert presence.seats() == [Seat("a1001", ""), Seat("a1002", "lunch"), Seat("a1004", "")]


def test_a_snapshot_overrides_what_was_followed_and_keeps_the_agents_it_does_not_name() -> None:
    presence = Presence()
    presence.apply(changed("a1001", S.AVAILABLE))
    presence.apply(changed("a1003", S.AVAILABLE))
    # A broker restarted empty: the leader's snapshot holds only the agents changed since.
    snapshot = {
        "a1002": Last.loads(Last(S.PAUSED, "training", "PJSIP/1002").dumps()),
        "a1003": Last(S.LOGGED_OUT, "", "PJSIP/1003"),
    }
    presence.replace(snapshot)
    assert presence.seats() == [Seat("a1001", ""), Seat("a1002", "training")]


def test_an_agent_at_a_hot_desk_comes_back_at_that_desk() -> None:
    presence = Presence()
    presence.apply(
        AgentStateChanged(
            AT, "a1001", S.AVAILABLE, S.LOGGED_OUT, "login", interface="PJSIP/1001", desk="1009"
        )
    )
    assert presence.seats() == [Seat("a1001", "", "1009")]
    last = presence.last["a1001"]
    assert Last.loads(last.dumps()) == last
    # A snapshot written before desks were kept reads as the agent's own desk.
    assert Last.loads('{"state": "available", "reason": "", "interface": "PJSIP/1001"}').desk == ""
