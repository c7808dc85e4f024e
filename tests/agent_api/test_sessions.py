"""Sessions over HTTP: capped per user, never crowding out other users, and every end of a
session — a newer login beyond the cap, expiry, log out — closes its sockets and its row."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from agent_api.context import SERVICES
from agent_api.sessions import SessionPolicy, SessionStore
from crm import accounts, web_sessions
from tests.agent_api.stack import Stack, login, next_frame


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def closed_with(ws) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(5):
        message = await ws.receive()
        while message.type is not WSMsgType.CLOSE:
            message = await ws.receive()
    return message.data, message.extra


def session_cookie(stack: Stack) -> str:
    return stack.client.session.cookie_jar.filter_cookies(stack.server.make_url("/"))["hotline_session"].value


async def browser(stack: Stack) -> TestClient:
    """Another browser: its own cookie jar, the same server."""
    client = TestClient(stack.server)
    await client.start_server()
    return client


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def timed(tmp_path, clock) -> AsyncIterator[Stack]:
    stack = Stack(tmp_path)
    stack.session_policy = SessionPolicy(idle_s=600, max_age_s=3600, per_user=2, touch_s=60)
    stack.session_clock = clock
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


async def test_a_login_beyond_the_cap_ends_the_users_oldest_session_and_closes_its_sockets(
    timed: Stack, clock: Clock
):
    first, second, third = [await browser(timed) for _ in range(3)]
    try:
        await login(first, "agent1001")
        ws = await first.ws_connect("/api/ws")
        await next_frame(ws, "hello")
        clock.now += 1
        await login(second, "agent1001")
        assert (await first.get("/api/session")).status == 200  # two sessions are allowed
        clock.now += 1
        await login(third, "agent1001")
        assert await closed_with(ws) == (1008, "session-replaced")
        assert (await first.get("/api/session")).status == 401
        assert (await second.get("/api/session")).status == 200
        assert (await third.get("/api/session")).status == 200
        assert len(await web_sessions.sessions_of(timed.db, "agent1001")) == 2
    finally:
        for client in (first, second, third):
            await client.session.close()


async def test_one_account_logging_in_over_and_over_logs_nobody_else_out(tmp_path):
    stack = Stack(tmp_path)
    stack.max_cached_sessions = 5  # memory holds few; the database holds them all
    await stack.start()
    other = await browser(stack)
    try:
        await login(other, "supervisor")
        for _ in range(40):
            await login(stack.client, "agent1001")
        assert (await other.get("/api/session")).status == 200
        assert len(await web_sessions.sessions_of(stack.db, "agent1001")) == 3
    finally:
        await other.session.close()
        await stack.stop()


async def test_an_idle_session_expires_and_its_sockets_close_without_another_request(
    timed: Stack, clock: Clock
):
    await login(timed.client, "supervisor")
    ws = await timed.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    clock.now += 601
    assert await timed.app[SERVICES].sessions.sweep() == 1
    assert await closed_with(ws) == (1008, "session-expired")
    assert await web_sessions.sessions_of(timed.db, "supervisor") == []
    assert (await timed.client.get("/api/session")).status == 401


async def test_a_session_in_use_lives_until_its_maximum_age(timed: Stack, clock: Clock):
    await login(timed.client, "supervisor")
    for _ in range(5):
        clock.now += 590
        assert (await timed.client.get("/api/session")).status == 200
        assert await timed.app[SERVICES].sessions.sweep() == 0
    clock.now += 800  # past an hour in all
    assert (await timed.client.get("/api/session")).status == 401
    assert await web_sessions.sessions_of(timed.db, "supervisor") == []


async def test_logging_out_removes_the_session_from_the_database(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    assert len(await web_sessions.sessions_of(stack.db, "agent1001")) == 1
    assert (await stack.client.delete("/api/session", headers={"X-CSRF-Token": csrf})).status == 204
    assert await web_sessions.sessions_of(stack.db, "agent1001") == []


async def test_a_forged_or_altered_cookie_is_refused(stack: Stack):
    await login(stack.client, "agent1001")
    cookie = session_cookie(stack)
    session_id, _, mac = cookie.rpartition(".")
    for forged in (session_id, f"{session_id}.{mac[:-1]}x", f"x{session_id}.{mac}", "a.b"):
        stack.client.session.cookie_jar.clear()
        response = await stack.client.get("/api/session", cookies={"hotline_session": forged})
        assert response.status == 401, forged


async def test_the_database_holds_no_cookie_a_copy_of_it_could_replay(stack: Stack):
    await login(stack.client, "agent1001")
    cookie = session_cookie(stack)
    [stored] = await web_sessions.sessions_of(stack.db, "agent1001")
    assert cookie.split(".")[0] not in repr(stored)


async def test_sessions_survive_a_new_store_on_the_same_database_and_key(stack: Stack):
    """What a restart does: the same database and signing key, nothing in memory."""
    await login(stack.client, "agent1001")
    cookie = session_cookie(stack)
    store = stack.app[SERVICES].sessions
    fresh = SessionStore(stack.db, signing_key=stack.session_key, demo=True)
    again = await fresh.get(cookie)
    assert again is not None and again.username == "agent1001"
    assert again.csrf_token == (await store.get(cookie)).csrf_token
    other_key = SessionStore(stack.db, signing_key=b"k" * 32, demo=True)
    assert await other_key.get(cookie) is None


async def test_sessions_and_csrf_tokens_are_unguessable_and_distinct(stack: Stack):
    account = await accounts.get_account(stack.db, "supervisor")
    store = stack.app[SERVICES].sessions
    a, b = await store.create(account), await store.create(account)
    assert len({a.session_id, b.session_id, a.csrf_token, b.csrf_token, a.cookie, b.cookie}) == 6
    assert len(a.cookie.split(".")[0]) >= 40
    assert await store.end_user("supervisor") == 2
    assert await store.get(a.cookie) is None and await store.get(b.cookie) is None
