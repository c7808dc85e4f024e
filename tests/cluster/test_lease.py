"""The lease's pure core: acquire, renew, lose; the fencing epoch only grows."""

from __future__ import annotations

import pytest

from hotline.cluster.lease import Deposed, Elected, LeaseCore, LeaseError, Role


def test_a_grant_elects_and_the_lease_lasts_from_the_moment_it_was_asked_for() -> None:
    core = LeaseCore(ttl_s=5.0, margin_s=1.0)
    assert not core.may_act(0.0) and core.held_epoch() == 0
    assert core.granted(asked_at=10.0, epoch=3) == Elected(3)
    assert core.role is Role.LEADER and core.held_epoch() == 3
    assert core.may_act(13.9)
    assert not core.may_act(14.0)  # 10 + 5 - the margin of 1


def test_a_renewal_moves_the_deadline_and_keeps_the_epoch() -> None:
    core = LeaseCore(ttl_s=5.0, margin_s=1.0)
    core.granted(0.0, 1)
    assert core.granted(3.0, 1) is None
    assert core.may_act(6.9) and not core.may_act(7.0)
    assert core.check(6.0) is None


def test_without_a_renewal_the_leader_steps_down_at_its_deadline() -> None:
    core = LeaseCore(ttl_s=5.0, margin_s=1.0)
    core.granted(0.0, 1)
    assert core.check(3.9) is None
    assert core.check(4.0) == Deposed(1, "expired")
    assert core.role is Role.FOLLOWER and not core.may_act(4.0) and core.held_epoch() == 0
    assert core.check(10.0) is None  # once


def test_a_paused_leader_refuses_to_act_when_it_resumes_before_it_asks_anyone() -> None:
    core = LeaseCore(ttl_s=5.0, margin_s=1.0)
    core.granted(0.0, 1)
    # SIGSTOP at 1 s, SIGCONT at 60 s: the first thing it checks is its own deadline.
    assert not core.may_act(60.0)
    assert core.refused() == Deposed(1, "taken")


def test_another_holder_deposes_the_leader_and_a_follower_is_told_nothing() -> None:
    core = LeaseCore(ttl_s=5.0, margin_s=1.0)
    assert core.refused() is None
    core.granted(0.0, 1)
    assert core.refused() == Deposed(1, "taken")
    assert core.refused() is None


def test_epochs_only_grow() -> None:
    core = LeaseCore(ttl_s=5.0, margin_s=1.0)
    core.granted(0.0, 4)
    core.refused()
    with pytest.raises(LeaseError):
        core.granted(10.0, 4)
    with pytest.raises(LeaseError):
        core.granted(10.0, 2)
    assert core.granted(10.0, 5) == Elected(5)


def test_a_margin_as_long_as_the_lease_is_refused() -> None:
    with pytest.raises(ValueError):
        LeaseCore(ttl_s=1.0, margin_s=1.0)
