"""Dispositions and pause reasons are administered per queue, and the desk takes them at once."""

from __future__ import annotations

from tests.agent_api.stack import Stack, login, next_frame


async def test_an_admin_adds_a_disposition_for_one_queue_and_a_wrap_up_of_that_queue_may_use_it(stack: Stack):
    admin = {"X-CSRF-Token": await login(stack.client, "admin")}
    listed = await (await stack.client.get("/api/admin/desk-codes", headers=admin)).json()
    assert [c["code"] for c in listed["codes"] if c["kind"] == "disposition"] == [
        "resolved",
        "follow_up",
        "info",
        "complaint",
    ]
    added = await stack.client.post(
        "/api/admin/desk-codes",
        json={
            "kind": "disposition",
            "code": "sold",
            "queue": "support",
            "label_zh": "成交",
            "label_en": "Sold",
        },
        headers=admin,
    )
    assert added.status == 200, await added.text()
    again = await stack.client.post(
        "/api/admin/desk-codes",
        json={"kind": "disposition", "code": "sold", "queue": "support", "label_zh": "x"},
        headers=admin,
    )
    assert again.status == 409
    reserved = await stack.client.post(
        "/api/admin/desk-codes", json={"kind": "pause", "code": "missed", "label_zh": "x"}, headers=admin
    )
    assert reserved.status == 422
    sales = await (
        await stack.client.get("/api/desk-codes?kind=disposition&queue=sales", headers=admin)
    ).json()
    assert "sold" not in [c["code"] for c in sales["codes"]]

    agent = {"X-CSRF-Token": await login(stack.client, "agent1001")}
    await stack.client.post("/api/agent/login", json={}, headers=agent)
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring("w1")
    await next_frame(ws, "pop")
    stack.hang_up("w1")
    await next_frame(ws, "ended")
    done = await stack.client.post("/api/agent/calls/w1/wrapup", json={"disposition": "sold"}, headers=agent)
    assert done.status == 200, await done.text()
    await ws.close()
    page = await (await stack.client.get("/agent")).text()
    assert 'value="sold">成交<' in page


async def test_a_pause_reason_added_by_the_admin_is_accepted_by_the_acd_and_a_disabled_one_is_not_offered(
    stack: Stack,
):
    admin = {"X-CSRF-Token": await login(stack.client, "admin")}
    added = await stack.client.post(
        "/api/admin/desk-codes",
        json={"kind": "pause", "code": "coaching", "label_zh": "辅导", "label_en": "Coaching"},
        headers=admin,
    )
    code = await added.json()
    lunch = next(
        c
        for c in (await (await stack.client.get("/api/admin/desk-codes", headers=admin)).json())["codes"]
        if c["code"] == "lunch"
    )
    off = await stack.client.patch(
        f"/api/admin/desk-codes/{lunch['id']}", json={"enabled": False}, headers=admin
    )
    assert off.status == 200 and (await off.json())["enabled"] is False
    agent = {"X-CSRF-Token": await login(stack.client, "agent1001")}
    await stack.client.post("/api/agent/login", json={}, headers=agent)
    page = await (await stack.client.get("/agent")).text()
    assert 'value="coaching">辅导<' in page and 'value="lunch"' not in page
    paused = await stack.client.post("/api/agent/pause", json={"reason": code["code"]}, headers=agent)
    assert paused.status in (200, 204), await paused.text()
    assert stack.acd.states.get("agent1001").reason == "coaching"
