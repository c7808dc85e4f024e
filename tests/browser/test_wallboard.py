"""The wallboard in Debian's chromium: centre totals, waiting callers, alerts past the service-level
time, state colours and counts, an empty queue with no service level, listen with a plain result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from acd.models import WaitingCall
from cti.events import CallAnswered, CallQueued
from cti.switch import OriginateResult
from tests.agent_api.stack import Stack
from tests.browser.conftest import ARGS, ARTIFACTS, CHROMIUM, HAVE_CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
SCREEN = {"width": 1366, "height": 768}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def board(tmp_path_factory) -> Any:
    """One server with agent1001 on a call and a VIP caller waiting 40 s in sales, and the
    supervisor's wallboard open at 1366×768."""
    if not HAVE_CHROMIUM:
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    playwright_api = pytest.importorskip("playwright.async_api")
    stack = await Stack(tmp_path_factory.mktemp("board")).start()
    await stack.acd.login("agent1001")
    await stack.acd.login("agent1002")
    now = datetime.now(UTC)
    await stack.acd.handle(CallAnswered(now, "a1", "PJSIP/1001", "support", 3.0, "PJSIP/1001-1"))
    queued_at = now - timedelta(seconds=40)
    await stack.acd.call_waiting(
        WaitingCall("v1", "PJSIP/trunk-v1", "sales", priority=5, caller="13800138000", queued_at=queued_at)
    )
    await stack.acd.handle(CallQueued(queued_at, "v1", "sales", 1, 5))
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        page = await (await browser.new_context(viewport=SCREEN)).new_page()
        await page.goto(stack.base_url + "/login")
        await page.fill("#username", "supervisor")
        await page.fill("#password", "demo")
        await page.click("#login-submit")
        await page.wait_for_selector("tr[data-agent='agent1001']")
        yield stack, page
        await browser.close()
    await stack.stop()


async def test_the_board_shows_centre_totals_waiting_callers_and_state_counts(board):
    _, page = board
    await page.wait_for_selector("#waiting-calls tr[data-call='v1'] .vip")
    assert await page.locator("#t-waiting").text_content() == "1"
    assert await page.locator("#waiting-calls tr[data-call='v1'] td").nth(3).text_content() == "…8000"
    assert await page.locator(".state-count[data-state='on-call']").text_content() == "通话中 1"
    assert await page.locator(".state-count[data-state='available']").text_content() == "空闲 1"
    assert await page.locator("#no-callbacks").is_visible()
    note = await page.locator("#sl-note").text_content()
    assert "20 秒内" in note and "30 分钟" in note
    await page.screenshot(path=str(ARTIFACTS / "wallboard.png"))


async def test_an_empty_queue_shows_no_service_level_rather_than_100_percent(board):
    _, page = board
    sl = page.locator("#queues tr[data-queue='support'] td.sl")
    assert await sl.text_content() == "—"
    assert "good" not in (await sl.get_attribute("class"))
    assert await page.locator("#t-sl").text_content() == "—"


async def test_a_caller_waiting_past_the_service_level_time_raises_an_alert(board):
    _, page = board
    await page.wait_for_selector("#alerts .alert:has-text('sales')")
    assert await page.locator("#queues tr[data-queue='sales']").get_attribute("class") == "alerting"
    assert await page.locator("[data-tile='longest']").get_attribute("class") == "tile alerting"


async def test_listen_is_offered_only_on_a_call_and_its_result_is_shown(board):
    stack, page = board
    assert await page.locator("tr[data-agent='agent1002'] button.spy").first.is_disabled()

    async def no_answer(supervisor, agent_extension, mode, **kwargs):
        return OriginateResult(action_id="s9", success=False, reason="3")

    stack.switch.spy = no_answer  # type: ignore[method-assign]
    await page.click("tr[data-agent='agent1001'] button.spy[data-mode='listen']")
    await page.wait_for_selector("#spy-status.error:has-text('未接听')")
    await page.screenshot(path=str(ARTIFACTS / "wallboard-spy-no-answer.png"))


async def test_the_marketing_form_is_folded_until_asked_for(board):
    _, page = board
    assert await page.locator("#policy-form").is_hidden()
    await page.click("#marketing-box summary")
    assert await page.locator("#policy-form").is_visible()
