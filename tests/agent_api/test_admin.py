"""Admin: users with roles and skills, campaigns on and off, the audit log; catalogs complete."""

from __future__ import annotations

from agent_api.context import SERVICES
from agent_api.i18n import LANGUAGES, catalog
from crm import accounts, campaigns
from crm import audit as audit_log
from crm.kinds import CampaignKind, CampaignStatus, Channel, Role
from tests.agent_api.stack import CUSTOMER_NAME, CUSTOMER_PHONE, Stack, fast_passwords, login


async def test_an_admin_creates_a_user_who_can_then_log_in_with_their_role(stack: Stack):
    csrf = await login(stack.client, "admin")
    headers = {"X-CSRF-Token": csrf}
    body = {
        "username": "li.na",
        "password": "a-long-password",
        "roles": ["agent"],
        "extension": "1003",
        "skills": {"support": 3},
    }
    created = await stack.client.post("/api/admin/users", json=body, headers=headers)
    assert created.status == 200, await created.text()
    assert (await created.json())["skills"] == {"support": 3}
    again = await stack.client.post("/api/admin/users", json=body, headers=headers)
    assert again.status == 409
    weak = await stack.client.post(
        "/api/admin/users", json={**body, "username": "x2", "password": "short"}, headers=headers
    )
    assert weak.status == 422
    stack.client.session.cookie_jar.clear()
    await login(stack.client, "li.na", "a-long-password")
    assert (await stack.client.get("/api/agent/status")).status == 200
    assert (await stack.client.get("/api/admin/users")).status == 403


async def test_disabling_a_user_ends_their_sessions_and_an_admin_cannot_disable_themselves(stack: Stack):
    await login(stack.client, "agent1001")
    agent_cookies = stack.client.session.cookie_jar.filter_cookies(stack.server.make_url("/"))
    agent_session = agent_cookies["hotline_session"].value
    stack.client.session.cookie_jar.clear()
    csrf = await login(stack.client, "admin")
    headers = {"X-CSRF-Token": csrf}
    off = await stack.client.patch("/api/admin/users/agent1001", json={"enabled": False}, headers=headers)
    assert off.status == 200 and (await off.json())["enabled"] is False
    assert await stack.app[SERVICES].sessions.get(agent_session) is None
    self_off = await stack.client.patch("/api/admin/users/admin", json={"enabled": False}, headers=headers)
    assert self_off.status == 400
    missing = await stack.client.patch("/api/admin/users/ghost", json={"enabled": True}, headers=headers)
    assert missing.status == 404


async def test_campaigns_go_online_and_off_and_each_change_is_audited(stack: Stack):
    csrf = await login(stack.client, "admin")
    headers = {"X-CSRF-Token": csrf}
    listed = await (await stack.client.get("/api/admin/campaigns")).json()
    assert [(c["id"], c["status"]) for c in listed["campaigns"]] == [(stack.campaign_id, "online")]
    paused = await stack.client.put(
        f"/api/admin/campaigns/{stack.campaign_id}/status", json={"status": "paused"}, headers=headers
    )
    assert paused.status == 204
    back = await stack.client.put(
        f"/api/admin/campaigns/{stack.campaign_id}/status", json={"status": "draft"}, headers=headers
    )
    assert back.status == 409
    assert (
        await stack.client.put("/api/admin/campaigns/999/status", json={"status": "online"}, headers=headers)
    ).status == 404
    entries = await audit_log.entries(stack.db, action="campaign-status")
    assert entries[0].detail == {"status": "paused"}
    audit = await (await stack.client.get("/api/admin/audit")).json()
    assert {"login", "campaign-status"} <= {e["action"] for e in audit["entries"]}


async def test_the_queues_are_listed_from_the_acd(stack: Stack):
    await login(stack.client, "admin")
    queues = await (await stack.client.get("/api/admin/queues")).json()
    assert [q["name"] for q in queues["queues"]] == ["support", "sales"]


def test_every_message_has_a_translation_in_every_language():
    keys = {language: set(catalog(language)) for language in LANGUAGES}
    assert keys["zh-CN"] == keys["en"]


