"""Login throttling over HTTP: guessing is slowed, and nobody else can lock a named account out.

The clients are told apart by X-Forwarded-For from a trusted proxy (the test client's 127.0.0.1),
as a site behind its TLS proxy sees them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agent_api.throttle import LoginThrottle
from tests.agent_api.stack import Stack


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def proxied(tmp_path, clock) -> AsyncIterator[Stack]:
    stack = await Stack(tmp_path, trusted_proxies=("127.0.0.1",), throttle=LoginThrottle(clock=clock)).start()
    try:
        yield stack
    finally:
        await stack.stop()


async def attempt(stack: Stack, address: str, password: str, username: str = "admin") -> int:
    response = await stack.client.post(
        "/api/session",
        json={"username": username, "password": password},
        headers={"X-Forwarded-For": address},
    )
    return response.status


async def test_failures_from_other_addresses_do_not_lock_the_owner_out(proxied: Stack):
    for n in range(5):
        assert await attempt(proxied, f"198.51.100.{n + 1}", "wrong") == 401
    assert await attempt(proxied, "203.0.113.10", "demo") == 200


async def test_a_slow_steady_guesser_never_locks_the_account(proxied: Stack, clock: Clock):
    for _ in range(60):  # a wrong password a minute for an hour
        assert await attempt(proxied, "198.51.100.1", "wrong") in (401, 429)
        clock.now += 60
    clock.now -= 59  # a second after the last one
    assert await attempt(proxied, "203.0.113.10", "demo") == 200


async def test_guessing_from_one_address_is_slowed_ever_more_and_the_owner_still_gets_in(
    proxied: Stack, clock: Clock
):
    statuses = [await attempt(proxied, "198.51.100.1", "wrong") for _ in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    waits = []
    for _ in range(4):
        response = await proxied.client.post(
            "/api/session",
            json={"username": "admin", "password": "demo"},  # the right password does not pass either
            headers={"X-Forwarded-For": "198.51.100.1"},
        )
        assert response.status == 429
        waits.append(int(response.headers["Retry-After"]))
        clock.now += waits[-1]
        assert await attempt(proxied, "198.51.100.1", "wrong") == 401
    assert waits == sorted(waits) and waits[-1] >= 4 * waits[0]
    assert await attempt(proxied, "203.0.113.10", "demo") == 200  # the owner, elsewhere


async def test_one_address_trying_many_accounts_is_slowed_too(proxied: Stack):
    statuses = [await attempt(proxied, "198.51.100.1", "wrong", username=f"user{n}") for n in range(40)]
    assert 429 in statuses
    assert await attempt(proxied, "198.51.100.2", "demo") == 200


async def test_the_delay_decays_after_a_quiet_while(proxied: Stack, clock: Clock):
    for _ in range(8):
        await attempt(proxied, "198.51.100.1", "wrong")
    assert await attempt(proxied, "198.51.100.1", "demo") == 429
    clock.now += 3600
    assert await attempt(proxied, "198.51.100.1", "demo") == 200
