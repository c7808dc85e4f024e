"""An open wrap-up keeps the agent out of the next call: its countdown, one extension, a pause after."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent_api.context import SERVICES
from crm import audit as audit_log
from cti.events import CallAnswered, CallEnded, EndCause
from tests.agent_api.stack import Stack, login, next_frame


class Later:
    """The ACD's clock: the real time, moved on by ``ahead``."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@pytest.fixture
async def stack(tmp_path: Path):
    clock = Later()
    stack = await Stack(tmp_path, acd_clock=clock).start()
    stack.later = clock  # type: ignore[attr-defined]
    yield stack
    await stack.stop()


async def in_wrap_up(stack: Stack, call_id: str = "c1", *, pause_after: str = "") -> dict[str, str]:
    headers = {"X-CSRF-Token": await login(stack.client, "agent1001")}
    assert (await stack.client.post("/api/agent/login", json={}, headers=headers)).status == 200
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring(call_id)
    await next_frame(ws, "pop")
    stack.bus.publish(CallAnswered(datetime.now(UTC), call_id, "PJSIP/1001", "support", 2.0, "PJSIP/1001-01"))
    await next_frame(ws, "call")
    if pause_after:
        body = {"reason": pause_after}
        asked = await stack.client.post("/api/agent/pause-after", json=body, headers=headers)
        assert asked.status == 200, await asked.text()
        assert (await asked.json())["pause_after"] == pause_after
    stack.bus.publish(CallEnded(datetime.now(UTC), call_id, EndCause.NORMAL, 30.0, agent="PJSIP/1001"))
    await next_frame(ws, "ended")
    await ws.close()
    return headers


async def status(stack: Stack) -> dict:
    return await (await stack.client.get("/api/agent/status")).json()


async def test_the_status_counts_the_wrap_up_down(stack: Stack):
    await in_wrap_up(stack)
    now = await status(stack)
    assert now["state"] == "wrap-up"
    assert 13 <= now["wrapup_left_s"] <= 15  # the site's 15 s
    assert now["wrapup_extended"] is False


async def test_the_agent_stays_in_wrap_up_past_its_time_while_the_form_is_open(stack: Stack):
    headers = await in_wrap_up(stack)
    stack.later.ahead = timedelta(seconds=60)  # type: ignore[attr-defined]
    await stack.acd.run_due()
    now = await status(stack)
    assert now["state"] == "wrap-up"
    refused = await stack.client.post("/api/agent/ready", headers=headers)
    assert refused.status == 409
    saved = await stack.client.post(
        "/api/agent/calls/c1/wrapup", json={"disposition": "resolved", "ready": True}, headers=headers
    )
    assert saved.status == 200, await saved.text()
    assert (await status(stack))["state"] == "available"


async def test_an_agent_who_never_opened_the_desk_page_is_not_held_by_a_form(stack: Stack):
    """A phone-only agent (or the demo's robots): no page, no form, the queue's wrap-up time only."""
    headers = {"X-CSRF-Token": await login(stack.client, "agent1001")}
    assert (await stack.client.post("/api/agent/login", json={}, headers=headers)).status == 200
    stack.ring("c1")
    stack.bus.publish(CallAnswered(datetime.now(UTC), "c1", "PJSIP/1001", "support", 2.0, "PJSIP/1001-01"))
    stack.bus.publish(CallEnded(datetime.now(UTC), "c1", EndCause.NORMAL, 30.0, agent="PJSIP/1001"))
    async with asyncio.timeout(5):
        while (await status(stack))["state"] != "wrap-up":  # noqa: ASYNC110
            await asyncio.sleep(0.02)  # the bus's consumers take the call's end in their turn
    stack.later.ahead = timedelta(seconds=60)  # type: ignore[attr-defined]
    await stack.acd.run_due()
    assert (await status(stack))["state"] == "available"
    assert stack.app[SERVICES].desktop.pending("agent1001") == []


async def test_a_discarded_form_lets_a_wrap_up_past_its_time_end(stack: Stack):
    headers = await in_wrap_up(stack)
    stack.later.ahead = timedelta(seconds=60)  # type: ignore[attr-defined]
    await stack.acd.run_due()
    assert (await stack.client.delete("/api/agent/calls/c1/wrapup", headers=headers)).status == 204
    assert (await status(stack))["state"] == "available"


