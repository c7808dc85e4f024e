"""The pages in Debian's chromium: an agent takes a call with a screen-pop and wraps up; a supervisor
lowers the marketing threshold and the next pop carries no offer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from playwright.async_api import expect

import tests.agent_api.stack as stack_module
from acd.gate import MarketingPolicy
from agent_api.app import build_app
from agent_api.recordings.service import Recordings
from crm import recordings as index
from crm.db import Database
from cti.errors import SwitchError
from cti.events import CallAnswered, CallHeld, CallResumed
from tests.agent_api.stack import CUSTOMER_NAME, Stack
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser


async def _log_in(page, base: str, username: str) -> None:
    await page.goto(base + "/login")
    await page.fill("#username", username)
    await page.fill("#password", "demo")
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: "/login" not in url)


async def _agent_on_duty(browser, base: str):
    """agent1001's desktop at 1366×768, logged in to the queues, its WebSocket connected."""
    page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
    await _log_in(page, base, "agent1001")
    await page.click("#btn-login")
    await page.wait_for_selector("#ws-status.ok")
    return page


async def test_agent_takes_a_call_wraps_up_and_the_supervisors_threshold_removes_the_offer(tmp_path, browser):
    stack = await Stack(tmp_path).start()
    try:
        stack.acd.gate.set_policy(MarketingPolicy("default", ("support",), max_agents=5))
        base = stack.base_url
        agent = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
        await _log_in(agent, base, "agent1001")
        assert agent.url.endswith("/agent")
        await agent.click("#btn-login")
        await agent.wait_for_selector('#agent-state[data-state="available"]')
        await agent.wait_for_selector("#ws-status.ok")

        stack.ring("b1")
        await agent.wait_for_selector(f"article.pop h2:has-text('{CUSTOMER_NAME}')")
        assert await agent.locator("li.offer").count() == 1
        await agent.screenshot(path=str(ARTIFACTS / "agent-pop.png"))

        stack.hang_up("b1")
        await agent.wait_for_selector("#no-call")
        await agent.wait_for_selector("#wrapup:not([hidden])")
        await agent.select_option("fieldset.offer-result select.outcome", "accepted")
        await agent.fill("#notes", "客户同意升级")
        await agent.screenshot(path=str(ARTIFACTS / "agent-wrapup.png"))
        await agent.click("#wrapup-save")
        await agent.wait_for_selector(f"#agent-note:has-text('已保存 {CUSTOMER_NAME}')")
        assert await agent.locator("#wrapup").is_hidden()

        supervisor = await (await browser.new_context(viewport={"width": 1024, "height": 768})).new_page()
        await _log_in(supervisor, base, "supervisor")
        assert supervisor.url.endswith("/supervisor")
        await supervisor.wait_for_selector("tr[data-agent='agent1001']")
        duration = supervisor.locator("tr[data-agent='agent1001'] td[data-seconds]")
        shown = await duration.text_content()
        await expect(supervisor.locator("tr[data-agent='agent1001'] td[data-seconds]")).not_to_have_text(
            shown,
            timeout=5000,
        )
        await supervisor.click("#marketing-box summary")  # the marketing form folds away
        await supervisor.fill("#policy-group", "default")
        await supervisor.fill("#policy-queues", "support")
        await supervisor.fill("#policy-max", "0")
        await supervisor.click("#policy-save")
        await supervisor.wait_for_selector(
            ".marketing-line[data-group='default'] .marketing-limit:text-is('0')"
        )
        await supervisor.screenshot(path=str(ARTIFACTS / "supervisor-board.png"))

        await agent.wait_for_selector('#agent-state[data-state="available"]')
        stack.ring("b2")
        await agent.wait_for_selector("article.pop[data-call='b2']")
        assert await agent.locator("article.pop[data-call='b2'] li.offer").count() == 0
        await agent.wait_for_selector("article.pop[data-call='b2'] .no-offer")
        await agent.screenshot(path=str(ARTIFACTS / "agent-pop-no-offer.png"))
    finally:
        await stack.stop()


async def test_the_language_switches_to_english(tmp_path, browser):
    stack = await Stack(tmp_path).start()
    try:
        page = await (await browser.new_context(viewport={"width": 800, "height": 1280})).new_page()
        await _log_in(page, stack.base_url, "agent1001")
        await page.click("#lang-switch")
        await page.wait_for_selector("#btn-login:has-text('Log in to queues')")
        await page.screenshot(path=str(ARTIFACTS / "agent-tablet-en.png"))
    finally:
        await stack.stop()


async def test_an_admin_changes_an_agents_skills_on_the_admin_page(tmp_path, browser):
    stack = await Stack(tmp_path).start()
    try:
        page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
        await _log_in(page, stack.base_url, "admin")
        assert page.url.endswith("/admin")
        await page.click("#users tr:has-text('agent1001')")
        await page.fill("#edit-skills", "support:7,sales:2")
        await page.click("#user-edit-form button")
        await page.wait_for_selector("#users tr:has-text('sales:2')")
        await page.wait_for_selector("#campaigns tr:has-text('宽带升级')")
        await page.screenshot(path=str(ARTIFACTS / "admin.png"))
    finally:
        await stack.stop()


@dataclass
class PausingRecorder:
    """The part of the recording service the pause/resume routes use; remembers every request."""

    db: Database
    requests: list[tuple[str, bool]] = field(default_factory=list)
    refuse: bool = False

    async def set_paused(self, call_id: str, paused: bool) -> tuple[str, ...]:
        self.requests.append((call_id, paused))
        if self.refuse:
            raise SwitchError("MixMonitorMute: channel not found")
        return (f"PJSIP/trunk-{call_id}",)


