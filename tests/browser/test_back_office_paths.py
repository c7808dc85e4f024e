"""The back office's two whole paths in Debian's chromium, each role on its own page, one server
for the module: a caller unknown to the center is made a customer from the pop during the call,
gets a ticket at wrap-up that is dispatched, handled, followed up and closed within the SLA, and
the service-loop report counts it; a campaign made on the campaigns page and put online reaches
the pop of the caller it targets and not another's, is held back by a frequency cap and by quiet
hours while they apply, and the outcomes chosen at wrap-up show in the marketing report. And the
notices around them: a customer's subscriptions ticked on their page, and the outbox page where a
supervisor sees each mail and SMS with its receipt and sends a failed one again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from acd.gate import MarketingPolicy
from crm import customers, notices
from crm.kinds import Channel, NoticeTopic, Role
from crm.sms import Delivery, SmsReceiptRow
from tests.agent_api.stack import CUSTOMER_PHONE, Stack
from tests.agent_api.test_reports_api import add_account
from tests.browser.conftest import ARGS, ARTIFACTS, CHROMIUM, HAVE_CHROMIUM, until_true

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
SCREEN = {"width": 1366, "height": 768}
UNKNOWN_CALLER = "13912340000"
NOT_TARGETED = "13900139000"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def center(tmp_path_factory) -> Any:
    """One server and chromium; agent1001's desktop on duty, taking the module's calls."""
    if not HAVE_CHROMIUM:
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    playwright_api = pytest.importorskip("playwright.async_api")
    stack = await Stack(tmp_path_factory.mktemp("back-office")).start()
    try:
        await customers.create_customer(
            stack.db, customers.NewCustomer("李娜", phones=[NOT_TARGETED], consent_marketing=True)
        )
        await add_account(stack, "agent1002", Role.AGENT)
        stack.acd.gate.set_policy(MarketingPolicy("default", ("support",), max_agents=5))
        async with playwright_api.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
            try:
                context = await browser.new_context(viewport=SCREEN)
                desk = await context.new_page()
                desk.set_default_timeout(10_000)
                await log_in(desk, stack.base_url, "agent1001")
                await desk.click("#btn-login")
                await desk.wait_for_selector('#agent-state[data-state="available"]')
                await desk.wait_for_selector("#ws-status.ok")
                yield stack, browser, context, desk
            finally:
                await browser.close()
    finally:
        await stack.stop()


async def log_in(page: Any, base: str, username: str) -> None:
    await page.goto(base + "/login")
    await page.fill("#username", username)
    await page.fill("#password", "demo")
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: "/login" not in url)


async def page_of(browser: Any, base: str, username: str) -> Any:
    page = await (await browser.new_context(viewport=SCREEN)).new_page()
    page.set_default_timeout(10_000)
    await log_in(page, base, username)
    return page


def today() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


async def test_a_caller_made_a_customer_from_the_pop_gets_a_ticket_closed_in_the_loop_and_reported(center):
    stack, browser, context, desk = center
    base = stack.base_url
    stack.ring("pa1", caller=UNKNOWN_CALLER)
    link = desk.locator("article.pop[data-call='pa1'] a.create-customer")
    async with context.expect_page() as opened:
        await link.click()
    form = await opened.value
    await form.wait_for_selector("#customer-create:not([hidden])")
    assert (await form.input_value("#new-phones")).endswith(UNKNOWN_CALLER)
    await form.fill("#new-name", "赵敏")
    await form.click("#create-submit")
    await form.wait_for_url("**/customers/*")
    await form.wait_for_selector("#card-name:has-text('赵敏')")
    customer_id = int(form.url.rsplit("/", 1)[1])

    stack.hang_up("pa1")
    await desk.wait_for_selector("#wrapup:not([hidden])")
    await desk.select_option("#disposition", "follow_up")
    await desk.check("#new-ticket")
    await desk.select_option("#ticket-kind", "service_request")
    await desk.fill("#ticket-subject", "宽带无信号")
    await desk.fill("#notes", "客户来电报修")
    await desk.click("#wrapup-save")
    await desk.wait_for_selector("#wrapup", state="hidden")

    await form.reload()
    ticket_link = form.locator("#open-tickets li a")
    await ticket_link.wait_for()
    assert await form.locator("#open-tickets li").count() == 1
    ticket_id = int((await ticket_link.get_attribute("href")).rsplit("/", 1)[1])

    supervisor = await page_of(browser, base, "supervisor")
    await supervisor.goto(f"{base}/tickets/{ticket_id}")
    await supervisor.wait_for_selector("#tk-subject:has-text('宽带无信号')")
    assert await supervisor.text_content("#tk-customer") == "赵敏"
    await supervisor.fill("#dispatch-assignee", "agent1002")
    await supervisor.fill("#dispatch-note", "请今日处理")
    await supervisor.click("#dispatch-submit")
    await supervisor.wait_for_selector("#tk-nodes li.current[data-node='assigned']")

    handler = await page_of(browser, base, "agent1002")
    await handler.goto(f"{base}/tickets/{ticket_id}")
    await handler.click("#start-submit")
    await handler.wait_for_selector("#tk-nodes li.current[data-node='in_progress']")
    await handler.fill("#resolve-note", "远程重置光猫，已恢复")
    await handler.click("#resolve-submit")
    await handler.wait_for_selector("#tk-nodes li.current[data-node='resolved']")

    await form.goto(f"{base}/tickets/{ticket_id}")  # the agent who took the call follows up
    await form.select_option("#follow-up-score", "4")
    await form.fill("#follow-up-note", "客户确认已恢复")
    await form.click("#follow-up-submit")
    await form.wait_for_selector("#tk-satisfaction:has-text('4')")
    await form.click("#close-submit")
    await form.wait_for_selector("#tk-nodes li.current[data-node='closed']")
    assert await form.get_attribute("#tk-sla", "class") == "sla-met"  # closed within the SLA
    actions = await form.locator("#tk-steps tr[data-action]").evaluate_all(
        "rows => rows.map(r => r.dataset.action)"
    )
    assert actions == ["opened", "assigned", "started", "resolved", "followed_up", "closed"]
    followed_up = await form.text_content("#tk-steps tr[data-action='followed_up']")
    assert "满意度 4 · 客户确认已恢复" in followed_up and "satisfaction" not in followed_up
    await form.screenshot(path=str(ARTIFACTS / "path-ticket-closed.png"), full_page=True)
    await form.goto(f"{base}/customers/{customer_id}")
    await form.wait_for_selector("#past-tickets li")

    day = today()
    await supervisor.goto(f"{base}/reports/service_loop?from={day}&to={day}")
    totals = supervisor.locator("#report-table tfoot")
    await totals.wait_for()
    for column, shown in (("opened", "1"), ("closed", "1"), ("closed_in_3_working_days", "1")):
        assert await totals.locator(f"td[data-col='{column}']").text_content() == shown, column
    assert (await totals.locator("td[data-col='satisfaction']").text_content()).startswith("4")
    await supervisor.screenshot(path=str(ARTIFACTS / "path-service-loop.png"), full_page=True)


async def call(stack: Stack, desk: Any, call_id: str, caller: str, outcome: str = "") -> list[str]:
    """A call to the desk: the campaigns its pop offers; at wrap-up each gets ``outcome``."""
    stack.ring(call_id, caller=caller)
    pop = desk.locator(f"article.pop[data-call='{call_id}']")
    await pop.wait_for()
    offered = await pop.locator("li.offer").evaluate_all("items => items.map(i => i.dataset.campaign)")
    stack.hang_up(call_id)
    await desk.wait_for_selector("#wrapup:not([hidden])")
    if outcome:
        for select in await desk.locator("fieldset.offer-result select.outcome").all():
            await select.select_option(outcome)
    await desk.click("#wrapup-save")
    await desk.wait_for_selector("#wrapup", state="hidden")
    return offered


async def switch_off(page: Any, rule: Any) -> None:
    """Unticks a contact rule's "enabled" box and waits for the server to take it."""
    async with page.expect_response(lambda r: r.request.method == "PATCH" and r.ok):
        await rule.locator("input[type=checkbox]").uncheck()