async def test_a_wrap_up_is_extended_once(stack: Stack):
    headers = await in_wrap_up(stack)
    first = await stack.client.post("/api/agent/wrapup/extend", headers=headers)
    assert first.status == 200
    extended = await first.json()
    assert extended["wrapup_extended"] is True and extended["wrapup_left_s"] > 70
    again = await stack.client.post("/api/agent/wrapup/extend", headers=headers)
    assert again.status == 409
    assert "once" in (await again.json())["message"]
    [entry] = await audit_log.entries(stack.db, action="wrapup-extend")
    assert entry.actor == "agent1001"


async def test_extending_outside_a_wrap_up_is_refused(stack: Stack):
    headers = {"X-CSRF-Token": await login(stack.client, "agent1001")}
    await stack.client.post("/api/agent/login", json={}, headers=headers)
    assert (await stack.client.post("/api/agent/wrapup/extend", headers=headers)).status == 409


async def test_pause_after_the_call_pauses_once_the_wrap_up_is_saved(stack: Stack):
    headers = await in_wrap_up(stack, pause_after="lunch")
    saved = await stack.client.post(
        "/api/agent/calls/c1/wrapup", json={"disposition": "resolved", "ready": True}, headers=headers
    )
    assert saved.status == 200
    now = await status(stack)
    assert (now["state"], now["reason"], now["pause_after"]) == ("paused", "lunch", "")


@pytest.mark.parametrize(
    ("body", "code"),
    [({"reason": "missed"}, 400), ({"reason": "x" * 41}, 422), ({"reason": "break"}, 409), ({}, 422)],
)
async def test_pause_after_refuses_acd_reasons_bad_bodies_and_an_idle_agent(stack: Stack, body, code):
    headers = {"X-CSRF-Token": await login(stack.client, "agent1001")}
    await stack.client.post("/api/agent/login", json={}, headers=headers)
    answer = await stack.client.post("/api/agent/pause-after", json=body, headers=headers)
    assert answer.status == code


async def test_a_chinese_page_reads_the_error_in_chinese_and_a_script_in_english(stack: Stack):
    headers = {"X-CSRF-Token": await login(stack.client, "agent1001")}
    await stack.client.post("/api/agent/login", json={}, headers=headers)
    page = await stack.client.post("/api/agent/wrapup/extend", headers={**headers, "X-Hotline-Lang": "zh-CN"})
    assert (page.status, (await page.json())["message"]) == (409, "您当前不在话后处理")
    script = await stack.client.post("/api/agent/wrapup/extend", headers=headers)
    assert (await script.json())["message"] == "you are not in wrap-up"


async def test_keypad_digits_go_to_the_other_party_of_an_answered_call_only(stack: Stack):
    headers = {"X-CSRF-Token": await login(stack.client, "agent1001")}
    await stack.client.post("/api/agent/login", json={}, headers=headers)
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring("d1")
    await next_frame(ws, "pop")
    ringing = await stack.client.post("/api/agent/calls/d1/dtmf", json={"digits": "1"}, headers=headers)
    assert ringing.status == 409
    stack.bus.publish(CallAnswered(datetime.now(UTC), "d1", "PJSIP/1001", "support", 2.0, "PJSIP/1001-01"))
    await next_frame(ws, "call")
    await ws.close()
    sent = await stack.client.post("/api/agent/calls/d1/dtmf", json={"digits": "12#"}, headers=headers)
    assert sent.status == 204
    assert [r[1] for r in stack.switch.requests if r[0] == "dtmf"] == [
        ("PJSIP/trunk-d1", "1"),
        ("PJSIP/trunk-d1", "2"),
        ("PJSIP/trunk-d1", "#"),
    ]
    # The same key again in a later press is sent again: the switch sends a request id once only.
    again = await stack.client.post("/api/agent/calls/d1/dtmf", json={"digits": "1"}, headers=headers)
    assert again.status == 204
    presses = [r for r in stack.switch.requests if r[0] == "dtmf"]
    assert [r[1][1] for r in presses] == ["1", "2", "#", "1"]
    ids = [r[2].get("request_id") for r in presses if r[2].get("request_id") is not None]
    assert len(ids) == len(set(ids))
    bad = await stack.client.post("/api/agent/calls/d1/dtmf", json={"digits": "9x"}, headers=headers)
    assert bad.status == 422
    other = await stack.client.post("/api/agent/calls/zz/dtmf", json={"digits": "1"}, headers=headers)
    assert other.status == 404
