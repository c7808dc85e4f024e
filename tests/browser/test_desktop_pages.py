"""The agent and supervisor pages in chromium: ticket update from the wrap-up, transfer targets,
click-to-dial shown as outbound, the recording pause kept over a reload, the load conditions, and
the layout at 1366×768 and on a 768×1024 tablet (nothing wider than the screen)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import select

import tests.agent_api.stack as stack_module
from acd.gate import MarketingPolicy
from agent_api.app import build_app
from agent_api.recordings.service import Recordings
from crm import campaigns
from crm import recordings as index
from crm.db import Database
from crm.kinds import CampaignKind, CampaignStatus, Channel, QuestionKind, TicketKind
from crm.models import Answer, OfferPresentation, Ticket
from crm.tickets import NewTicket
from cti.events import CallAnswered, CallRinging
from cti.switch import OriginateResult
from tests.agent_api.stack import CUSTOMER_NAME, Stack, login
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


async def _page(browser: Any, base: str, user: str, viewport: dict[str, int], *, live: bool = True) -> Any:
    page = await (await browser.new_context(viewport=viewport)).new_page()
    await page.goto(base + "/login")
    await page.fill("#username", user)
    await page.fill("#password", "demo")
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: "/login" not in url)
    if live:  # the pages with a socket
        await page.wait_for_selector("#ws-status.ok")
    return page


async def _agent_ready(browser: Any, stack: Stack, viewport: dict[str, int] = DESKTOP) -> Any:
    page = await _page(browser, stack.base_url, "agent1001", viewport)
    await page.click("#btn-login")
    await page.wait_for_selector('#agent-state[data-state="available"]')
    return page


async def test_the_wrap_up_updates_and_resolves_a_ticket_the_pop_showed(tmp_path, browser):
    stack = await Stack(tmp_path).start()
    try:
        ref = await stack.crm.open_ticket(
            NewTicket(stack.customer_id, TicketKind.SERVICE_REQUEST, "宽带断线", opened_by="agent1002")
        )
        page = await _agent_ready(browser, stack)
        stack.ring("t1")
        shown = page.locator(f"article.pop[data-call='t1'] .tickets li:has-text('{ref.number}')")
        assert "(待处理, 时限内)" in (await shown.text_content() or "")  # status and SLA in words
        stack.hang_up("t1")
        await page.wait_for_selector("#wrapup:not([hidden]) #ticket-update:not([hidden])")
        await page.check("#update-ticket")
        assert await page.locator("#update-ticket-id option").all_text_contents() == [
            f"{ref.number} 宽带断线"
        ]
        await page.fill("#update-note", "重启光猫后恢复")
        await page.check("#update-resolve")
        await page.check("#new-ticket")  # one ticket per wrap-up: choosing a new one drops the update
        assert not await page.is_checked("#update-ticket")
        await page.check("#update-ticket")
        assert not await page.is_checked("#new-ticket")
        await page.click("#wrapup-save")
        await page.wait_for_selector(f"#agent-note:has-text('{ref.number}')")
        async with stack.db.read() as session:
            ticket = await session.scalar(select(Ticket).where(Ticket.id == ref.id))
        assert ticket is not None and ticket.status == "resolved"
    finally:
        await stack.stop()


async def test_transfer_targets_follow_the_kind_and_reach_the_switch(tmp_path, browser):
    stack = await Stack(tmp_path).start()
    try:
        page = await _agent_ready(browser, stack)
        agents = await page.locator("#transfer-agents option").evaluate_all("os => os.map(o => o.value)")
        assert agents == ["1002"]  # not the agent themselves
        assert await page.locator("#transfer-queues option").evaluate_all("os => os.map(o => o.value)") == [
            "sales",
            "support",
        ]
        assert await page.locator("#pause-reason option").evaluate_all("os => os.map(o => o.value)") == [
            "break",  # in the order the pause reasons are administered in
            "lunch",
            "training",
            "meeting",
        ]
        stack.ring("x1")
        card = page.locator("article.pop[data-call='x1']")
        await card.wait_for()
        assert await card.locator("button:text-is('转接')").is_disabled()  # a ringing call is not yet ours
        stack.bus.publish(
            CallAnswered(datetime.now(UTC), "x1", "PJSIP/1001", "support", 1.0, "PJSIP/1001-01")
        )
        await page.wait_for_selector("article.pop[data-call='x1'][data-answered='true']")
        target = card.locator("input.transfer-target")
        assert await target.get_attribute("list") == "transfer-agents"
        await card.locator("select").first.select_option("queue")
        assert await target.get_attribute("list") == "transfer-queues"
        await target.fill("sales")
        async with page.expect_response(lambda r: r.url.endswith("/transfer")) as answer:
            await card.locator("button:text-is('转接')").click()
        assert (await answer.value).status == 204
        redirect = [r for r in stack.switch.requests if r[0] == "redirect"][-1]
        assert redirect[2]["context"] == "hotline-requeue"
        await card.locator("select").first.select_option("number")
        assert await target.get_attribute("list") is None
    finally:
        await stack.stop()


async def test_dialing_a_customers_number_shows_the_agent_outbound(tmp_path, browser):
    stack = await Stack(tmp_path).start()
    try:

        async def originate(**kwargs: Any) -> OriginateResult:
            stack.switch.requests.append(("originate", (), kwargs))
            now = datetime.now(UTC)
            stack.bus.publish(CallRinging(now, "o1", "PJSIP/1001", "", "PJSIP/1001-o1"))
            stack.bus.publish(CallAnswered(now, "o1", "PJSIP/1001", "", 0.0, "PJSIP/1001-o1"))
            return OriginateResult("a1", True, "PJSIP/1001")

        stack.switch.originate = originate  # type: ignore[method-assign]
        page = await _agent_ready(browser, stack)
        await page.fill("#dial-number", "13800138000")
        await page.click("#btn-dial")
        await page.wait_for_selector('#agent-state[data-state="outbound"]')
        card = page.locator("article.pop[data-call='o1']")
        await card.locator(".direction").wait_for()
        assert CUSTOMER_NAME in (await card.locator("h2").text_content() or "")
        assert await card.locator("li.offer").count() == 0
        await page.screenshot(path=str(ARTIFACTS / "agent-outbound.png"))
    finally:
        await stack.stop()


@dataclass
class PausingRecorder:
    db: Database
    requests: list[tuple[str, bool]] = field(default_factory=list)

    async def set_paused(self, call_id: str, paused: bool) -> tuple[str, ...]:
        self.requests.append((call_id, paused))
        return (f"PJSIP/trunk-{call_id}",)


async def test_a_paused_recording_is_still_shown_paused_after_a_reload(tmp_path, browser, monkeypatch):
    def with_recordings(settings, **kwargs):  # type: ignore[no-untyped-def]
        return build_app(settings, **kwargs, recordings=Recordings(PausingRecorder(kwargs["db"]), forms={}))  # type: ignore[arg-type]

    monkeypatch.setattr(stack_module, "build_app", with_recordings)
    stack = await Stack(tmp_path).start()
    try:
        page = await _agent_ready(browser, stack)
        await index.add_recording(
            stack.db,
            index.NewRecording("p1", "/spool/p1.wav", datetime.now(UTC), agent="PJSIP/1001", queue="support"),
        )
        stack.ring("p1")
        stack.bus.publish(CallAnswered(datetime.now(UTC), "p1", "PJSIP/1001", "support", 2.0))
        card = page.locator("article.pop[data-call='p1']")
        await card.locator("button.recording-toggle:text-is('暂停录音')").click()
        await card.locator(".recording-state[data-state='paused']").wait_for()
        await page.reload()
        await page.wait_for_selector("#ws-status.ok")
        await page.locator("article.pop[data-call='p1'] .recording-state[data-state='paused']").wait_for()
        assert (
            await page.locator("article.pop[data-call='p1'] button.recording-toggle").text_content()
            == "恢复录音"
        )
    finally:
        await stack.stop()


async def test_the_supervisor_sees_the_policy_in_force_and_sets_load_conditions(tmp_path, browser):
    stack = await Stack(tmp_path).start()
    try:
        stack.acd.gate.set_policy(
            MarketingPolicy("default", ("support",), max_agents=3, stop_waiting=5, resume_waiting=2)
        )
        page = await _page(browser, stack.base_url, "supervisor", DESKTOP)
        await page.click("#marketing-box summary")  # the marketing form folds away
        await expect(page.locator("#policy-max")).to_have_value("3")
        assert await page.input_value("#policy-queues") == "support"
        assert await page.input_value("#policy-resume-waiting") == "2"
        await page.fill("#policy-stop-sl", "70")
        await page.fill("#policy-resume-sl", "85")
        await page.fill("#policy-stop-longest", "60")
        await page.fill("#policy-resume-longest", "20")
        await page.click("#policy-save")
        await page.wait_for_selector("#policy-result:text-is('✓')")
        policy = stack.acd.gate.policy("default")
        assert policy is not None
        assert (policy.max_agents, policy.stop_waiting, policy.resume_waiting) == (3, 5, 2)
        assert (policy.stop_service_level, policy.resume_service_level) == (0.7, 0.85)
        assert (policy.stop_longest_wait_s, policy.resume_longest_wait_s) == (60, 20)
    finally:
        await stack.stop()


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["1366x768", "768x1024"])
async def test_the_agent_and_supervisor_pages_fit_the_screen(tmp_path, browser, viewport):
    stack = await Stack(tmp_path).start()
    try:
        stack.acd.gate.set_policy(MarketingPolicy("default", ("support",), max_agents=5))
        await stack.crm.open_ticket(
            NewTicket(stack.customer_id, TicketKind.COMPLAINT, "账单有误", opened_by="agent1002")
        )
        agent = await _agent_ready(browser, stack, viewport)
        stack.ring("w1")
        stack.bus.publish(CallAnswered(datetime.now(UTC), "w1", "PJSIP/1001", "support", 2.0))
        await agent.wait_for_selector("article.pop[data-call='w1'][data-answered]")
        stack.ring("w0")
        stack.hang_up("w0")
        await agent.wait_for_selector("#wrapup:not([hidden])")
        name = f"{viewport['width']}x{viewport['height']}"
        await agent.screenshot(path=str(ARTIFACTS / f"layout-agent-{name}.png"), full_page=True)
        assert await agent.evaluate(OVERFLOW) <= 0

        supervisor = await _page(browser, stack.base_url, "supervisor", viewport)
        await supervisor.wait_for_selector("tr[data-agent='agent1001']")
        await supervisor.screenshot(path=str(ARTIFACTS / f"layout-supervisor-{name}.png"), full_page=True)
        assert await supervisor.evaluate(OVERFLOW) <= 0
    finally:
        await stack.stop()


async def test_questionnaire_answers_are_sent_the_way_each_question_asks(tmp_path, browser):
    stack = await Stack(tmp_path).start()
    try:
        survey = await stack.crm.create_campaign(
            campaigns.NewCampaign(
                "满意度回访",
                CampaignKind.QUESTIONNAIRE,
                [Channel.CALL_IN],
                priority=5,
                questions=[
                    campaigns.NewQuestion("满意吗", QuestionKind.SINGLE, choices=("满意", "不满意")),
                    campaigns.NewQuestion(
                        "用过哪些", QuestionKind.MULTIPLE, choices=("宽带", "电视", "固话")
                    ),
                    campaigns.NewQuestion("打几分", QuestionKind.SCALE, scale_min=1, scale_max=5),
                    campaigns.NewQuestion("建议", QuestionKind.TEXT),
                ],
            )
        )
        await stack.crm.set_campaign_status(survey, CampaignStatus.ONLINE)
        stack.acd.gate.set_policy(MarketingPolicy("default", ("support",), max_agents=5))
        page = await _agent_ready(browser, stack)
        stack.ring("q1")
        await page.wait_for_selector(f"article.pop[data-call='q1'] li.offer[data-campaign='{survey}']")
        stack.hang_up("q1")
        # One outcome per offer shown, each with its own questions.
        await page.wait_for_selector("#offer-outcome:not([hidden])")
        assert await page.locator("#offer-list fieldset.offer-result").count() == 2
        mine = f"#offer-list fieldset.offer-result[data-campaign='{survey}']"
        other = f"#offer-list fieldset.offer-result[data-campaign='{stack.campaign_id}']"
        await page.select_option(f"{mine} select.outcome", "accepted")
        await page.select_option(f"{other} select.outcome", "declined")
        await page.select_option(f"{mine} .questions select", "满意")
        await page.check(f"{mine} .questions fieldset label:has-text('宽带') input")
        await page.check(f"{mine} .questions fieldset label:has-text('固话') input")
        await page.fill(f"{mine} .questions input[type='number']", "4")
        await page.fill(f"{mine} .questions input[data-kind='text']", "网速再快些")
        await page.screenshot(path=str(ARTIFACTS / "agent-questionnaire.png"), full_page=True)
        await page.click("#wrapup-save")
        await page.wait_for_selector("#agent-note:has-text('已保存')")
        async with stack.db.read() as session:
            answers = (await session.scalars(select(Answer).order_by(Answer.question_id))).all()
        got = [(a.value_text, a.value_number, a.value_choices) for a in answers]
        assert got == [
            ("满意", None, None),
            (None, None, ["宽带", "固话"]),
            (None, 4, None),
            ("网速再快些", None, None),
        ]
        async with stack.db.read() as session:
            outcomes = (
                await session.execute(select(OfferPresentation.campaign_id, OfferPresentation.outcome))
            ).all()
        assert sorted(outcomes) == sorted([(survey, "accepted"), (stack.campaign_id, "declined")])
    finally:
        await stack.stop()


async def test_a_wrap_up_being_filled_in_is_not_replaced_by_the_next_call(tmp_path, browser):
    stack = await Stack(tmp_path).start()
    try:
        page = await _agent_ready(browser, stack)
        stack.ring("a1")
        await page.wait_for_selector("article.pop[data-call='a1']")
        stack.hang_up("a1")
        await page.wait_for_selector("#wrapup[data-call='a1']:not([hidden])")
        await page.fill("#notes", "客户咨询账单")
        stack.ring("a2", caller="13911112222")
        await page.wait_for_selector("article.pop[data-call='a2']")
        stack.hang_up("a2")
        await page.wait_for_selector("#wrapup[data-call='a1'] #wrapup-call:has-text('1')")
        assert await page.input_value("#notes") == "客户咨询账单"
        await page.click("#wrapup-save")
        await page.wait_for_selector(f"#agent-note:has-text('{CUSTOMER_NAME}')")
        await page.wait_for_selector("#wrapup[data-call='a2']:not([hidden])")
        assert await page.input_value("#notes") == ""
        await page.reload()  # what is left to wrap up comes back after a reload
        await page.wait_for_selector("#wrapup[data-call='a2']:not([hidden])")
        await page.click("#wrapup-save")
        await page.wait_for_selector("#agent-note:has-text('13911112222')")
        assert await page.locator("#wrapup").is_hidden()
    finally:
        await stack.stop()


async def test_an_admin_gives_a_user_several_roles(tmp_path, browser):
    stack = await Stack(tmp_path).start()
    try:
        page = await _page(browser, stack.base_url, "admin", TABLET, live=False)
        await page.click("#users tr:has-text('agent1001')")
        assert await page.is_checked("#edit-roles input[value='agent']")
        assert not await page.is_checked("#edit-roles input[value='supervisor']")
        await page.check("#edit-roles input[value='supervisor']")  # a team leader who takes calls
        await page.click("#user-edit-form button")
        await page.wait_for_selector("#users tr:has-text('agent1001') td:text-is('坐席, 班长')")
        await page.fill("#new-username", "wang.fang")
        await page.fill("#new-password", "a-long-password")
        await page.uncheck("#new-roles input[value='agent']")
        await page.check("#new-roles input[value='analyst']")
        await page.click("#user-form button")
        await page.wait_for_selector("#users tr:has-text('wang.fang') td:text-is('分析员')")
        assert await page.evaluate(OVERFLOW) <= 0
        await page.screenshot(path=str(ARTIFACTS / "admin-roles-tablet.png"), full_page=True)
    finally:
        await stack.stop()


async def test_the_supervisor_force_pauses_an_agent_with_the_chosen_reason(tmp_path, browser):
    stack = await Stack(tmp_path).start()
    try:
        csrf = await login(stack.client, "agent1001")
        await stack.client.post("/api/agent/login", json={}, headers={"X-CSRF-Token": csrf})
        page = await _page(browser, stack.base_url, "supervisor", TABLET)
        row = page.locator("tr[data-agent='agent1001']")
        await row.wait_for()
        await page.select_option("#force-reason", "training")
        async with page.expect_response(lambda r: r.url.endswith("/agent1001/pause")) as answer:
            await row.locator("button:text-is('强制小休')").click()
        assert (await answer.value).status == 204
        record = stack.acd.states.get("agent1001")
        assert (str(record.state), record.reason) == ("paused", "training")
    finally:
        await stack.stop()


async def test_a_disabled_agents_page_goes_back_to_the_login_form(tmp_path, browser):
    stack = await Stack(tmp_path).start()
    try:
        page = await _agent_ready(browser, stack)
        csrf = await login(stack.client, "admin")
        off = await stack.client.patch(
            "/api/admin/users/agent1001", json={"enabled": False}, headers={"X-CSRF-Token": csrf}
        )
        assert off.status == 200
        await page.wait_for_url(lambda url: url.endswith("/login?why=session-ended"))
        assert str(stack.acd.states.get("agent1001").state) == "logged-out"
    finally:
        await stack.stop()