async def test_a_campaign_made_on_the_page_reaches_its_callers_within_its_rules_and_is_reported(center):
    stack, browser, _, desk = center
    base = stack.base_url
    admin = await page_of(browser, base, "admin")
    await admin.goto(base + "/campaigns")
    seeded = admin.locator(f"#campaign-list tbody tr[data-id='{stack.campaign_id}']")
    await seeded.click()
    await admin.click("#go-pause")  # only the new campaign may show
    await admin.locator('#campaign-status[data-status="paused"]').wait_for()

    await admin.click("#campaign-new")
    await admin.fill("#f-name", "金卡客户理财推荐")
    await admin.select_option("#f-kind", "marketing")
    await admin.check("#f-channels input[value='call_in']")
    await admin.fill("#f-rule", "vip_level >= 2")
    await admin.locator("#rule-check.ok").filter(has_text="1").wait_for()  # one VIP customer
    await admin.fill("#f-offer", "年化 3% 理财")
    await admin.click("#campaign-save")
    await admin.locator("#campaign-result.note").wait_for()
    await admin.click("#go-online")
    await admin.locator('#campaign-status[data-status="online"]').wait_for()
    row = admin.locator("#campaign-list tbody tr").filter(has_text="金卡客户理财推荐")
    campaign = await row.get_attribute("data-id")

    assert await call(stack, desk, "pb1", CUSTOMER_PHONE, "accepted") == [campaign]
    assert await call(stack, desk, "pb2", NOT_TARGETED) == []

    await admin.fill("#cap-name", "每月一次营销")
    await admin.fill("#cap-max", "1")
    await admin.fill("#cap-days", "30")
    await admin.select_option("#cap-purpose", "marketing")
    await admin.click("#cap-form button[type=submit]")
    cap = admin.locator("#rules tbody tr").filter(has_text="每月一次营销")
    await cap.wait_for()
    assert await call(stack, desk, "pb3", CUSTOMER_PHONE) == []  # pb1 used the month's one offer
    await switch_off(admin, cap)

    local = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    await admin.fill("#quiet-name", "免打扰")
    await admin.fill("#quiet-start", (local - timedelta(hours=1)).strftime("%H:%M"))
    await admin.fill("#quiet-end", (local + timedelta(hours=1)).strftime("%H:%M"))
    await admin.select_option("#quiet-channel", "call_in")
    await admin.click("#quiet-form button[type=submit]")
    quiet = admin.locator("#rules tbody tr").filter(has_text="免打扰")
    await quiet.wait_for()
    await admin.screenshot(path=str(ARTIFACTS / "path-campaign-rules.png"), full_page=True)
    assert await call(stack, desk, "pb4", CUSTOMER_PHONE) == []  # within the quiet hours
    await switch_off(admin, quiet)
    assert await call(stack, desk, "pb5", CUSTOMER_PHONE, "declined") == [campaign]

    day = local.date()
    await admin.goto(
        f"{base}/reports/marketing_detail?from={day - timedelta(days=1)}&to={day + timedelta(days=1)}"
        f"&campaign={campaign}"
    )
    body = admin.locator("#report-table tbody tr")
    await body.first.wait_for()
    assert await body.count() == 1
    for column, shown in (("presented", "2"), ("accepted", "1"), ("declined", "1"), ("later", "0")):
        assert await body.locator(f"td[data-col='{column}']").text_content() == shown, column
    assert await body.locator("td[data-col='campaign']").text_content() == "金卡客户理财推荐"
    await admin.screenshot(path=str(ARTIFACTS / "path-marketing-report.png"), full_page=True)


