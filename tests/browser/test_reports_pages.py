"""The report pages in Debian's chromium: every standard report with data, the custom builder from
definition to scheduled report, and an agent who sees only their own assessment."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm import contacts, offers, tickets
from crm.kinds import Channel, OfferOutcome, Role, TicketKind
from crm.reporting.facts import HoldbackFact, HoldbackSource, IvrSessionFact, LegOutcome, record_facts
from crm.sla import ChinaWorkCalendar
from tests.agent_api.stack import Stack, login
from tests.agent_api.test_reports_api import FACTS, SHANGHAI, add_account, leg, local
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

RANGE = "from=2026-11-16&to=2026-11-20"
STANDARD = (
    "queue_performance",
    "agent_performance",
    "marketing_detail",
    "campaign_resources",
    "service_loop",
    "ivr_paths",
    "abandon_analysis",
)


def ivr(call_id: str, at: tuple[int, int], nodes: tuple[str, ...], outcome: str, **more) -> IvrSessionFact:  # type: ignore[no-untyped-def]
    start = local(*at)
    return IvrSessionFact(
        call_id=call_id, started_at=start, ended_at=start, nodes=nodes, outcome=outcome, **more
    )


async def seed_everything(stack: Stack) -> None:
    """A day of a small center: calls in two queues, IVR paths, offers, contacts and tickets."""
    more = [
        leg("c5", "support", (11, 0), LegOutcome.ABANDONED, wait_s=95, position=1, original_position=4),
        leg("c6", "support", (11, 30), LegOutcome.ANSWERED, agent="agent1002", wait_s=8, talk_s=310,
            within_sl=True),
        leg("c7", "sales", (15, 10), LegOutcome.ABANDONED, wait_s=20, position=1, original_position=1),
        ivr("c1", (8, 59), ("main", "support"), "queued", queue="support"),
        ivr("c8", (10, 0), ("main", "balance"), "self-service", self_service=True),
        ivr("c9", (10, 5), ("main",), "hangup"),
        HoldbackFact(local(9, 0), HoldbackSource.GATE, "threshold-reached", call_id="c2", agent="agent1002"),
        HoldbackFact(local(14, 0), HoldbackSource.RULE, "frequency-cap", call_id="c4", agent="agent1001",
                     customer_id=stack.customer_id, campaign_id=stack.campaign_id),
    ]  # fmt: skip
    await record_facts(stack.db, [*FACTS, *more], tz=SHANGHAI)
    for hour, agent, outcome in (
        (9, "agent1001", OfferOutcome.ACCEPTED),
        (14, "agent1001", OfferOutcome.DECLINED),
    ):
        contact = await contacts.record_contact(
            stack.db,
            contacts.NewContact(
                stack.customer_id, Channel.CALL_IN, at=local(hour, 2), agent=agent, queue="support",
                campaign_id=stack.campaign_id, disposition="offer",
            ),
        )  # fmt: skip
        await offers.record_presentation(
            stack.db, stack.campaign_id, stack.customer_id, Channel.CALL_IN,
            agent=agent, contact_id=contact, outcome=outcome, now=local(hour, 2),
        )  # fmt: skip
    calendar = ChinaWorkCalendar()
    for hour, kind, assignee, closes in (
        (9, TicketKind.COMPLAINT, "agent1001", True),
        (10, TicketKind.SERVICE_REQUEST, "agent1002", False),
    ):
        ref = await tickets.open_ticket(
            stack.db,
            tickets.NewTicket(stack.customer_id, kind, "宽带断网", opened_by="agent1001", assignee=assignee),
            calendar=calendar,
            now=local(hour, 10),
            tz=SHANGHAI,
        )
        if closes:
            await tickets.record_evaluation(stack.db, ref.id, 5, now=local(hour + 2, 0))
            await tickets.close_ticket(stack.db, ref.id, actor=assignee, now=local(hour + 3, 0))


async def log_in(page, base_url: str, username: str) -> None:  # type: ignore[no-untyped-def]
    await page.goto(base_url + "/login")
    await page.fill("#username", username)
    await page.fill("#password", "demo")
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: "/login" not in url)


def cell(page, column: str, row_text: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#report-table tbody tr:has(td:text-is('{row_text}')) td[data-col='{column}']")


@pytest.fixture
async def center(tmp_path: Path):  # type: ignore[no-untyped-def]
    stack = await Stack(tmp_path).start()
    try:
        await seed_everything(stack)
        await add_account(stack, "ana", Role.ANALYST)
        yield stack
    finally:
        await stack.stop()


async def test_a_supervisor_opens_every_standard_report_with_its_figures_and_chart(center: Stack, browser):
    page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
    page.set_default_timeout(10_000)
    await log_in(page, center.base_url, "supervisor")
    for name in STANDARD:
        await page.goto(f"{center.base_url}/reports/{name}?{RANGE}")
        await page.wait_for_selector("#report-result svg.report-chart")
        assert await page.locator("#report-table tbody tr").count() >= 1, name
        assert await page.locator("#report-table td.empty").count() == 0, f"{name} shows no data"
        await page.screenshot(path=str(ARTIFACTS / f"report-{name}.png"), full_page=True)
    await page.goto(f"{center.base_url}/reports/queue_performance?{RANGE}&grain=day")
    assert await cell(page, "offered", "support").text_content() == "5"
    assert await cell(page, "abandoned", "support").text_content() == "2"
    assert await cell(page, "longest_wait", "support").text_content() == "1:35"
    assert await page.locator("#report-table tfoot td[data-col='offered']").text_content() == "7"
    await page.select_option("#f-grain", "hour")
    await page.click("#f-run")
    await page.wait_for_url(lambda url: "grain=hour" in url)
    # one row per queue and hour with calls: support 9h and 11h, sales 14h and 15h
    assert await page.locator("#report-table tbody tr").count() == 4
    await page.screenshot(path=str(ARTIFACTS / "report-queue_performance-hour.png"), full_page=True)
    async with page.expect_download() as download_info:
        await page.click("#export-csv")
    download = await download_info.value
    text = (await download.path()).read_bytes().decode("utf-8-sig")
    assert "support" in text and "合计" in text
    await page.click("header nav a[href='/reports']")
    await page.wait_for_selector("#standard-reports .report-card")
    assert await page.locator("#standard-reports .report-card").count() == len(STANDARD)
    await page.screenshot(path=str(ARTIFACTS / "reports-index.png"), full_page=True)


async def test_the_report_table_scrolls_inside_its_card_on_a_tablet(center: Stack, browser):
    page = await (await browser.new_context(viewport={"width": 768, "height": 1024})).new_page()
    page.set_default_timeout(10_000)
    await log_in(page, center.base_url, "supervisor")
    await page.goto(f"{center.base_url}/reports/agent_performance?{RANGE}")
    await page.wait_for_selector("#report-table")
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.querySelector('.table-scroll').clientWidth,"
        " document.querySelector('#report-table').scrollWidth]"
    )
    assert widths[0] <= 768, widths  # the page itself does not scroll sideways
    assert widths[2] > widths[1], widths  # the wide table scrolls inside its card
    await page.screenshot(path=str(ARTIFACTS / "report-agent_performance-tablet.png"), full_page=True)


async def test_an_analyst_defines_runs_exports_and_schedules_a_custom_report(center: Stack, browser):
    page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
    page.set_default_timeout(10_000)
    await log_in(page, center.base_url, "ana")
    await page.goto(center.base_url + "/reports/custom")
    await page.wait_for_selector("#builder[data-ready='yes']")
    await page.select_option("#c-source", "calls")
    await page.fill("#c-from", "2026-11-16")
    await page.fill("#c-to", "2026-11-16")
    await page.select_option("#c-grain", "")
    await page.check(".c-dim[value='queue']")
    await page.click("#c-add-measure")
    measure = page.locator("#c-measures .measure").nth(1)
    await measure.locator(".m-fn").select_option("avg")
    await measure.locator(".m-field").select_option("wait_s")
    await page.click("#c-run")
    await page.wait_for_selector("#c-result #report-table tbody tr")
    assert await cell(page, "count", "support").text_content() == "5"
    assert await cell(page, "avg_wait_s", "sales").text_content() == "0:13"  # (5 + 20) / 2
    assert await page.locator("#c-result svg.report-chart rect").count() >= 2
    await page.screenshot(path=str(ARTIFACTS / "report-custom-builder.png"), full_page=True)
    await page.click("#c-add-filter")
    condition = page.locator("#c-filters .filter").first
    await condition.locator(".f-field").select_option("outcome")
    assert await condition.locator(".f-op").input_value() == "eq"
    await condition.locator(".f-value").fill("abandoned")
    await page.click("#c-run")
    await page.wait_for_selector("#c-result tr:has(td:text-is('support')) td[data-col='count']:text-is('2')")
    assert await cell(page, "count", "sales").text_content() == "1"
    await condition.locator(".remove").click()

    async with page.expect_download() as download_info:
        await page.click("#c-export-csv")
    download = await download_info.value
    lines = (await download.path()).read_bytes().decode("utf-8-sig").splitlines()
    assert lines[0].startswith("队列,计数,平均 等待时长")
    assert sorted(line.split(",")[:2] for line in lines[1:]) == [["sales", "2"], ["support", "5"]]

    await page.fill("#s-name", "队列来电与等待")
    await page.check(".s-role[value='supervisor']")
    await page.select_option("#s-kind", "daily")
    await page.fill("#s-hour", "8")
    await page.fill("#s-recipients", "boss@example.com")
    await page.click("#s-save")
    await page.wait_for_selector("#s-result:has-text('#')")
    saved_id = int(await page.get_attribute("#builder", "data-saved"))
    csrf = await login(center.client, "supervisor")
    stored = await (await center.client.get(f"/api/reports/saved/{saved_id}")).json()
    assert stored["schedule"] == {
        "kind": "daily",
        "weekday": None,
        "hour": 8,
        "recipients": ["boss@example.com"],
    }
    assert stored["shared_roles"] == ["supervisor"] and stored["owner"] == "ana"
    assert stored["definition"]["dimensions"] == [{"field": "queue"}]
    await center.client.delete("/api/session", headers={"X-CSRF-Token": csrf})

    await page.goto(center.base_url + "/reports")
    await page.click(f"#saved-reports tr[data-saved='{saved_id}'] a")
    await page.wait_for_selector("#c-result #report-table tbody tr")
    assert await cell(page, "count", "support").text_content() == "5"
    await page.screenshot(path=str(ARTIFACTS / "report-custom-saved.png"), full_page=True)


async def test_an_agent_sees_only_their_own_assessment(center: Stack, browser):
    page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
    page.set_default_timeout(10_000)
    await log_in(page, center.base_url, "agent1001")
    await page.goto(center.base_url + "/reports")
    cards = page.locator("#standard-reports .report-card")
    assert await cards.count() == 1
    assert await cards.get_attribute("data-report") == "agent_performance"
    assert await page.locator("#saved-reports").count() == 0
    await cards.click()
    await page.wait_for_selector("#report-table")
    await page.goto(f"{center.base_url}/reports/agent_performance?{RANGE}&agent=agent1002")
    agents = await page.locator("#report-table tbody td[data-col='agent']").all_text_contents()
    assert agents == ["agent1001"]
    assert await page.locator("#f-agent").count() == 0
    await page.screenshot(path=str(ARTIFACTS / "report-agent-own.png"), full_page=True)
    response = await page.goto(f"{center.base_url}/reports/queue_performance")
    assert response is not None and response.status == 403


async def test_a_long_report_reads_a_page_at_a_time_with_queues_and_agents_to_pick(
    center: Stack, browser, monkeypatch
):
    import agent_api.reports.pages as report_pages

    monkeypatch.setattr(report_pages, "STANDARD_PAGE_ROWS", 2)
    page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
    await log_in(page, center.base_url, "supervisor")
    await page.goto(f"{center.base_url}/reports/queue_performance?{RANGE}&grain=hour")
    assert await page.locator("#report-table tbody tr").count() == 2
    info = await page.locator("#std-page-info").text_content()
    assert info.startswith("1 / ")
    await page.click("#std-next")
    await page.wait_for_selector("#std-pager[data-page='2']")
    assert await page.locator("#f-grain").input_value() == "hour"  # the filters carry on
    queues = await page.locator("#f-queue option").evaluate_all("os => os.map(o => o.value)")
    assert queues == ["", "sales", "support"]
    await page.select_option("#f-queue", "support")
    await page.click("#f-run")
    await page.wait_for_selector("#report-table")
    assert "queue=support" in page.url


async def test_a_filter_that_is_not_right_is_said_in_chinese(center: Stack, browser):
    page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
    await log_in(page, center.base_url, "supervisor")
    await page.goto(f"{center.base_url}/reports/queue_performance?from=2026-13-45")
    error = await page.locator("#report-error").text_content()
    assert error == "筛选条件不正确：开始日期"


async def test_a_yes_no_field_is_filtered_by_picking_yes_or_no(center: Stack, browser):
    page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
    await log_in(page, center.base_url, "ana")
    await page.goto(center.base_url + "/reports/custom")
    await page.wait_for_selector("#builder[data-ready='yes']")
    flags = await page.evaluate(
        "async () => (await H.api('GET', '/api/reports/catalog')).sources"
        ".flatMap(s => s.fields.filter(f => f.flag && f.filter).map(f => [s.name, f.name]))"
    )
    assert flags, "the catalog names its yes/no fields"
    source, field = flags[0]
    await page.select_option("#c-source", source)
    await page.click("#c-add-filter")
    row = page.locator("#c-filters .filter").last
    await row.locator(".f-field").select_option(field)
    assert await row.locator(".f-value").is_hidden()
    await row.locator(".f-flag").select_option("false")
    assert await row.locator(".f-value").input_value() == "false"
