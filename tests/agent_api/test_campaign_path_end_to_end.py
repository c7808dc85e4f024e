"""A campaign end to end, through the API as each role uses it: an analyst's admin creates a
marketing campaign and puts it online; it reaches the pop of a caller its rule targets and not
another's; the agent records the outcome at wrap-up; a frequency cap and quiet hours hold it back
while they apply; and the marketing report counts every outcome chosen at wrap-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from acd.gate import MarketingPolicy
from crm import customers
from tests.agent_api.stack import CUSTOMER_PHONE, Stack, login, next_frame

OTHER_PHONE = "13900139000"


async def _ok(response) -> dict:  # type: ignore[no-untyped-def]
    assert response.status in (200, 204), await response.text()
    return await response.json() if response.status == 200 else {}


async def test_a_campaign_made_online_reaches_its_callers_within_its_rules_and_its_outcomes_are_reported(
    stack: Stack,
):
    await customers.create_customer(
        stack.db, customers.NewCustomer("李娜", phones=[OTHER_PHONE], consent_marketing=True)
    )
    held: list = []  # the marketing report's "held by a rule" facts (written with the call log)
    stack.crm.rule_holdbacks.sink = held.extend
    admin = TestClient(stack.server)
    try:
        csrf = {"X-CSRF-Token": await login(admin, "admin")}
        # Only the new campaign may show: the seeded one is paused.
        await _ok(
            await admin.put(
                f"/api/campaigns/{stack.campaign_id}/lifecycle", json={"status": "paused"}, headers=csrf
            )
        )
        made = await _ok(
            await admin.post(
                "/api/campaigns",
                json={
                    "name": "金卡客户理财推荐",
                    "kind": "marketing",
                    "channels": ["call_in"],
                    "target_rule": "vip_level >= 2",
                    "script": "您好，给您介绍一款理财",
                    "offer_text": "年化 3% 理财",
                },
                headers=csrf,
            )
        )
        campaign = made["id"]
        assert (made["status"], made["problems"]) == ("draft", [])
        online = await _ok(
            await admin.put(f"/api/campaigns/{campaign}/lifecycle", json={"status": "online"}, headers=csrf)
        )
        assert online["status"] == "online" and online["history"][0]["actor"] == "admin"

        agent = {"X-CSRF-Token": await login(stack.client, "agent1001")}
        await _ok(await stack.client.post("/api/agent/login", json={}, headers=agent))
        stack.acd.gate.set_policy(MarketingPolicy("default", ("support",), max_agents=5))
        ws = await stack.client.ws_connect("/api/ws")
        await next_frame(ws, "hello")

        async def call(call_id: str, caller: str, outcome: str = "") -> list[dict]:
            """One call to agent 1001; its pop's offers, each given ``outcome`` at wrap-up."""
            stack.ring(call_id, caller=caller)
            pop = await next_frame(ws, "pop")
            assert pop["call_id"] == call_id
            stack.hang_up(call_id)
            await next_frame(ws, "ended")
            body: dict = {"disposition": "resolved"}
            if outcome:
                body["offers"] = [
                    {"campaign_id": o["campaign_id"], "outcome": outcome} for o in pop["offers"]
                ]
            await _ok(await stack.client.post(f"/api/agent/calls/{call_id}/wrapup", json=body, headers=agent))
            return pop["offers"]

        [offer] = await call("b1", CUSTOMER_PHONE, "accepted")  # VIP 2: targeted
        assert (offer["campaign_id"], offer["offer_text"]) == (campaign, "年化 3% 理财")
        assert await call("b2", OTHER_PHONE) == []  # VIP 0: not targeted

        cap = await _ok(
            await admin.post(
                "/api/campaign-rules",
                json={
                    "kind": "frequency_cap",
                    "name": "每月一次营销",
                    "max_count": 1,
                    "window_days": 30,
                    "purposes": ["marketing"],
                },
                headers=csrf,
            )
        )
        assert await call("b3", CUSTOMER_PHONE) == []  # b1 used the month's one offer
        await _ok(
            await admin.patch(f"/api/campaign-rules/{cap['id']}", json={"enabled": False}, headers=csrf)
        )

        local = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai"))
        quiet = await _ok(
            await admin.post(
                "/api/campaign-rules",
                json={
                    "kind": "quiet_hours",
                    "name": "免打扰",
                    "channels": ["call_in"],
                    "quiet_start": (local - timedelta(hours=1)).strftime("%H:%M"),
                    "quiet_end": (local + timedelta(hours=1)).strftime("%H:%M"),
                },
                headers=csrf,
            )
        )
        assert await call("b4", CUSTOMER_PHONE) == []  # now is within the quiet hours
        await _ok(
            await admin.patch(f"/api/campaign-rules/{quiet['id']}", json={"enabled": False}, headers=csrf)
        )
        assert [o["campaign_id"] for o in await call("b5", CUSTOMER_PHONE, "declined")] == [campaign]
        await ws.close()
        assert [(h.call_id, h.campaign_id, h.cause) for h in held] == [
            ("b3", campaign, "frequency_cap"),
            ("b4", campaign, "quiet_hours"),
        ]

        day = local.date()
        report = await _ok(
            await admin.get(
                f"/api/reports/standard/marketing_detail?from={day - timedelta(days=1)}"
                f"&to={day + timedelta(days=1)}&campaign={campaign}"
            )
        )
        names = [c["name"] for c in report["columns"]]
        rows = [dict(zip(names, row, strict=True)) for row in report["rows"]]
        assert [(r["campaign_id"], r["agent"]) for r in rows] == [(campaign, "agent1001")]
        [row] = rows
        assert (row["presented"], row["accepted"], row["declined"], row["later"]) == (2, 1, 1, 0)
        assert row["campaign"] == "金卡客户理财推荐"
    finally:
        await admin.close()
