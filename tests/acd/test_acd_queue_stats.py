from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from acd.events import AgentsByState, AgentStateChanged
from acd.models import AgentState, QueueConfig
from acd.stats import QueueStatistics
from crm.restart_state import RecentLeg
from cti.events import CallAbandoned, CallAnswered, CallEnded, CallQueued, EndCause, SwitchResynced

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
S = AgentState


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def stats() -> QueueStatistics:
    return QueueStatistics({"support": QueueConfig("support", service_level_s=20)}, window_s=600)


def answered(stats: QueueStatistics, call: str, joined: float, wait: float, talk: float) -> None:
    stats.feed(CallQueued(at(joined), call, "support", 1))
    stats.feed(CallAnswered(at(joined + wait), call, "PJSIP/1001", "support", wait))
    stats.feed(CallEnded(at(joined + wait + talk), call, EndCause.NORMAL, talk, agent="PJSIP/1001"))


def test_an_empty_queue_shows_full_service_level_and_no_abandons(stats: QueueStatistics) -> None:
    snap = stats.snapshot("support", at(0))
    assert (snap.waiting, snap.service_level, snap.abandon_rate, snap.asa_s, snap.aht_s) == (
        0,
        1.0,
        0.0,
        0,
        0,
    )


def test_service_level_abandon_rate_asa_and_aht_match_hand_computed_values(stats: QueueStatistics) -> None:
    answered(stats, "c1", 0, 5, 100)  # within 20 s
    answered(stats, "c2", 10, 30, 200)  # late
    answered(stats, "c3", 20, 20, 60)  # exactly 20 s counts as within
    stats.feed(CallQueued(at(30), "c4", "support", 2))
    stats.feed(CallAbandoned(at(75), "c4", "support", 45, 1))
    # wrap-up of 10 s after c1 and 20 s after c2
    for agent, call, end, wrap in [("x", "c1", 105, 10), ("y", "c2", 240, 20)]:
        stats.feed(
            AgentStateChanged(
                at(end + wrap),
                agent,
                S.AVAILABLE,
                S.WRAP_UP,
                queue="support",
                call_id=call,
                queues=("support",),
                previous_seconds=wrap,
            )
        )
    snap = stats.snapshot("support", at(300))
    assert (snap.answered, snap.abandoned, snap.answered_within_sl) == (3, 1, 2)
    assert snap.service_level == pytest.approx(2 / 4)
    assert snap.abandon_rate == pytest.approx(1 / 4)
    assert snap.asa_s == pytest.approx((5 + 30 + 20) / 3)
    assert snap.aht_s == pytest.approx((100 + 200 + 60 + 10 + 20) / 3)


def test_waiting_and_longest_wait_are_live(stats: QueueStatistics) -> None:
    stats.feed(CallQueued(at(0), "c1", "support", 1))
    stats.feed(CallQueued(at(10), "c2", "support", 2))
    snap = stats.snapshot("support", at(25))
    assert (snap.waiting, snap.longest_wait_s) == (2, 25)
    stats.feed(CallAnswered(at(26), "c1", "PJSIP/1001", "support", 26))
    snap = stats.snapshot("support", at(30))
    assert (snap.waiting, snap.longest_wait_s) == (1, 20)


def test_a_call_requeued_after_ring_no_answer_keeps_its_first_arrival(stats: QueueStatistics) -> None:
    stats.feed(CallQueued(at(0), "c1", "support", 1))
    stats.feed(CallQueued(at(20), "c1", "support", 1, priority=1))
    snap = stats.snapshot("support", at(30))
    assert (snap.waiting, snap.longest_wait_s) == (1, 30)


def test_finished_calls_leave_the_figures_after_the_window(stats: QueueStatistics) -> None:
    answered(stats, "c1", 0, 30, 10)
    assert stats.snapshot("support", at(600)).answered == 1
    snap = stats.snapshot("support", at(700))
    assert (snap.answered, snap.service_level, snap.asa_s, snap.aht_s) == (0, 1.0, 0.0, 0.0)


def test_agents_are_counted_by_state_in_each_of_their_queues() -> None:
    stats = QueueStatistics({"support": QueueConfig("support"), "sales": QueueConfig("sales")})
    both = ("support", "sales")
    stats.feed(AgentStateChanged(at(0), "a", S.AVAILABLE, S.LOGGED_OUT, queues=both))
    stats.feed(AgentStateChanged(at(0), "b", S.AVAILABLE, S.LOGGED_OUT, queues=("support",)))
    stats.feed(AgentStateChanged(at(1), "a", S.RINGING, S.AVAILABLE, queues=both))
    stats.feed(AgentStateChanged(at(2), "b", S.PAUSED, S.AVAILABLE, reason="lunch", queues=("support",)))
    assert stats.snapshot("support", at(3)).agents == AgentsByState(ringing=1, paused=1)
    assert stats.snapshot("sales", at(3)).agents == AgentsByState(ringing=1)
    touched = stats.feed(AgentStateChanged(at(4), "b", S.LOGGED_OUT, S.PAUSED, queues=("support",)))
    assert touched == ("support",)
    assert stats.snapshot("support", at(5)).agents.logged_in == 1


