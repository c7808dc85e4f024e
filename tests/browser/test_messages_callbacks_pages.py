"""The messages page and the callback queue page in Debian's chromium, as their roles use them:
an agent plays a message, calls the caller back and closes another; a supervisor filters every
queue's messages; a supervisor cancels a waiting callback, an agent takes one now and records
what came of it."""

from __future__ import annotations

import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from acd.callbacks import CallbackRequest
from crm import callback_log, messages
from crm.callback_log import CallbackStep
from crm.messages import MessageStatus, NewMessage
from recording.message_files import MessageFiles
from tests.agent_api.stack import CUSTOMER_NAME, CUSTOMER_PHONE, Stack
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser
AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


async def signed_in(browser: Any, stack: Stack, username: str) -> Any:
    page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
    await page.goto(stack.base_url + "/login")
    await page.fill("#username", username)
    await page.fill("#password", "demo")
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: "/login" not in url)
    return page


def silence(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 8000)


async def test_messages_are_played_called_back_and_closed_on_the_page(tmp_path: Path, browser: Any):
    files = MessageFiles(spool_dir=tmp_path / "spool")
    silence(files.spool_dir / "messages" / "2026" / "12" / "07" / "m1" / "m1.wav")
    stack = await Stack(tmp_path, message_files=files).start()
    try:
        for n, (call_id, caller, queue, file) in enumerate(
            [
                ("m1", CUSTOMER_PHONE, "support", "spool/messages/2026/12/07/m1/m1.wav"),
                ("m2", "13900139000", "support", ""),
                ("m3", "13700137000", "sales", ""),
            ]
        ):
            await messages.store_message(
                stack.db, NewMessage(call_id, AT + timedelta(minutes=n), caller, queue, file, "SILENCE")
            )
        agent = await signed_in(browser, stack, "agent1001")
        await agent.goto(stack.base_url + "/messages")
        rows = agent.locator("#message-list tbody tr")
        await rows.first.wait_for()
        assert await rows.count() == 2  # the sales queue's message is not theirs
        first = agent.locator('tr[data-message="1"]')
        assert CUSTOMER_NAME in await first.inner_text()
        async with agent.expect_response(lambda r: "/api/messages/1/audio" in r.url) as played:
            await first.locator("button.play").click()
        assert (await played.value).status in (200, 206)
        await first.locator("audio").wait_for()
        await agent.screenshot(path=str(ARTIFACTS / "messages-agent.png"), full_page=True)

        await first.locator("button.call-back").click()
        await agent.locator("#messages-result.note").wait_for()
        assert next(r for r in stack.switch.requests if r[0] == "originate")[2]["exten"] == CUSTOMER_PHONE
        await agent.locator('tr[data-message="2"] button.done').click()
        await agent.locator('tr[data-message="2"]').wait_for(state="detached")  # the "new" list
        assert (await messages.get_message(stack.db, 1)).status is MessageStatus.CALLED_BACK
        done = await messages.get_message(stack.db, 2)
        assert (done.status, done.handled_by) == (MessageStatus.DONE, "agent1001")
        await agent.select_option("#filter-status", "done")
        await agent.locator('tr[data-message="2"] button.reopen').wait_for()

        supervisor = await signed_in(browser, stack, "supervisor")
        await supervisor.goto(stack.base_url + "/messages")
        await supervisor.locator('tr[data-message="3"]').wait_for()
        assert await supervisor.locator("button.call-back").count() == 0  # no phone of their own
        await supervisor.select_option("#filter-queue", "sales")
        await supervisor.locator('tr[data-message="1"]').wait_for(state="detached")
        assert await supervisor.locator("#message-list tbody tr").count() == 1
        await supervisor.screenshot(path=str(ARTIFACTS / "messages-supervisor.png"), full_page=True)
    finally:
        await stack.stop()


async def test_the_callback_queue_is_watched_cancelled_and_taken_on_the_page(tmp_path: Path, browser: Any):
    stack = await Stack(tmp_path).start()
    try:
        for n, number in enumerate(["13800131000", "13800132000"]):
            await stack.acd.request_callback(
                CallbackRequest(f"cb-{n + 1}", number, "support", AT + timedelta(minutes=n), call_id=f"c{n}")
            )
        supervisor = await signed_in(browser, stack, "supervisor")
        await supervisor.goto(stack.base_url + "/callbacks")
        await supervisor.locator('tr[data-callback="cb-2"]').wait_for()
        assert await supervisor.locator("#callback-queue button.take").count() == 0
        supervisor.once("dialog", lambda dialog: dialog.accept())
        await supervisor.locator('#callback-queue tr[data-callback="cb-1"] button.cancel').click()
        await supervisor.locator('#callback-queue tr[data-callback="cb-1"]').wait_for(state="detached")
        await supervisor.locator('#callback-history tr[data-step="cancelled"]').wait_for()
        await supervisor.screenshot(path=str(ARTIFACTS / "callbacks-supervisor.png"), full_page=True)
        assert [c.callback_id for c in stack.acd.callbacks.queue.pending()] == ["cb-2"]

        agent = await signed_in(browser, stack, "agent1001")
        await agent.goto(stack.base_url + "/callbacks")
        await agent.locator('#callback-queue tr[data-callback="cb-2"] button.take').click()
        await agent.locator("#callbacks-empty").wait_for()
        assert next(r for r in stack.switch.requests if r[0] == "originate")[2]["exten"] == "13800132000"
        taken = agent.locator('#callback-history tr[data-step="taken"] select')
        await taken.select_option("reached")
        await agent.locator('#callback-history tr[data-step="outcome"]').wait_for()
        await agent.screenshot(path=str(ARTIFACTS / "callbacks-agent.png"), full_page=True)
        last = (await callback_log.steps_of(stack.db, "cb-2"))[-1]
        assert (last.step, last.outcome, last.agent) == (CallbackStep.OUTCOME, "reached", "agent1001")
    finally:
        await stack.stop()