async def test_the_agent_pauses_and_resumes_the_recording_while_the_customer_reads_out_card_data(
    tmp_path, browser, monkeypatch
):
    recorder: PausingRecorder | None = None

    def with_recordings(settings, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal recorder
        recorder = PausingRecorder(kwargs["db"])
        return build_app(settings, **kwargs, recordings=Recordings(recorder, forms={}))  # type: ignore[arg-type]

    monkeypatch.setattr(stack_module, "build_app", with_recordings)
    stack = await Stack(tmp_path).start()
    try:
        assert recorder is not None
        page = await _agent_on_duty(browser, stack.base_url)
        await index.add_recording(
            stack.db,
            index.NewRecording("r1", "/spool/r1.wav", datetime.now(UTC), agent="PJSIP/1001", queue="support"),
        )
        stack.ring("r1")
        card = page.locator("article.pop[data-call='r1']")
        await card.wait_for()
        assert await card.locator("button.recording-toggle").count() == 0  # ringing: nothing recorded yet

        stack.bus.publish(CallAnswered(datetime.now(UTC), "r1", "PJSIP/1001", "support", 2.0))
        toggle = card.locator("button.recording-toggle")
        await toggle.wait_for()
        assert await toggle.text_content() == "暂停录音"
        assert await card.locator(".recording-state").text_content() == "录音中"

        await toggle.click()
        await card.locator("button.recording-toggle:text-is('恢复录音')").wait_for()
        assert recorder.requests == [("r1", True)]
        assert await card.locator(".recording-state").get_attribute("data-state") == "paused"
        await page.screenshot(path=str(ARTIFACTS / "agent-recording-paused.png"))

        await card.locator("button.recording-toggle").click()
        await card.locator("button.recording-toggle:text-is('暂停录音')").wait_for()
        assert recorder.requests == [("r1", True), ("r1", False)]

        recorder.refuse = True
        await card.locator("button.recording-toggle").click()
        alert = card.locator(".recording-error[role='alert']")
        await alert.wait_for()
        assert "暂停录音失败" in (await alert.text_content() or "")
        assert "MixMonitorMute" in (await alert.text_content() or "")
        assert await card.locator("button.recording-toggle").text_content() == "暂停录音"
        await page.screenshot(path=str(ARTIFACTS / "agent-recording-refused.png"))

        stack.hang_up("r1")
        await page.wait_for_selector("#no-call")
        assert await page.locator("button.recording-toggle").count() == 0
    finally:
        await stack.stop()


async def test_without_a_recording_service_the_desktop_offers_no_recording_toggle(tmp_path, browser):
    stack = await Stack(tmp_path).start()
    try:
        page = await _agent_on_duty(browser, stack.base_url)
        stack.ring("n1")
        stack.bus.publish(CallAnswered(datetime.now(UTC), "n1", "PJSIP/1001", "support", 2.0))
        card = page.locator("article.pop[data-call='n1'][data-answered]")
        await card.wait_for()
        assert await card.locator("button.recording-toggle").count() == 0
        assert await page.locator("#pop[data-recording-controls]").count() == 0
    finally:
        await stack.stop()


async def test_hold_shows_resume_while_held_even_after_a_reload_and_resumes(tmp_path, browser):
    stack = await Stack(tmp_path).start()
    try:
        page = await _agent_on_duty(browser, stack.base_url)
        stack.ring("h9")
        card = page.locator("article.pop[data-call='h9']")
        await card.wait_for()
        assert await card.locator("button.hold").is_disabled()  # ringing: nothing to hold yet
        stack.bus.publish(
            CallAnswered(datetime.now(UTC), "h9", "PJSIP/1001", "support", 2.0, "PJSIP/1001-0000h9")
        )
        await card.locator("button.hold:enabled").wait_for()
        assert await card.locator("button.hold").text_content() == "保持"

        await card.locator("button.hold").click()
        await card.locator("button.hold:disabled").wait_for()  # waits for the switch's answer
        assert stack.switch.requests[-1] == ("hold", ("PJSIP/trunk-h9", "PJSIP/1001-0000h9"), {})
        stack.bus.publish(CallHeld(datetime.now(UTC), "h9", "PJSIP/1001-0000h9"))
        await card.locator("button.hold[aria-pressed='true']:text-is('恢复'):enabled").wait_for()
        await page.screenshot(path=str(ARTIFACTS / "agent-call-held.png"))

        await page.reload()
        await page.wait_for_selector("#ws-status.ok")
        held = page.locator("article.pop[data-call='h9'] button.hold")
        await held.wait_for()
        assert await held.text_content() == "恢复" and await held.get_attribute("data-held") == "true"

        await held.click()
        await page.locator("article.pop[data-call='h9'] button.hold:disabled").wait_for()
        assert stack.switch.requests[-1] == ("resume", ("PJSIP/trunk-h9", "PJSIP/1001-0000h9"), {})
        stack.bus.publish(CallResumed(datetime.now(UTC), "h9", "PJSIP/1001-0000h9"))
        await page.locator(
            "article.pop[data-call='h9'] button.hold[aria-pressed='false']:text-is('保持')"
        ).wait_for()
        stack.hang_up("h9")
        await page.wait_for_selector("#no-call")
    finally:
        await stack.stop()
