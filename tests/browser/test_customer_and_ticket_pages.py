"""The customer and ticket pages in Debian's chromium, as each role uses them: an agent finds a
customer by part of a number, creates one from the pop's link and opens a ticket; a supervisor
unmasks, merges a duplicate, dispatches to a team; the technician works it from a phone; the
agent follows up and closes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from crm import audit as audit_log
from crm import call_surveys, customers
from crm.contacts import NewContact, record_contact
from crm.kinds import Channel, Role
from crm.models import Customer
from tests.agent_api.stack import CUSTOMER_NAME, CUSTOMER_PHONE, Stack
from tests.agent_api.test_reports_api import add_account
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_reports_pages import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
async def center(tmp_path: Path):  # type: ignore[no-untyped-def]
    stack = await Stack(tmp_path).start()
    try:
        await add_account(stack, "tech1", Role.TECHNICIAN)
        yield stack
    finally:
        await stack.stop()


async def _page(browser, width: int = 1366, height: int = 900):  # type: ignore[no-untyped-def]
    return await (await browser.new_context(viewport={"width": width, "height": height})).new_page()


async def test_an_agent_finds_creates_edits_a_customer_and_opens_a_ticket(center: Stack, browser):
    page = await _page(browser)
    await log_in(page, center.base_url, "agent1001")
    await page.goto(center.base_url + "/customers")
    await page.fill("#customer-q", "0013800")
    await page.click("#customer-search-submit")
    row = page.locator(f"tr.customer-row[data-id='{center.customer_id}']")
    await row.wait_for()
    assert CUSTOMER_NAME in await row.text_content()

    # The timeline gives each call's post-call survey: the score in the ticket page's words, or
    # that the caller did not answer.
    for call_id, score in (("c-scored", 4), ("c-unanswered", None)):
        await record_contact(
            center.db, NewContact(center.customer_id, Channel.CALL_IN, agent="agent1001", call_id=call_id)
        )
        await call_surveys.record_ivr_answer(center.db, call_id, CUSTOMER_PHONE, score)
    await row.locator("a").click()
    await page.wait_for_selector("#timeline li.entry-contact")
    calls = await page.locator("#timeline li.entry-contact").all_text_contents()
    assert sum("满意度 4 满意" in c for c in calls) == 1 and sum("未评价" in c for c in calls) == 1
    await page.screenshot(path=str(ARTIFACTS / "customer-timeline-survey.png"), full_page=True)

    # The pop's link for an unknown caller: the number is already in the form.
    await page.goto(center.base_url + "/customers?phone=%2B8613912345678")
    assert await page.input_value("#new-phones") == "+8613912345678"
    await page.fill("#new-name", "赵敏")
    await page.fill("#new-address", "北京市朝阳区建国路 88 号 3 单元 501")
    await page.fill("#new-id-number", "110105199001011234")
    await page.click("#create-submit")
    await page.wait_for_url("**/customers/*")
    await page.wait_for_selector("#card-name:has-text('赵敏')")
    assert await page.text_content("#card-id-number") == "110105********1234"
    assert (await page.text_content("#card-address")).endswith("****")
    assert await page.locator("#unmask").count() == 0  # an agent cannot unmask

    await page.click("#edit-toggle")
    await page.fill("#edit-tags", "宽带, 投诉过")
    await page.click("#edit-save")
    await page.wait_for_selector("#card-tags:has-text('投诉过')")

    await page.select_option("#nt-kind", "field_dispatch")
    await page.fill("#nt-subject", "宽带无信号")
    await page.click("#nt-submit")
    await page.wait_for_url("**/tickets/*")
    await page.wait_for_selector("#tk-subject:has-text('宽带无信号')")
    assert await page.get_attribute("#tk-nodes li.current", "data-node") == "open"
    await page.screenshot(path=str(ARTIFACTS / "ticket-new.png"), full_page=True)


async def test_a_supervisor_unmasks_merges_and_dispatches_and_the_loop_closes(center: Stack, browser):
    duplicate = await customers.create_customer(
        center.db,
        customers.NewCustomer("张伟（重复）", phones=["13700000009"], id_number="440301198802023456"),
    )
    sup = await _page(browser)
    await log_in(sup, center.base_url, "supervisor")
    await sup.goto(f"{center.base_url}/customers/{duplicate}")
    await sup.wait_for_selector("#card-id-number:has-text('440301********3456')")
    await sup.click("#unmask")
    await sup.wait_for_selector("#card-id-number:has-text('440301198802023456')")
    assert [e.action for e in await audit_log.entries(center.db, action="customer-unmask")] == [
        "customer-unmask"
    ]

    await sup.goto(f"{center.base_url}/customers/{center.customer_id}")
    await sup.wait_for_selector(f"#card-name:has-text('{CUSTOMER_NAME}')")
    await sup.fill("#merge-other", str(duplicate))
    sup.once("dialog", lambda dialog: dialog.accept())
    await sup.click("#merge-submit")
    await sup.wait_for_selector("#card-phones:has-text('+8613700000009')")
    async with center.db.read() as session:
        assert await session.scalar(select(Customer).where(Customer.id == duplicate)) is None

    await sup.fill("#nt-subject", "上门修光猫")
    await sup.select_option("#nt-kind", "field_dispatch")
    await sup.click("#nt-submit")
    await sup.wait_for_url("**/tickets/*")
    ticket_id = int(sup.url.rsplit("/", 1)[1])

    await sup.goto(center.base_url + "/tickets")
    await sup.fill("#team-name", "field-east")
    await sup.select_option("#team-kind", "field")
    await sup.fill("#team-members", "tech1")
    await sup.click("#team-save")
    await sup.wait_for_selector("#team-table tr[data-team='field-east']")
    await sup.select_option("#f-view", "all")
    await sup.wait_for_selector(f"tr.ticket-row[data-id='{ticket_id}']")
    await sup.screenshot(path=str(ARTIFACTS / "tickets-list.png"), full_page=True)

    await sup.goto(f"{center.base_url}/tickets/{ticket_id}")
    await sup.fill("#dispatch-team", "field-east")
    await sup.fill("#dispatch-note", "今日上门")
    await sup.click("#dispatch-submit")
    await sup.wait_for_selector("#tk-nodes li.current[data-node='assigned']")
    await sup.wait_for_selector("#tk-steps tr[data-action='assigned']")

    tech = await _page(browser, 390, 844)  # a phone
    await log_in(tech, center.base_url, "tech1")
    assert tech.url.endswith("/field")
    item = tech.locator(f"li.field-item[data-id='{ticket_id}']")
    await item.click()
    await tech.wait_for_selector("#ft-phones a.tel")
    await tech.click("#ft-start")
    await tech.wait_for_selector("#ft-node:has-text('处理')")
    await tech.fill("#ft-note", "更换光猫，已恢复")
    await tech.click("#ft-resolve")
    await tech.wait_for_selector("#ft-node:has-text('回访')")
    await tech.screenshot(path=str(ARTIFACTS / "field-ticket.png"), full_page=True)

    agent = await _page(browser)
    await log_in(agent, center.base_url, "agent1001")
    await agent.goto(f"{center.base_url}/tickets/{ticket_id}")
    await agent.wait_for_selector("#tk-nodes li.current[data-node='resolved']")
    await agent.click("#close-submit")
    await agent.wait_for_selector("#tk-error:not(:empty)")  # no score yet: it cannot close
    await agent.select_option("#follow-up-score", "5")
    await agent.click("#follow-up-submit")
    await agent.wait_for_selector("#tk-satisfaction:has-text('5')")
    await agent.click("#close-submit")
    await agent.wait_for_selector("#tk-nodes li.current[data-node='closed']")
    await agent.wait_for_selector("#reopen-form:not([hidden])")
    await agent.screenshot(path=str(ARTIFACTS / "ticket-closed.png"), full_page=True)

    await agent.goto(f"{center.base_url}/customers/{center.customer_id}")
    await agent.wait_for_selector("#timeline li[data-kind='ticket']:has-text('关闭')")
    await agent.wait_for_selector("#past-tickets li")
    await agent.screenshot(path=str(ARTIFACTS / "customer-page.png"), full_page=True)


async def test_the_pop_of_an_unknown_caller_links_to_the_create_form_with_the_number(center: Stack, browser):
    context = await browser.new_context(viewport={"width": 1366, "height": 900})
    page = await context.new_page()
    await log_in(page, center.base_url, "agent1001")
    await page.goto(center.base_url + "/agent")
    await page.wait_for_selector("#no-call")
    center.ring("b1", caller="13912345678")
    link = page.locator("article.pop[data-call='b1'] a.create-customer")
    await link.wait_for()
    async with context.expect_page() as opened:
        await link.click()
    form = await opened.value
    await form.wait_for_selector("#customer-create:not([hidden])")
    assert (await form.input_value("#new-phones")).endswith("13912345678")
    assert await page.locator("article.pop[data-call='b1']").count() == 1  # the desktop stayed
