"""An admin disabling an agent (or taking the agent role away) logs them out of the ACD at once —
or right after the call in progress — ends their sessions, closes their sockets, and audits it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from acd.models import AgentState
from crm import audit as audit_log
from cti.events import CallAnswered
from tests.agent_api.stack import Stack, login, next_frame


async def until(predicate: Callable[[], bool], within_s: float = 5.0) -> None:
    async with asyncio.timeout(within_s):
        while not predicate():  # noqa: ASYNC110  (state of other tasks, no event to wait on)
            await asyncio.sleep(0.01)


@pytest.fixture
async def admin(stack: Stack) -> AsyncIterator[tuple[TestClient, dict[str, str]]]:
    client = TestClient(stack.server)  # a second browser, sharing the server
    await client.start_server()
    csrf = await login(client, "admin")
    try:
        yield client, {"X-CSRF-Token": csrf}
    finally:
        await client.session.close()  # TestClient.close would stop the shared server


def state(stack: Stack) -> AgentState:
    return stack.acd.states.get("agent1001").state


async def test_disabling_an_available_agent_logs_them_out_of_the_acd_and_closes_their_page(
    stack: Stack, admin: tuple[TestClient, dict[str, str]]
):
    client, headers = admin
    csrf = await login(stack.client, "agent1001")
    await stack.client.post("/api/agent/login", json={}, headers={"X-CSRF-Token": csrf})
    assert state(stack) is AgentState.AVAILABLE
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")

    off = await client.patch("/api/admin/users/agent1001", json={"enabled": False}, headers=headers)
    assert off.status == 200, await off.text()
    assert state(stack) is AgentState.LOGGED_OUT
    async with asyncio.timeout(5):
        message = await ws.receive()
        while message.type is not WSMsgType.CLOSE:
            message = await ws.receive()
    assert message.data == 1008  # the page goes to the login form instead of reconnecting
    assert (await stack.client.get("/api/agent/status")).status == 401
    entries = await audit_log.entries(stack.db, limit=20)
    [forced] = [e for e in entries if e.action == "force-logout"]
    assert (forced.actor, forced.target) == ("admin", "agent1001")
    assert forced.detail == {"reason": "disabled", "when": "logged-out"}


async def test_an_agent_on_a_call_keeps_the_caller_and_is_logged_out_when_the_call_ends(
    stack: Stack, admin: tuple[TestClient, dict[str, str]]
):
    client, headers = admin
    csrf = await login(stack.client, "agent1001")
    await stack.client.post("/api/agent/login", json={}, headers={"X-CSRF-Token": csrf})
    stack.ring("c1")
    stack.bus.publish(CallAnswered(datetime.now(UTC), "c1", "PJSIP/1001", "support", 3.0, "PJSIP/1001-c1"))
    await until(lambda: state(stack) is AgentState.ON_CALL)

    off = await client.patch("/api/admin/users/agent1001", json={"roles": ["supervisor"]}, headers=headers)
    assert off.status == 200, await off.text()
    assert state(stack) is AgentState.ON_CALL
    assert not [r for r in stack.switch.requests if r[0] == "hangup"]
    stack.hang_up("c1")
    await until(lambda: state(stack) is AgentState.LOGGED_OUT)
    entries = await audit_log.entries(stack.db, limit=20)
    [forced] = [e for e in entries if e.action == "force-logout"]
    assert forced.detail == {"reason": "agent-role-removed", "when": "after-call"}


async def test_changing_an_agents_skills_does_not_log_them_out(
    stack: Stack, admin: tuple[TestClient, dict[str, str]]
):
    client, headers = admin
    csrf = await login(stack.client, "agent1001")
    await stack.client.post("/api/agent/login", json={}, headers={"X-CSRF-Token": csrf})
    changed = await client.patch(
        "/api/admin/users/agent1001", json={"skills": {"support": 4}}, headers=headers
    )
    assert changed.status == 200
    assert state(stack) is AgentState.AVAILABLE


async def test_a_supervisor_forcing_out_an_agent_on_a_call_logs_them_out_after_the_call(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    await stack.client.post("/api/agent/login", json={}, headers={"X-CSRF-Token": csrf})
    stack.ring("c2")
    stack.bus.publish(CallAnswered(datetime.now(UTC), "c2", "PJSIP/1001", "support", 3.0, "PJSIP/1001-c2"))
    await until(lambda: state(stack) is AgentState.ON_CALL)
    boss = TestClient(stack.server)
    await boss.start_server()
    try:
        headers = {"X-CSRF-Token": await login(boss, "supervisor")}
        forced = await boss.post("/api/supervisor/agents/agent1001/logout", headers=headers)
        assert forced.status == 204
        assert state(stack) is AgentState.ON_CALL
        stack.hang_up("c2")
        await until(lambda: state(stack) is AgentState.LOGGED_OUT)
        again = await boss.post("/api/supervisor/agents/agent1001/logout", headers=headers)
        assert again.status == 409
        [entry] = await audit_log.entries(stack.db, action="force-logout")
        assert (entry.actor, entry.detail) == ("supervisor", {"when": "after-call"})
    finally:
        await boss.session.close()  # TestClient.close would stop the shared server
