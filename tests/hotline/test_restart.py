"""A 7×24 center restarts ``hotline serve`` without losing the supervisors' thresholds, the callbacks
promised to callers or the wrap-ups agents have not saved (docs/restart.md)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from acd.callbacks import CallbackRequest
from acd.gate import MarketingPolicy
from agent_api.security import Passwords
from crm import accounts
from crm.db import Database
from crm.kinds import Role
from crm.migrate import upgrade
from cti.events import CallEnded, CallOffered, CallRinging, EndCause
from cti.simulator import AgentScript, CallerScript, SwitchSimulator
from hotline.app import Hotline
from tests.hotline.test_app import WAIT_S, tmp_settings

PASSWORD = "a-long-password"


async def with_accounts(url: str) -> None:
    """A supervisor and an agent, as an administrator would have made them."""
    db = Database(url)
    await upgrade(db)
    password_hash = await Passwords().hash(PASSWORD)
    for username, roles, extension, skills in (
        ("lead", frozenset({Role.SUPERVISOR}), "", {}),
        ("wang", frozenset({Role.AGENT}), "1001", {"support": 5}),
    ):
        await accounts.create_account(
            db, accounts.NewAccount(username, password_hash, roles, extension=extension, skills=skills)
        )
    await db.dispose()


async def session(hotline: Hotline, username: str) -> tuple[aiohttp.ClientSession, dict[str, str]]:
    http = aiohttp.ClientSession(base_url=hotline.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.post("/api/session", json={"username": username, "password": PASSWORD}) as response:
        assert response.status == 200, await response.text()
        csrf = (await response.json())["csrf_token"]
    return http, {"X-CSRF-Token": csrf}


async def next_frame(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict:
    async with asyncio.timeout(WAIT_S):
        while True:
            frame = await ws.receive_json()
            if frame["type"] == kind:
                return frame


async def test_thresholds_callbacks_and_unsaved_wrap_ups_are_there_after_a_restart(tmp_path: Path) -> None:
    settings = tmp_settings(tmp_path)
    await with_accounts(settings.db.url)
    now = datetime.now(UTC)

    first = Hotline(settings)
    try:
        await first.start()
        lead, headers = await session(first, "lead")
        async with lead:
            threshold = {"queues": ["support"], "max_agents": 2, "stop_waiting": 5, "resume_waiting": 2}
            async with lead.put("/api/supervisor/marketing/default", json=threshold, headers=headers) as put:
                assert put.status == 200, await put.text()
        await first.acd.request_callback(
            CallbackRequest("cb-1", "13800138000", "support", now, call_id="in-1")
        )
        agent, _ = await session(first, "wang")
        async with agent, agent.ws_connect("/api/ws") as ws:
            await next_frame(ws, "hello")
            first.bus.publish(CallOffered(now, "c-1", "13900139000", "", "4008001234", "PJSIP/trunk-1"))
            first.bus.publish(CallRinging(now, "c-1", "PJSIP/1001", "support", "PJSIP/1001-00000001"))
            await next_frame(ws, "pop")
            first.bus.publish(CallEnded(now, "c-1", EndCause.NORMAL, 42.0))
            assert (await next_frame(ws, "ended"))["wrapup"] is True
    finally:
        await first.stop()

    second = Hotline(settings)
    try:
        await second.start()
        assert second.acd.gate.policy("default") == MarketingPolicy(
            "default", ("support",), max_agents=2, stop_waiting=5, resume_waiting=2
        )
        [waiting] = second.acd.callbacks.queue.pending()
        assert (waiting.callback_id, waiting.number, waiting.requested_at) == ("cb-1", "13800138000", now)
        agent, headers = await session(second, "wang")
        async with agent:
            async with agent.get("/api/agent/status") as status:
                assert (await status.json())["pending_wrapups"] == ["c-1"]
            body = {"disposition": "resolved", "notes": "after the restart"}
            async with agent.post("/api/agent/calls/c-1/wrapup", json=body, headers=headers) as saved:
                assert saved.status == 200, await saved.text()
    finally:
        await second.stop()


async def test_a_call_answered_before_a_restart_is_on_the_agents_page_after_it(tmp_path: Path) -> None:
    """The first resync finds the call in progress; the desktop's feed hears it (it is subscribed
    before the link connects), so the agent can still hold, transfer and hang up from the page."""
    phone = AgentScript("1001", name="Wang", answer_after_s=0.3, hangup_after_s=None)
    sim = SwitchSimulator(agents=[phone], agi_url="agi://127.0.0.1:1/ivr")
    ami_port = await sim.start("127.0.0.1", 0)
    settings = tmp_settings(tmp_path)
    settings.ami.host, settings.ami.port = "127.0.0.1", ami_port
    settings.ami.username, settings.ami.secret = sim.username, sim.secret
    await with_accounts(settings.db.url)
    first = Hotline(settings)
    second = Hotline(settings)
    try:
        await first.start()
        sim.agi_url = f"agi://127.0.0.1:{first.ivr.port}/ivr"
        http, csrf = await session(first, "wang")
        async with http, http.post("/api/agent/login", json={}, headers=csrf) as response:
            assert response.status == 200, await response.text()
        call = sim.place_call(CallerScript(caller="13800000042", hangup_after_s=None))
        async with asyncio.timeout(WAIT_S):
            while call.answered is None:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        await first.stop()

        await second.start()
        http, _ = await session(second, "wang")
        async with http:
            async with asyncio.timeout(WAIT_S):
                while True:  # the first resync may still be under way: the page asks again
                    async with http.ws_connect("/api/ws") as ws:
                        hello = await next_frame(ws, "hello")
                    if hello["pops"]:
                        break
                    await asyncio.sleep(0.1)
        [pop] = hello["pops"]
        assert pop["caller"] == "13800000042" and pop["answered"]
    finally:
        await first.stop()
        await second.stop()
        await sim.stop()
