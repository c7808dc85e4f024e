"""An agent's unsaved wrap-up is kept on the server until saved or discarded, across restarts."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from acd.gate import MarketingPolicy
from crm import audit as audit_log
from crm.models import Contact, OfferPresentation
from crm.restart_state import RestartState
from tests.agent_api.stack import CUSTOMER_NAME, Stack, login, next_frame


async def call_left_to_wrap_up(stack: Stack, call_id: str) -> dict[str, str]:
    """The agent is on duty, takes a call with an offer, the caller hangs up; returns headers."""
    headers = {"X-CSRF-Token": await login(stack.client, "agent1001")}
    await stack.client.post("/api/agent/login", json={}, headers=headers)
    stack.acd.gate.set_policy(MarketingPolicy("default", ("support",), max_agents=5))
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring(call_id)
    await next_frame(ws, "pop")
    stack.hang_up(call_id)
    await next_frame(ws, "ended")
    await ws.close()
    return headers


async def test_a_wrap_up_left_open_is_there_after_a_restart_and_is_saved_once(tmp_path: Path):
    first = await Stack(tmp_path).start()
    try:
        await call_left_to_wrap_up(first, "c1")
        campaign_id = first.campaign_id
    finally:
        await first.stop()

    second = await Stack(tmp_path, seed=False).start()
    try:
        headers = {"X-CSRF-Token": await login(second.client, "agent1001")}
        status = await (await second.client.get("/api/agent/status")).json()
        assert status["pending_wrapups"] == ["c1"]
        ws = await second.client.ws_connect("/api/ws")
        hello = await next_frame(ws, "hello")
        await ws.close()
        [shown] = hello["wrapups"]
        assert (shown["call_id"], shown["customer"]["name"]) == ("c1", CUSTOMER_NAME)
        body = {"disposition": "resolved", "offer": {"campaign_id": campaign_id, "outcome": "accepted"}}
        saved = await second.client.post("/api/agent/calls/c1/wrapup", json=body, headers=headers)
        assert saved.status == 200, await saved.text()
        async with second.db.read() as session:
            contacts = (await session.scalars(select(Contact).where(Contact.call_id == "c1"))).all()
            offers = (await session.scalars(select(OfferPresentation))).all()
        assert [c.agent for c in contacts] == ["agent1001"]
        assert [(p.campaign_id, p.outcome) for p in offers] == [(campaign_id, "accepted")]
        assert await RestartState(second.db).pending_wrapups() == []
    finally:
        await second.stop()


async def test_a_discarded_wrap_up_records_nothing_and_does_not_come_back(tmp_path: Path):
    first = await Stack(tmp_path).start()
    try:
        headers = await call_left_to_wrap_up(first, "c2")
        discarded = await first.client.delete("/api/agent/calls/c2/wrapup", headers=headers)
        assert discarded.status == 204
        again = await first.client.delete("/api/agent/calls/c2/wrapup", headers=headers)
        assert again.status == 404
        [entry] = await audit_log.entries(first.db, action="wrapup-discard")
        assert (entry.actor, entry.target) == ("agent1001", "c2")
    finally:
        await first.stop()

    second = await Stack(tmp_path, seed=False).start()
    try:
        await login(second.client, "agent1001")
        status = await (await second.client.get("/api/agent/status")).json()
        assert status["pending_wrapups"] == []
        async with second.db.read() as session:
            assert (await session.scalars(select(Contact).where(Contact.call_id == "c2"))).all() == []
    finally:
        await second.stop()
