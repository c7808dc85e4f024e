"""The admin page in Debian's chromium: an administrator edits a queue and adds one."""

from __future__ import annotations

import pytest

from acd.queue_file import load_queue_file, save_queue_file
from tests.agent_api.stack import Stack
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser


async def _admin_page(browser, stack: Stack):  # type: ignore[no-untyped-def]
    page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
    await page.goto(stack.base_url + "/login")
    await page.fill("#username", "admin")
    await page.fill("#password", "demo")
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: "/login" not in url)
    return page


async def test_an_admin_changes_a_queues_service_level_threshold_and_sees_it_on_the_page(tmp_path, browser):
    path = tmp_path / "queues.yaml"
    stack = await Stack(tmp_path, queues_file=str(path)).start()
    save_queue_file(path, stack.acd.config.queues)
    try:
        page = await _admin_page(browser, stack)
        row = page.locator('#queues tbody tr[data-queue="sales"]:not(.queue-edit)')
        await row.locator("td.service-level").filter(has_text="20 s").wait_for()
        assert await page.locator("#queues-not-saved").is_hidden()
        await row.locator("button.edit").click()
        form = page.locator('#queues tr.queue-edit[data-queue="sales"] form')
        await form.locator('input[name="service_level_s"]').fill("12")
        await form.locator('select[name="strategy"]').select_option("best-skill")
        offer = form.locator('input[name="offer_during_wrapup"]')
        assert not await offer.is_checked()
        await offer.check()
        await page.screenshot(path=str(ARTIFACTS / "admin-queue-edit.png"))
        await form.locator('button[type="submit"]').click()

        await row.locator("td.service-level").filter(has_text="12 s").wait_for()
        await page.wait_for_selector("#audit tr:has-text('queue-update')")
        assert stack.acd.config.queues["sales"].service_level_s == 12
        assert stack.acd.config.queues["sales"].offer_during_wrapup is True
        await row.locator("td.wrapup").filter(has_text="小结中也分配").wait_for()
        assert load_queue_file(path)["sales"].service_level_s == 12
        await page.locator("#queues-card").scroll_into_view_if_needed()
        await page.locator("#queues-card h2").evaluate("h => h.scrollIntoView()")
        await page.screenshot(path=str(ARTIFACTS / "admin-queues.png"))

        add = page.locator("#queue-add form")
        await add.locator('input[name="name"]').fill("billing")
        await add.locator('input[name="skill"]').fill("support")
        await add.locator('input[name="overflow_after_s"]').fill("30")
        await add.locator("button[type='submit']").click()
        await add.locator(".result").filter(has_text="溢出等待和溢出到须同时设置").wait_for()
        assert "billing" not in stack.acd.config.queues
        await add.locator('select[name="overflow_to"]').select_option("support")
        await add.locator("button[type='submit']").click()
        await page.locator('#queues tbody tr[data-queue="billing"]').first.wait_for()
        assert stack.acd.config.queues["billing"].overflow_to == "support"
        await page.screenshot(path=str(ARTIFACTS / "admin-queue-added.png"), full_page=True)
    finally:
        await stack.stop()
