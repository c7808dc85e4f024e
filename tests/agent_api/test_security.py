"""Security: roles on every route, CSRF, login throttling, cookies, demo accounts, no secrets leaked."""

from __future__ import annotations

import logging
import re

import pytest

from agent_api.openapi import endpoints_of
from agent_api.throttle import LoginThrottle, ThrottleRule
from crm import accounts
from crm import audit as audit_log
from crm.kinds import Role
from tests.agent_api.stack import Stack, fast_passwords, login

USERS = {
    Role.AGENT: "agent1001",
    Role.SUPERVISOR: "supervisor",
    Role.ADMIN: "admin",
    Role.ANALYST: "analyst1",
}


async def _add_analyst(stack: Stack) -> None:
    await accounts.create_account(
        stack.db,
        accounts.NewAccount("analyst1", await fast_passwords().hash("demo"), frozenset({Role.ANALYST})),
    )


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


async def test_every_route_refuses_a_caller_without_a_session(stack: Stack):
    protected = [spec for spec in endpoints_of(stack.app) if spec.roles is not None]
    assert len(protected) > 15
    for spec in protected:
        response = await stack.client.request(spec.method, _concrete(spec.path), json={})
        assert response.status == 401, (spec.method, spec.path)


async def test_every_route_refuses_the_roles_it_does_not_name(stack: Stack):
    await _add_analyst(stack)
    for role, username in USERS.items():
        stack.client.session.cookie_jar.clear()
        csrf = await login(stack.client, username)
        for spec in endpoints_of(stack.app):
            if spec.roles is None or role in spec.roles:
                continue
            response = await stack.client.request(
                spec.method, _concrete(spec.path), json={}, headers={"X-CSRF-Token": csrf}
            )
            assert response.status == 403, (role, spec.method, spec.path)


async def test_an_agent_page_is_forbidden_to_a_supervisor_and_pages_need_a_session(stack: Stack):
    response = await stack.client.get("/agent", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "/login"
    await login(stack.client, "supervisor")
    assert (await stack.client.get("/agent")).status == 403
    assert (await stack.client.get("/supervisor")).status == 200
    assert (await stack.client.get("/admin")).status == 403


async def test_a_page_the_role_may_not_open_says_so_in_the_viewers_language(stack: Stack):
    await login(stack.client, "agent1001")
    refused = await stack.client.get("/supervisor")
    assert refused.status == 403
    page = await refused.text()
    assert "无权访问" in page and 'href="/"' in page
    refused = await stack.client.get("/reports/queue_performance", cookies={"hotline_lang": "en"})
    assert refused.status == 403 and "Not for your role" in await refused.text()


async def test_a_state_changing_request_without_the_csrf_token_is_refused(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    missing = await stack.client.post("/api/agent/login", json={})
    assert missing.status == 403 and (await missing.json())["error"] == "csrf_failed"
    wrong = await stack.client.post("/api/agent/login", json={}, headers={"X-CSRF-Token": csrf + "x"})
    assert wrong.status == 403
    right = await stack.client.post("/api/agent/login", json={}, headers={"X-CSRF-Token": csrf})
    assert right.status == 200


async def test_the_page_carries_the_csrf_token_and_the_cookie_is_httponly_and_samesite(stack: Stack):
    response = await stack.client.post("/api/session", json={"username": "agent1001", "password": "demo"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    csrf = (await response.json())["csrf_token"]
    page = await (await stack.client.get("/agent")).text()
    assert f'<meta name="csrf-token" content="{csrf}">' in page
    assert "Content-Security-Policy" in (await stack.client.get("/agent")).headers


async def test_a_login_form_posted_from_another_site_is_refused(stack: Stack):
    form = await stack.client.post("/api/session", data={"username": "agent1001", "password": "demo"})
    assert form.status == 422
    cross = await stack.client.post(
        "/api/session",
        json={"username": "agent1001", "password": "demo"},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status == 400


async def test_logins_are_throttled_after_repeated_failures_even_with_the_right_password(tmp_path):
    now = [1000.0]
    rule = ThrottleRule(free_failures=3, first_delay_s=60, max_delay_s=600, forgive_s=300)
    stack = await Stack(
        tmp_path, throttle=LoginThrottle(per_account_address=rule, clock=lambda: now[0])
    ).start()
    try:
        for _ in range(3):
            bad = await stack.client.post("/api/session", json={"username": "admin", "password": "nope"})
            assert bad.status == 401
        blocked = await stack.client.post("/api/session", json={"username": "admin", "password": "demo"})
        assert blocked.status == 429
        assert int(blocked.headers["Retry-After"]) == 60
        now[0] += 60
        assert (
            await stack.client.post("/api/session", json={"username": "admin", "password": "demo"})
        ).status == 200
    finally:
        await stack.stop()


async def test_demo_accounts_cannot_log_in_outside_demo_mode(tmp_path):
    demo = await Stack(tmp_path).start()
    assert (
        await demo.client.post("/api/session", json={"username": "admin", "password": "demo"})
    ).status == 200
    await demo.stop()
    stack = await Stack(tmp_path, demo=False, seed=False).start()  # the same database, no demo mode
    try:
        response = await stack.client.post("/api/session", json={"username": "admin", "password": "demo"})
        assert response.status == 401
    finally:
        await stack.stop()


async def test_no_password_or_session_id_reaches_the_logs_or_the_audit(stack: Stack, caplog):
    caplog.set_level(logging.DEBUG)
    response = await stack.client.post("/api/session", json={"username": "admin", "password": "demo"})
    session_id = response.cookies["hotline_session"].value
    await stack.client.post("/api/session", json={"username": "admin", "password": "s3cret-wrong"})
    text = caplog.text
    assert "s3cret-wrong" not in text and session_id not in text
    entries = await audit_log.entries(stack.db)
    assert [e.action for e in entries][:2] == ["login-failed", "login"]
    assert all("s3cret-wrong" not in str(e.detail) and session_id not in str(e.detail) for e in entries)
    users = await (await stack.client.get("/api/admin/users")).text()
    assert "argon2" not in users and "password" not in users


async def test_logging_out_ends_the_session(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    assert (await stack.client.delete("/api/session", headers={"X-CSRF-Token": csrf})).status == 204
    assert (await stack.client.get("/api/session")).status == 401


@pytest.mark.parametrize("body", ["not json", "[]", '{"username": 5}', "{" * 5000])
async def test_a_garbage_login_body_gets_a_clear_422(stack: Stack, body: str):
    response = await stack.client.post(
        "/api/session", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 422
    assert (await response.json())["error"] == "invalid_body"