class Refusing:
    async def send(self, notice: notices.Notice) -> None:
        raise ConnectionError("550 mailbox unavailable")


async def test_a_supervisor_ticks_a_customers_notices_and_works_the_outbox(center):
    stack, browser, _, _ = center
    base = stack.base_url
    supervisor = await page_of(browser, base, "supervisor")
    await supervisor.goto(f"{base}/customers/{stack.customer_id}")
    sms = supervisor.locator("input.subscription[data-topic='ticket_progress'][data-channel='sms']")
    await sms.check()
    await supervisor.wait_for_selector("#subscriptions-result:has-text('已订阅')")
    offers = supervisor.locator("input.subscription[data-topic='offers'][data-channel='sms']")
    await offers.check()
    await supervisor.wait_for_selector("#subscriptions-result:has-text('已订阅')")
    await offers.uncheck()
    await supervisor.wait_for_selector("#subscriptions-result:has-text('已退订')")
    chosen = await notices.subscriptions_of(stack.db, stack.customer_id)
    assert [(s.topic, s.channel) for s in chosen] == [(NoticeTopic.TICKET_PROGRESS, Channel.SMS)]
    await supervisor.screenshot(path=str(ARTIFACTS / "customer-subscriptions.png"), full_page=True)

    await notices.subscribe(stack.db, stack.customer_id, NoticeTopic.DELIVERY_PROGRESS, Channel.SMS)
    for key, topic in (("T1", NoticeTopic.TICKET_PROGRESS), ("D1", NoticeTopic.DELIVERY_PROGRESS)):
        await notices.enqueue_notice(
            stack.db, stack.customer_id, topic, subject="进度", body=f"您的{key}已处理", dedupe_key=key
        )
    sent = notices.LogSender()
    await notices.deliver_due(stack.db, {Channel.SMS: sent}, batch=1)  # T1 leaves
    await notices.deliver_due(stack.db, {Channel.SMS: Refusing()}, max_attempts=1)  # D1 fails
    async with stack.db.write() as session:
        session.add(
            SmsReceiptRow(
                outbox_id=sent.sent[0].id,
                provider="aliyun",
                provider_ref="900000^0",
                delivery=Delivery.DELIVERED,
                error="",
                sent_at=datetime.now(UTC),
                reported_at=datetime.now(UTC),
            )
        )

    await supervisor.click("header nav a[href='/outbox']")
    delivered = supervisor.locator(f"#outbox-list tr[data-id='{sent.sent[0].id}']")
    await delivered.wait_for()
    assert "已送达" in await delivered.text_content()
    failed = supervisor.locator("#outbox-list tr[data-status='failed']")
    assert "550 mailbox unavailable" in await failed.text_content()
    await supervisor.screenshot(path=str(ARTIFACTS / "outbox.png"), full_page=True)
    await supervisor.select_option("#filter-status", "failed")
    await supervisor.locator("#outbox-list tbody tr").first.wait_for()
    await until_rows(supervisor, 1)
    await failed.locator("button.send-again").click()
    await supervisor.wait_for_selector("#outbox-result:has-text('已重新排队')")
    await until_rows(supervisor, 0)  # no longer failed
    await supervisor.select_option("#filter-status", "pending")
    again = supervisor.locator("#outbox-list tr[data-status='pending']")
    await again.wait_for()
    assert "由 supervisor 手动重发" in await again.text_content()

    await supervisor.goto(base + "/lang/en")
    await supervisor.goto(base + "/outbox")
    await supervisor.locator(f"#outbox-list tr[data-id='{sent.sent[0].id}']").wait_for()
    assert "Delivered" in await supervisor.text_content("#outbox-list")
    await supervisor.screenshot(path=str(ARTIFACTS / "outbox-en.png"), full_page=True)


async def until_rows(page: Any, count: int) -> None:
    await until_true(page, f"() => document.querySelectorAll('#outbox-list tbody tr').length === {count}")