def test_a_caller_hanging_up_while_an_agent_rings_is_neither_answered_nor_abandoned(stats) -> None:
    stats.feed(CallQueued(at(0), "c1", "support", 1))
    stats.feed(CallEnded(at(9), "c1", EndCause.NORMAL, 0.0))
    snap = stats.snapshot("support", at(10))
    assert (snap.waiting, snap.answered, snap.abandoned, snap.aht_s) == (0, 0, 0, 0)


def test_calls_of_queues_the_acd_does_not_serve_are_ignored(stats: QueueStatistics) -> None:
    assert stats.feed(CallQueued(at(0), "c1", "support-fallback", 1)) == ()
    assert stats.feed(CallAnswered(at(1), "c1", "PJSIP/1001", "support-fallback", 1)) == ()
    assert stats.snapshot("support", at(2)).waiting == 0


def test_a_resync_forgets_calls_the_switch_no_longer_has(stats: QueueStatistics) -> None:
    stats.feed(CallQueued(at(0), "c1", "support", 1))
    stats.feed(CallQueued(at(1), "c2", "support", 2))
    assert stats.forget_calls(SwitchResynced(at(2), calls=("c2",))) == ("support",)
    assert stats.snapshot("support", at(5)).waiting == 1


def test_a_resync_of_one_server_forgets_only_its_own_calls(stats: QueueStatistics) -> None:
    stats.feed(CallQueued(at(0), "bj-1795415672.1", "support", 1))
    stats.feed(CallQueued(at(1), "sh-1795415672.1", "support", 2))
    stats.feed(CallQueued(at(2), "sh-1795415673.2", "support", 3))
    assert stats.forget_calls(SwitchResynced(at(3), calls=("sh-1795415673.2",), server="sh")) == ("support",)
    assert stats.snapshot("support", at(5)).waiting == 2  # bj's call waits on: bj was not resynced


def test_a_restart_counts_the_windows_finished_calls_again_from_the_stored_legs() -> None:
    """The same calls, fed live to one instance and read back from their queue legs by another
    (as at a restart), give the same wallboard figures; legs older than the window are left out."""
    queues = {"support": QueueConfig("support", service_level_s=20), "vip": QueueConfig("vip")}
    live = QueueStatistics(queues, window_s=600)
    # answered after 5 s, 30 s of talk; abandoned after 40 s; overflowed from vip to support after
    # 25 s and answered 10 s later there (counted in vip, the first queue it joined).
    live.feed(CallQueued(at(0), "c1", "support", 1))
    live.feed(CallAnswered(at(5), "c1", "PJSIP/1001", "support", 5))
    live.feed(CallEnded(at(35), "c1", EndCause.NORMAL, 30, agent="PJSIP/1001"))
    live.feed(CallQueued(at(10), "c2", "support", 2))
    live.feed(CallAbandoned(at(50), "c2", "support", 2, 40))
    live.feed(CallQueued(at(20), "c3", "vip", 1))
    live.feed(CallAnswered(at(55), "c3", "PJSIP/1002", "support", 35))
    live.feed(CallEnded(at(95), "c3", EndCause.NORMAL, 40, agent="PJSIP/1002"))
    legs = [
        RecentLeg("old", "support", at(-900), "abandoned", 3, 0, 0),  # before the window
        RecentLeg("c1", "support", at(0), "answered", 5, 30, 0),
        RecentLeg("c2", "support", at(10), "abandoned", 40, 0, 0),
        RecentLeg("c3", "vip", at(20), "overflowed", 25, 0, 0),
        RecentLeg("c3", "support", at(45), "answered", 10, 40, 0),
    ]
    restarted = QueueStatistics(queues, window_s=600)
    assert restarted.restore(legs, at(120)) == ("support", "vip")
    for queue in queues:
        before, after = live.snapshot(queue, at(120)), restarted.snapshot(queue, at(120))
        assert (after.answered, after.abandoned, after.answered_within_sl) == (
            before.answered,
            before.abandoned,
            before.answered_within_sl,
        )
        assert (after.asa_s, after.aht_s) == (before.asa_s, before.aht_s)
    assert restarted.snapshot("support", at(120)).abandoned == 1
    # and they leave the window as live ones do
    assert restarted.snapshot("vip", at(20 + 35 + 601)).answered == 0
