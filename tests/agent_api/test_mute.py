"""The agent mutes their own microphone from the desktop: the agent's leg, the page told, a hold lets go."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crm import audit as audit_log
from cti.errors import AmiActionFailed
from cti.events import CallAnswered, CallHeld
from tests.agent_api.stack import Stack, login, next_frame


@pytest.fixture
async def stack(tmp_path: Path):
    stack = await Stack(tmp_path).start()
    yield stack
    await stack.stop()


def mutes(stack: Stack) -> list[tuple]:
    return [r[1] for r in stack.switch.requests if r[0] == "mute"]


async def answered(stack: Stack, call_id: str):  # type: ignore[no-untyped-def]
    headers = {"X-CSRF-Token": await login(stack.client, "agent1001")}
    await stack.client.post("/api/agent/login", json={}, headers=headers)
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring(call_id)
    await next_frame(ws, "pop")
    return headers, ws


async def test_the_agents_own_leg_is_muted_and_unmuted_and_the_page_is_told(stack: Stack):
    headers, ws = await answered(stack, "m1")
    ringing = await stack.client.post("/api/agent/calls/m1/mute", json={"muted": True}, headers=headers)
    assert ringing.status == 409 and mutes(stack) == []
    stack.bus.publish(
        CallAnswered(datetime.now(UTC), "m1", "PJSIP/1001", "support", 2.0, "PJSIP/1001-0000m1")
    )
    assert (await next_frame(ws, "call"))["muted"] is False
    on = await stack.client.post("/api/agent/calls/m1/mute", json={"muted": True}, headers=headers)
    assert on.status == 204
    assert (await next_frame(ws, "call"))["muted"] is True
    status = await (await stack.client.get("/api/agent/status", headers=headers)).json()
    assert [c["muted"] for c in status["calls"]] == [True]
    off = await stack.client.post("/api/agent/calls/m1/mute", json={"muted": False}, headers=headers)
    assert off.status == 204
    assert (await next_frame(ws, "call"))["muted"] is False
    again = await stack.client.post("/api/agent/calls/m1/mute", json={"muted": True}, headers=headers)
    assert again.status == 204
    # the agent's leg, never the caller's; no request id, so a second mute is sent again
    assert mutes(stack) == [
        ("PJSIP/1001-0000m1", True),
        ("PJSIP/1001-0000m1", False),
        ("PJSIP/1001-0000m1", True),
    ]
    assert all("request_id" not in r[2] for r in stack.switch.requests if r[0] == "mute")
    actions = [e.action for e in await audit_log.entries(stack.db, actor="agent1001")]
    assert actions.count("call-mute") == 2 and actions.count("call-unmute") == 1
    await ws.close()


async def test_a_hold_lets_the_microphone_go_and_a_held_call_cannot_be_muted(stack: Stack):
    headers, ws = await answered(stack, "m2")
    stack.bus.publish(
        CallAnswered(datetime.now(UTC), "m2", "PJSIP/1001", "support", 2.0, "PJSIP/1001-0000m2")
    )
    await next_frame(ws, "call")
    await stack.client.post("/api/agent/calls/m2/mute", json={"muted": True}, headers=headers)
    assert (await next_frame(ws, "call"))["muted"] is True
    held = await stack.client.post("/api/agent/calls/m2/hold", json={"on": True}, headers=headers)
    assert held.status == 204
    assert mutes(stack)[-1] == ("PJSIP/1001-0000m2", False)
    assert [r[0] for r in stack.switch.requests if r[0] in ("mute", "hold")][-2:] == ["mute", "hold"]
    assert (await next_frame(ws, "call"))["muted"] is False
    stack.bus.publish(CallHeld(datetime.now(UTC), "m2", "PJSIP/1001-0000m2"))
    frame = await next_frame(ws, "call")
    assert (frame["held"], frame["muted"]) == (True, False)
    assert len(mutes(stack)) == 2  # on, then off before the hold: nothing more
    refused = await stack.client.post("/api/agent/calls/m2/mute", json={"muted": True}, headers=headers)
    assert refused.status == 409
    await ws.close()


async def test_a_hold_with_the_phones_own_key_leaves_the_mute_the_switch_still_has(stack: Stack):
    headers, ws = await answered(stack, "m4")
    stack.bus.publish(
        CallAnswered(datetime.now(UTC), "m4", "PJSIP/1001", "support", 2.0, "PJSIP/1001-0000m4")
    )
    await next_frame(ws, "call")
    await stack.client.post("/api/agent/calls/m4/mute", json={"muted": True}, headers=headers)
    await next_frame(ws, "call")
    stack.bus.publish(CallHeld(datetime.now(UTC), "m4", "PJSIP/1001-0000m4"))
    frame = await next_frame(ws, "call")
    assert (frame["held"], frame["muted"]) == (True, True)
    await ws.close()


async def test_bad_bodies_other_calls_and_a_refusing_switch_get_clear_answers(stack: Stack):
    headers, ws = await answered(stack, "m3")
    stack.bus.publish(
        CallAnswered(datetime.now(UTC), "m3", "PJSIP/1001", "support", 2.0, "PJSIP/1001-0000m3")
    )
    await next_frame(ws, "call")
    for body in ({}, {"muted": "yes"}, {"muted": True, "extra": 1}, [True]):
        bad = await stack.client.post("/api/agent/calls/m3/mute", json=body, headers=headers)
        assert bad.status in (400, 422), body
    other = await stack.client.post("/api/agent/calls/zz/mute", json={"muted": True}, headers=headers)
    assert other.status == 404

    async def refuse(channel: str, on: bool, **kwargs: object) -> None:
        raise AmiActionFailed("MuteAudio", "No such channel", "")

    stack.switch.mute = refuse  # type: ignore[method-assign]
    refused = await stack.client.post("/api/agent/calls/m3/mute", json={"muted": True}, headers=headers)
    assert refused.status == 409
    assert "No such channel" in (await refused.json())["message"]
    status = await (await stack.client.get("/api/agent/status", headers=headers)).json()
    assert [c["muted"] for c in status["calls"]] == [False]
    await ws.close()
