"""Consult transfer in the pages, on the simulated switch: agent1001's call card consults
agent1002 (whose page pops the caller's card), cancels, consults again and completes the
transfer; then, on a second call, a three-way call. Hotline's AMI link and tracker read the
simulator, whose consult follows the real switch's captures (cti/simulator/consult.py)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from crm import accounts
from crm.kinds import Role
from cti.ami_link import AmiLinkConfig
from cti.events import SwitchResynced
from cti.service import CtiService
from cti.simulator import AgentScript, CallerScript, SwitchSimulator
from cti.tracker import CallTracker
from tests.agent_api.stack import CUSTOMER_NAME, CUSTOMER_PHONE, Stack, fast_passwords
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser
SCREEN = {"width": 1366, "height": 768}
# The desktop's switch requests that go to the simulated switch (the rest are the test stack's).
FORWARDED = ("consult", "consult_complete", "consult_cancel", "consult_conference", "hangup")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _desk(browser: Any, base: str, username: str) -> Any:
    page = await (await browser.new_context(viewport=SCREEN)).new_page()
    await page.goto(base + "/login")
    await page.fill("#username", username)
    await page.fill("#password", "demo")
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: "/login" not in url)
    await page.click("#btn-login")
    await page.wait_for_selector('#agent-state[data-state="available"]')
    await page.wait_for_selector("#ws-status.ok")
    return page


async def _shot(page: Any, name: str) -> None:
    path = ARTIFACTS / name
    await page.screenshot(path=str(path))


async def test_the_call_card_consults_cancels_completes_and_makes_a_three_way_call(tmp_path: Path, browser):
    # No IVR at agi_url: the production dialplan sends the caller to support-fallback, whose
    # app_queue rings its static member 1001, as Asterisk does.
    sim = SwitchSimulator(
        agents=[AgentScript("1001", answer_after_s=0.3), AgentScript("1002", answer_after_s=1.0)],
        members={"support": ["PJSIP/1001"]},
        agi_url=f"agi://127.0.0.1:{_closed_port()}/ivr",
        secret="s3cret",
    )
    port = await sim.start()
    stack = await Stack(tmp_path).start()
    await accounts.create_account(
        stack.db,
        accounts.NewAccount(
            username="agent1002",
            password_hash=await fast_passwords().hash("demo"),
            roles=frozenset({Role.AGENT}),
            display_name="Agent 1002",
        ),
    )
    resynced = stack.bus.subscribe("test", SwitchResynced)
    cti = CtiService(AmiLinkConfig(host="127.0.0.1", port=port, secret="s3cret"), stack.bus, CallTracker())
    for name in FORWARDED:
        setattr(stack.switch, name, getattr(cti.switch, name))
    try:
        await cti.start()
        async with asyncio.timeout(10):
            await resynced.get()
        first = await _desk(browser, stack.base_url, "agent1001")
        second = await _desk(browser, stack.base_url, "agent1002")

        sim.place_call(CallerScript(caller=CUSTOMER_PHONE, caller_name="", digits="", hangup_after_s=120.0))
        card = first.locator("article.pop")
        await card.locator("h2", has_text=CUSTOMER_NAME).wait_for()
        await first.wait_for_selector('#agent-state[data-state="on-call"]')
        # Consult: the caller hears music, agent1002's page pops the caller's card.
        await card.locator("input.consult-target").fill("1002")
        await card.locator("button.consult-start", has_text="咨询转接").click()
        await card.locator(".consult-cue", has_text="正在咨询 1002").wait_for()
        popped = second.locator("article.pop")
        await popped.locator("h2", has_text=CUSTOMER_NAME).wait_for()
        await popped.locator(".consult-cue", has_text="1001 正在就此来电向您咨询").wait_for()
        assert await popped.locator("button.hold").count() == 0  # not theirs to hold
        assert await card.locator("button.hold").count() == 0  # the consult holds the caller
        # agent1002's phone rings, then picks up: on the call, talking with agent1001.
        await second.wait_for_selector('#agent-state[data-state="on-call"]')
        await _shot(first, "agent-consulting.png")
        await _shot(second, "agent-consulted.png")
        # Cancel: back to the caller, the pop leaves agent1002's page without a wrap-up.
        await card.locator("button.consult-cancel", has_text="取消").click()
        await popped.wait_for(state="detached")
        await card.locator("button.hold").wait_for()
        await second.wait_for_selector('#agent-state[data-state="available"]')
        assert await second.locator("#wrapup").is_hidden()
        # Again, completed: agent1002 has the caller, agent1001 wraps up.
        await card.locator("input.consult-target").fill("1002")
        await card.locator("button.consult-start").click()
        await popped.locator(".consult-cue").wait_for()
        await card.locator("button.consult-complete", has_text="完成转接").click()
        await first.wait_for_selector("#wrapup:not([hidden])")
        await popped.locator("button.hold").wait_for()
        await second.wait_for_selector('#agent-state[data-state="on-call"]')
        await first.wait_for_selector('#agent-state[data-state="wrap-up"]')
        assert await popped.locator(".consult-cue").count() == 0
        await _shot(first, "agent-consult-done-wrapup.png")
        await _shot(second, "agent-consult-done-talking.png")
        await popped.locator("button.hangup").click()
        await second.wait_for_selector("#wrapup:not([hidden])")
        for page in (first, second):
            page.once("dialog", lambda dialog: dialog.accept())
            await page.click("#wrapup-discard")
            await page.wait_for_selector("#wrapup", state="hidden")
            await page.click("#btn-ready")
            await page.wait_for_selector('#agent-state[data-state="available"]')

        # A second call, made a three-way call: agent1001 leaves, agent1002 talks on.
        sim.place_call(CallerScript(caller=CUSTOMER_PHONE, caller_name="", digits="", hangup_after_s=120.0))
        await card.locator("h2", has_text=CUSTOMER_NAME).wait_for()
        await first.wait_for_selector('#agent-state[data-state="on-call"]')
        await card.locator("input.consult-target").fill("1002")
        await card.locator("button.consult-start").click()
        await popped.locator(".consult-cue").wait_for()
        await card.locator("button.consult-conference", has_text="三方通话").click()
        await card.locator(".consult-cue", has_text="三方通话中").wait_for()
        await popped.locator(".consult-cue", has_text="三方通话中").wait_for()
        await second.wait_for_selector('#agent-state[data-state="on-call"]')
        await _shot(first, "agent-three-way.png")
        await card.locator("button.hangup").click()
        await first.wait_for_selector("#wrapup:not([hidden])")
        await popped.locator("button.hold").wait_for()  # the call is agent1002's alone now
        await second.wait_for_selector('#agent-state[data-state="on-call"]')
    finally:
        await cti.stop()
        await stack.stop()
        await sim.stop()
