"""The agent page in Debian's chromium: an agent allowed to hot-desk names a free desk, types the
code its phone shows, and is logged in there."""

from __future__ import annotations

import re

import pytest

from agent_api.context import SERVICES
from crm import accounts
from tests.agent_api.stack import Stack

pytestmark = pytest.mark.browser


async def test_a_hot_desk_is_confirmed_with_the_code_its_phone_shows(tmp_path, browser):
    stack = await Stack(tmp_path).start()
    try:
        await accounts.update_account(stack.db, "agent1001", hot_desk=True)
        page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
        await page.goto(stack.base_url + "/login")
        await page.fill("#username", "agent1001")
        await page.fill("#password", "demo")
        await page.click("#login-submit")
        await page.wait_for_url(lambda url: url.endswith("/agent"))
        await page.fill("#extension", "1009")
        await page.click("#btn-login")
        await page.wait_for_selector("#hot-desk:not([hidden]) #hot-desk-code")
        await page.wait_for_selector("#agent-note:has-text('1009')")
        await stack.app[SERVICES].hot_desk.settle()
        [ring] = [r[2] for r in stack.switch.requests if r[0] == "originate"]
        assert ring["channel"] == "PJSIP/1009"
        await page.fill("#hot-desk-code", re.search(r"<(\d+)>", ring["caller_id"]).group(1))
        await page.click("#btn-hot-desk")
        await page.wait_for_selector('#agent-state[data-state="available"]')
        # The state arrives over the WebSocket, the form closes on the confirmation's answer:
        # either may come first.
        await page.wait_for_selector("#hot-desk", state="hidden")
        assert stack.acd.states.get("agent1001").extension == "1009"
    finally:
        await stack.stop()