async def test_pages_render_in_chinese_by_default_and_in_english_when_chosen(stack: Stack):
    await login(stack.client, "admin")
    page = await (await stack.client.get("/admin")).text()
    assert 'lang="zh-CN"' in page and "审计日志" in page
    await stack.client.get("/lang/en")
    english = await (await stack.client.get("/admin")).text()
    assert 'lang="en"' in english and "Audit log" in english
    assert (await stack.client.get("/lang/fr", allow_redirects=False)).status == 404


async def test_an_analyst_exports_contacts_as_csv_and_the_export_is_audited(stack: Stack):
    await accounts.create_account(
        stack.db,
        accounts.NewAccount("analyst1", await fast_passwords().hash("demo"), frozenset({Role.ANALYST})),
    )
    await login(stack.client, "analyst1")
    response = await stack.client.get("/api/export/customers")
    assert response.status == 200 and response.content_type == "text/csv"
    text = (await response.read()).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("id,name,phones") and CUSTOMER_NAME in text
    assert (await stack.client.get("/api/export/passwords")).status == 404
    entries = await audit_log.entries(stack.db, action="export")
    assert (entries[0].actor, entries[0].target, entries[0].detail) == (
        "analyst1",
        "customers",
        {"rows": 1, "personal_data": True},
    )


async def test_an_agent_created_and_then_edited_on_the_admin_page_is_routed_at_once(stack: Stack):
    csrf = await login(stack.client, "admin")
    headers = {"X-CSRF-Token": csrf}
    body = {
        "username": "wang.fang",
        "password": "a-long-password",
        "roles": ["agent"],
        "extension": "1007",
        "skills": {"support": 3},
    }
    assert (await stack.client.post("/api/admin/users", json=body, headers=headers)).status == 200
    assert dict(stack.acd.states.get("wang.fang").profile.skills) == {"support": 3}
    edited = await stack.client.patch(
        "/api/admin/users/wang.fang", json={"skills": {"sales": 6}, "extension": "1008"}, headers=headers
    )
    assert edited.status == 200
    profile = stack.acd.states.get("wang.fang").profile
    assert (dict(profile.skills), profile.extension) == ({"sales": 6}, "1008")
    stack.client.session.cookie_jar.clear()
    csrf = await login(stack.client, "wang.fang", "a-long-password")
    joined = await stack.client.post("/api/agent/login", json={}, headers={"X-CSRF-Token": csrf})
    assert joined.status in (200, 204), await joined.text()
    assert stack.acd.states.get("wang.fang").queues == ("sales",)


async def test_a_campaign_paused_for_a_failing_target_rule_says_why_on_the_list_and_in_the_audit_log(
    stack: Stack,
):
    failing = await stack.crm.create_campaign(
        campaigns.NewCampaign(
            "回访", CampaignKind.MARKETING, [Channel.CALL_IN], target_rule="1 / open_tickets > 0.5"
        )
    )
    await stack.crm.set_campaign_status(failing, CampaignStatus.ONLINE)
    pop = await stack.crm.screen_pop(CUSTOMER_PHONE)
    assert pop.customer is not None and [o.campaign_id for o in pop.offers] == [stack.campaign_id]

    await login(stack.client, "admin")
    listed = await (await stack.client.get("/api/admin/campaigns")).json()
    shown = {c["id"]: (c["status"], c["status_reason"]) for c in listed["campaigns"]}
    assert shown[stack.campaign_id] == ("online", "")
    assert shown[failing][0] == "paused" and "division by zero" in shown[failing][1]
    audit = await (await stack.client.get("/api/admin/audit")).json()
    [entry] = [e for e in audit["entries"] if e["action"] == "campaign-rule-failed"]
    assert (entry["actor"], entry["target"]) == ("hotline", str(failing))


async def test_reading_the_audit_log_again_and_again_is_logged_once(stack: Stack):
    await login(stack.client, "admin")
    for _ in range(3):
        assert (await stack.client.get("/api/admin/audit")).status == 200
    reads = await audit_log.entries(stack.db, action="audit-read")
    assert [e.actor for e in reads] == ["admin"]
