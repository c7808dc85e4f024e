"""The campaigns page in Debian's chromium: an analyst's admin builds a questionnaire, checks the
target rule as they type it, puts the campaign online, pauses and ends it."""

from __future__ import annotations

import pytest

from crm import campaign_admin
from crm.kinds import CampaignStatus
from tests.agent_api.stack import Stack
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser


async def test_a_questionnaire_is_built_checked_put_online_paused_and_ended_on_the_page(tmp_path, browser):
    stack = await Stack(tmp_path).start()
    try:
        page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
        await page.goto(stack.base_url + "/login")
        await page.fill("#username", "admin")
        await page.fill("#password", "demo")
        await page.click("#login-submit")
        await page.wait_for_url(lambda url: "/login" not in url)
        await page.goto(stack.base_url + "/campaigns")
        await page.locator("#campaign-list tbody tr").first.wait_for()

        await page.click("#campaign-new")
        await page.fill("#f-name", "宽带满意度回访")
        await page.select_option("#f-kind", "questionnaire")
        await page.fill("#f-rule", "vip_levle >= 2")
        await page.locator("#rule-check.bad").filter(has_text="vip_levle").wait_for()
        await page.fill("#f-rule", "vip_level >= 2")
        await page.locator("#rule-check.ok").filter(has_text="1").wait_for()
        await page.fill("#f-script", "您好，耽误您一分钟做个回访")
        await page.click("#question-add")
        first = page.locator("#questions li").nth(0)
        await first.locator('[data-f="text"]').fill("您从哪里知道我们？")
        await first.locator('[data-f="choices"]').fill("电视\n网络\n朋友")
        await first.locator('[data-f="required"]').check()
        await page.click("#question-add")
        second = page.locator("#questions li").nth(1)
        await second.locator('[data-f="text"]').fill("总体满意度")
        await second.locator('[data-f="kind"]').select_option("scale")
        await second.locator("button[title]").filter(has_text="↑").click()  # scale first now
        await page.click("#campaign-save")
        await page.locator("#campaign-result.note").wait_for()
        await page.screenshot(path=str(ARTIFACTS / "campaign-editor.png"), full_page=True)

        found = [c for c in await campaign_admin.list_rules(stack.db)]
        assert found == []
        campaigns = await stack.crm.catalog.get()
        assert all(c.name != "宽带满意度回访" for c in campaigns[0])  # a draft is not offered
        row = page.locator("#campaign-list tbody tr").filter(has_text="宽带满意度回访")
        campaign_id = int(await row.get_attribute("data-id"))
        detail = await campaign_admin.get_campaign(stack.db, campaign_id)
        assert [q.text for q in detail.edit.questions] == ["总体满意度", "您从哪里知道我们？"]
        assert [q.required for q in detail.edit.questions] == [False, True]

        await page.click("#go-online")
        await page.locator('#campaign-status[data-status="online"]').wait_for()
        await page.locator("#history tr").filter(has_text="admin").first.wait_for()
        await page.click("#go-pause")
        await page.locator('#campaign-status[data-status="paused"]').wait_for()
        page.on("dialog", lambda dialog: dialog.accept())
        await page.click("#go-end")
        await page.locator('#campaign-status[data-status="ended"]').wait_for()
        assert await page.locator("#campaign-save").is_disabled()
        assert (await campaign_admin.get_campaign(stack.db, campaign_id)).status is CampaignStatus.ENDED

        await page.fill("#quiet-name", "夜间免打扰")
        await page.click("#quiet-form button[type=submit]")
        await page.locator("#rules tbody tr").filter(has_text="夜间免打扰").wait_for()
        await page.fill("#dnc-phone", "13800138000")
        await page.fill("#dnc-reason", "客户要求")
        await page.click("#dnc-form button[type=submit]")
        await page.locator("#dnc tbody tr").filter(has_text="+8613800138000").wait_for()
        await page.screenshot(path=str(ARTIFACTS / "campaign-lifecycle.png"), full_page=True)
    finally:
        await stack.stop()
