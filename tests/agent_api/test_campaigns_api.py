"""Campaigns made through the API reach the callers they target, within caps and quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp

from acd.gate import MarketingPolicy
from crm import contacts, customers
from crm.kinds import Channel
from tests.agent_api.stack import CUSTOMER_PHONE, Stack, login, next_frame

OTHER_PHONE = "13900139000"


async def _analyst(stack: Stack) -> dict[str, str]:
    return {"X-CSRF-Token": await login(stack.client, "admin")}


async def _new_campaign(stack: Stack, headers: dict[str, str], **fields: object) -> dict:
    body = {
        "name": "金卡客户理财推荐",
        "kind": "marketing",
        "channels": ["call_in"],
        "target_rule": "vip_level >= 2",
        "offer_text": "年化 3% 理财",
        **fields,
    }
    response = await stack.client.post("/api/campaigns", json=body, headers=headers)
    assert response.status == 200, await response.text()
    return await response.json()


async def _pop_offers(stack: Stack, call_id: str, caller: str = CUSTOMER_PHONE) -> list[int]:
    """The offers the agent's screen-pop shows for a call (the agent in a browser of their own)."""
    async with aiohttp.ClientSession(
        base_url=stack.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as agent:
        response = await agent.post("/api/session", json={"username": "agent1001", "password": "demo"})
        headers = {"X-CSRF-Token": (await response.json())["csrf_token"]}
        await agent.post("/api/agent/login", json={}, headers=headers)
        stack.acd.gate.set_policy(MarketingPolicy("default", ("support",), max_agents=5))
        async with agent.ws_connect("/api/ws") as ws:
            await next_frame(ws, "hello")
            stack.ring(call_id, caller=caller)
            pop = await next_frame(ws, "pop")
        stack.hang_up(call_id)
    return [o["campaign_id"] for o in pop["offers"]]


async def test_a_campaign_made_and_put_online_reaches_only_the_callers_it_targets(stack: Stack):
    headers = await _analyst(stack)
    # The seeded campaign is paused, so only the new one can show.
    await stack.client.put(
        f"/api/campaigns/{stack.campaign_id}/lifecycle", json={"status": "paused"}, headers=headers
    )
    await customers.create_customer(
        stack.db, customers.NewCustomer("李娜", phones=[OTHER_PHONE], consent_marketing=True)
    )
    made = await _new_campaign(stack, headers)
    assert made["status"] == "draft" and made["problems"] == []
    online = await stack.client.put(
        f"/api/campaigns/{made['id']}/lifecycle", json={"status": "online"}, headers=headers
    )
    assert online.status == 200, await online.text()
    assert [h["action"] for h in (await online.json())["history"]] == ["campaign-status", "campaign-create"]
    assert (await online.json())["history"][0]["actor"] == "admin"
    assert await _pop_offers(stack, "c1") == [made["id"]]  # VIP 2
    assert await _pop_offers(stack, "c2", caller=OTHER_PHONE) == []  # VIP 0: not targeted


async def test_quiet_hours_and_a_frequency_cap_hold_an_online_campaign_back(stack: Stack):
    headers = await _analyst(stack)
    local = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    quiet = {
        "kind": "quiet_hours",
        "name": "夜间",
        "channels": ["call_in"],
        "quiet_start": (local - timedelta(hours=1)).strftime("%H:%M"),
        "quiet_end": (local + timedelta(hours=1)).strftime("%H:%M"),
    }
    added = await stack.client.post("/api/campaign-rules", json=quiet, headers=headers)
    assert added.status == 200, await added.text()
    assert await _pop_offers(stack, "q1") == []
    rule_id = (await added.json())["id"]
    off = await stack.client.patch(f"/api/campaign-rules/{rule_id}", json={"enabled": False}, headers=headers)
    assert off.status == 204
    assert await _pop_offers(stack, "q2") == [stack.campaign_id]
    cap = {
        "kind": "frequency_cap",
        "name": "每月一次",
        "max_count": 1,
        "window_days": 30,
        "purposes": ["marketing"],
    }
    assert (await stack.client.post("/api/campaign-rules", json=cap, headers=headers)).status == 200
    await contacts.record_contact(
        stack.db,
        contacts.NewContact(
            customer_id=stack.customer_id, channel=Channel.CALL_OUT, campaign_id=stack.campaign_id
        ),
    )
    assert await _pop_offers(stack, "q3") == []


async def test_the_target_rule_is_checked_as_typed_with_a_count_of_matching_customers(stack: Stack):
    headers = await _analyst(stack)
    good = await stack.client.post(
        "/api/campaigns/target-check", json={"rule": "vip_level >= 2"}, headers=headers
    )
    assert await good.json() == {"valid": True, "error": "", "customers": 1, "estimated": False}
    bad = await (
        await stack.client.post(
            "/api/campaigns/target-check", json={"rule": "vip_levle > 1"}, headers=headers
        )
    ).json()
    assert bad["valid"] is False and "vip_levle" in bad["error"]
    refused = await stack.client.post(
        "/api/campaigns",
        json={"name": "x", "kind": "marketing", "target_rule": "vip_levle > 1"},
        headers=headers,
    )
    assert refused.status == 422


async def test_an_online_campaign_cannot_be_edited_into_a_state_it_could_not_run_in(stack: Stack):
    headers = await _analyst(stack)
    made = await _new_campaign(
        stack,
        headers,
        kind="questionnaire",
        offer_text="",
        questions=[
            {"text": "满意度", "kind": "scale", "scale_min": 1, "scale_max": 5, "required": True},
            {"text": "渠道", "kind": "single", "choices": ["电视", "网络"]},
        ],
    )
    assert [q["required"] for q in made["questions"]] == [True, False]
    await stack.client.put(
        f"/api/campaigns/{made['id']}/lifecycle", json={"status": "online"}, headers=headers
    )
    body = {"name": made["name"], "kind": "questionnaire", "channels": ["call_in"], "questions": []}
    broken = await stack.client.put(f"/api/campaigns/{made['id']}", json=body, headers=headers)
    assert broken.status == 409
    assert (await broken.json())["details"]["problems"] == ["no_questions"]
    reordered = [
        {**q, "scale_min": q["scale_min"], "scale_max": q["scale_max"]} for q in made["questions"][::-1]
    ]
    for q in reordered:
        q.pop("answered")
    fine = await stack.client.put(
        f"/api/campaigns/{made['id']}", json={**body, "questions": reordered}, headers=headers
    )
    assert fine.status == 200, await fine.text()
    assert [q["text"] for q in (await fine.json())["questions"]] == ["渠道", "满意度"]
    ended = await stack.client.put(
        f"/api/campaigns/{made['id']}/lifecycle", json={"status": "ended"}, headers=headers
    )
    assert ended.status == 200
    again = await stack.client.put(
        f"/api/campaigns/{made['id']}/lifecycle", json={"status": "online"}, headers=headers
    )
    assert again.status == 409
    assert (await stack.client.put(f"/api/campaigns/{made['id']}", json=body, headers=headers)).status == 409


async def test_a_draft_without_channels_cannot_go_online_and_says_why(stack: Stack):
    headers = await _analyst(stack)
    made = await _new_campaign(stack, headers, channels=[], offer_text="")
    assert made["problems"] == ["no_channel", "no_offer_text"]
    refused = await stack.client.put(
        f"/api/campaigns/{made['id']}/lifecycle", json={"status": "online"}, headers=headers
    )
    assert refused.status == 409 and (await refused.json())["error"] == "campaign_not_ready"


async def test_the_do_not_contact_list_takes_numbers_and_keeps_them_from_offers(stack: Stack):
    headers = await _analyst(stack)
    added = await stack.client.post(
        "/api/do-not-contact", json={"phone": CUSTOMER_PHONE, "reason": "客户要求"}, headers=headers
    )
    assert added.status == 200
    listed = await (await stack.client.get("/api/do-not-contact?search=0013", headers=headers)).json()
    assert listed["total"] == 1 and listed["entries"][0]["phone"] == "+86" + CUSTOMER_PHONE
    assert await _pop_offers(stack, "d1") == []
    bad = await stack.client.post("/api/do-not-contact", json={"phone": "12345"}, headers=headers)
    assert bad.status == 422
    gone = await stack.client.delete(f"/api/do-not-contact/{(await added.json())['id']}", headers=headers)
    assert gone.status == 204


async def test_agents_may_not_edit_campaigns(stack: Stack):
    headers = {"X-CSRF-Token": await login(stack.client, "agent1001")}
    assert (await stack.client.get("/api/campaigns", headers=headers)).status == 403
    page = await stack.client.get("/campaigns", allow_redirects=False)
    assert page.status == 403
