"""The login throttle's core, driven by an injected clock."""

from __future__ import annotations

import itertools

from agent_api.throttle import LoginThrottle, ThrottleRule, address_key

RULE = ThrottleRule(free_failures=3, first_delay_s=10.0, max_delay_s=100.0, forgive_s=60.0)
LOOSE = ThrottleRule(free_failures=1000, first_delay_s=1.0, max_delay_s=1.0, forgive_s=1.0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_free_failures_cost_nothing_then_each_failure_doubles_the_delay_up_to_the_cap():
    clock = Clock()
    rule = ThrottleRule(free_failures=3, first_delay_s=10.0, max_delay_s=100.0, forgive_s=86_400.0)
    throttle = LoginThrottle(per_account_address=rule, per_address=LOOSE, clock=clock)
    for _ in range(2):
        throttle.failed("admin", "192.0.2.1")
        assert throttle.retry_after("admin", "192.0.2.1") == 0
    waits = []
    for _ in range(6):
        throttle.failed("admin", "192.0.2.1")
        waits.append(throttle.retry_after("admin", "192.0.2.1"))
        clock.now += waits[-1]
    assert waits[0] == 10
    assert all(1.9 * a <= b <= 2 * a for a, b in itertools.pairwise(waits[:4]))
    assert waits[4:] == [100, 100]


def test_failures_are_forgiven_as_time_passes():
    clock = Clock()
    throttle = LoginThrottle(per_account_address=RULE, per_address=LOOSE, clock=clock)
    for _ in range(5):
        throttle.failed("admin", "192.0.2.1")
    clock.now += 5 * 60  # all five forgiven
    throttle.failed("admin", "192.0.2.1")
    assert throttle.retry_after("admin", "192.0.2.1") == 0


def test_an_account_is_only_ever_blocked_for_the_address_that_failed():
    throttle = LoginThrottle(per_account_address=RULE, per_address=LOOSE, clock=Clock())
    for _ in range(10):
        throttle.failed("admin", "192.0.2.1")
    assert throttle.retry_after("admin", "192.0.2.1") > 0
    assert throttle.retry_after("admin", "192.0.2.2") == 0
    assert throttle.retry_after("ADMIN", "192.0.2.1") > 0  # user names are not case-sensitive here


def test_an_address_failing_at_many_accounts_is_blocked_for_all_of_them():
    throttle = LoginThrottle(per_account_address=LOOSE, per_address=RULE, clock=Clock())
    for n in range(4):
        throttle.failed(f"user{n}", "192.0.2.1")
    assert throttle.retry_after("someone-else", "192.0.2.1") > 0
    assert throttle.retry_after("someone-else", "192.0.2.2") == 0


def test_a_good_login_clears_only_its_own_account_and_address():
    throttle = LoginThrottle(per_account_address=RULE, per_address=RULE, clock=Clock())
    for _ in range(2):
        throttle.failed("admin", "192.0.2.1")
        throttle.failed("agent1001", "192.0.2.1")
    throttle.succeeded("agent1001", "192.0.2.1")
    throttle.failed("admin", "192.0.2.1")  # the address's own count still stands
    assert throttle.retry_after("admin", "192.0.2.1") > 0


def test_ipv6_clients_are_counted_by_their_64_block():
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("192.0.2.1") == "192.0.2.1"


def test_memory_is_bounded_by_forgetting_the_least_recently_failed():
    throttle = LoginThrottle(per_account_address=RULE, per_address=RULE, clock=Clock(), max_keys=10)
    for n in range(100):
        throttle.failed("admin", f"192.0.2.{n}")
    assert len(throttle._counts) == 10
