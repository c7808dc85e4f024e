"""The login page in Debian's chromium: it says how long a throttled login must wait, and why a
page was sent back to it."""

from __future__ import annotations

import pytest

from agent_api.throttle import LoginThrottle, ThrottleRule
from tests.agent_api.stack import Stack, login

pytestmark = pytest.mark.browser


async def _form(page, username: str, password: str) -> int:
    """Submit the form; the status of the login's answer."""
    await page.fill("#username", username)
    await page.fill("#password", password)
    async with page.expect_response(lambda r: r.url.endswith("/api/session")) as answer:
        await page.click("#login-submit")
    return (await answer.value).status


async def test_a_throttled_login_says_how_long_to_wait(tmp_path, browser):
    rule = ThrottleRule(free_failures=2, first_delay_s=90, max_delay_s=900, forgive_s=600)
    stack = await Stack(tmp_path, throttle=LoginThrottle(per_account_address=rule)).start()
    try:
        page = await (await browser.new_context()).new_page()
        await page.goto(stack.base_url + "/login")
        assert [await _form(page, "admin", "wrong") for _ in range(2)] == [401, 401]
        assert await _form(page, "admin", "demo") == 429
        await page.wait_for_selector("#login-error:has-text('秒后再试')")
        text = await page.text_content("#login-error")
        assert any(str(s) in text for s in (89, 90)), text
    finally:
        await stack.stop()


async def test_a_page_whose_session_a_newer_login_ended_says_so_at_the_login_form(tmp_path, browser):
    stack = Stack(tmp_path)
    await stack.start()
    try:
        page = await (await browser.new_context()).new_page()
        await page.goto(stack.base_url + "/login")
        assert await _form(page, "supervisor", "demo") == 200
        await page.wait_for_url(lambda url: "/login" not in url)
        await page.wait_for_selector("#ws-status.ok")
        for _ in range(3):  # three more sessions elsewhere: the page's is the oldest beyond the cap
            stack.client.session.cookie_jar.clear()
            await login(stack.client, "supervisor")
        await page.wait_for_url(lambda url: "/login?why=session-replaced" in url)
        await page.wait_for_selector("#login-note:not([hidden])")
        assert "别处登录" in await page.text_content("#login-note")
    finally:
        await stack.stop()
