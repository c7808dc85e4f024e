"""The agent desktop through a shift: ring, talk and hold cues, a wrap-up that keeps the customer's
card and counts down, pause after the call, and a page that recovers from a restart."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import expect

from acd.gate import MarketingPolicy
from agent_api.context import SERVICES
from cti.events import CallAnswered, CallEnded, CallHeld, CallOffered, EndCause
from ivr.events import IvrCompleted, IvrOutcome, PathEntry
from tests.agent_api.stack import CUSTOMER_NAME, Stack
from tests.browser.conftest import ARGS, ARTIFACTS, CHROMIUM, HAVE_CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
SCREEN = {"width": 1366, "height": 768}


class Later:
    """The ACD's clock: the real time, moved on by ``ahead``."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chromium() -> Any:
    if not HAVE_CHROMIUM:
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield browser
        await browser.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def desk(tmp_path_factory, chromium) -> Any:
    """One server and agent1001's desktop, logged in to the queues, for the module's calls."""
    clock = Later()
    stack = await Stack(tmp_path_factory.mktemp("desk"), acd_clock=clock).start()
    stack.later = clock  # type: ignore[attr-defined]
    stack.acd.gate.set_policy(MarketingPolicy("default", ("support",), max_agents=5))
    page = await (await chromium.new_context(viewport=SCREEN)).new_page()
    await log_in(page, stack.base_url, "agent1001")
    await page.click("#btn-login")
    await page.wait_for_selector('#agent-state[data-state="available"]')
    await page.wait_for_selector("#ws-status.ok")
    yield stack, page
    await stack.stop()


async def log_in(page: Any, base: str, username: str) -> None:
    await page.goto(base + "/login")
    await page.fill("#username", username)
    await page.fill("#password", "demo")
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: "/login" not in url)


def answer(stack: Stack, call_id: str) -> None:
    stack.bus.publish(CallAnswered(datetime.now(UTC), call_id, "PJSIP/1001", "support", 2.0, "PJSIP/1001-01"))


def end(stack: Stack, call_id: str) -> None:
    stack.bus.publish(CallEnded(datetime.now(UTC), call_id, EndCause.NORMAL, 30.0, agent="PJSIP/1001"))


async def test_ringing_talking_and_holding_each_show_their_cue(desk):
    stack, page = desk
    stack.ring("r1")
    await page.wait_for_selector("article.pop.ringing .ring-cue:has-text('请在话机上接听')")
    assert (await page.title()).startswith("☎")
    assert await page.locator("#btn-logout").is_disabled()
    assert await page.locator("#btn-pause").is_disabled()
    await page.screenshot(path=str(ARTIFACTS / "agent-ringing.png"))
    answer(stack, "r1")
    await page.wait_for_selector('#agent-state[data-state="on-call"]')
    await page.wait_for_selector("article.pop:not(.ringing)")
    assert not (await page.title()).startswith("☎")
    await expect(page.locator("#state-timer")).to_have_text(re.compile(r"s$"))
    call = stack.app[SERVICES].desktop.calls.get("r1")
    stack.bus.publish(CallHeld(datetime.now(UTC), "r1", call.channel))
    await page.wait_for_selector(".hold-cue:has-text('保持中')")
    assert await page.locator("#btn-pause-after").is_visible()
    await page.screenshot(path=str(ARTIFACTS / "agent-on-hold.png"))
    end(stack, "r1")
    await page.wait_for_selector("#wrapup:not([hidden])")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("#wrapup-discard")
    await page.wait_for_selector("#wrapup", state="hidden")
    await page.wait_for_selector('#agent-state[data-state="available"]')


async def test_the_wrap_up_keeps_the_card_counts_down_and_holds_the_agent(desk):
    stack, page = desk
    stack.ring("w1")
    await page.wait_for_selector("article.pop.ringing")
    answer(stack, "w1")
    await page.wait_for_selector('#agent-state[data-state="on-call"]')
    end(stack, "w1")
    await page.wait_for_selector("#wrapup:not([hidden])")
    # Titled with the customer and the time, never the switch's call id; the card stays.
    who = await page.locator("#wrapup-who").text_content()
    assert CUSTOMER_NAME in who and "w1" not in who
    assert ":" in who.split("·")[-1]
    assert await page.locator("#wrapup-card li.offer").count() == 1
    await page.wait_for_selector("#wrapup-countdown:has-text('小结剩余')")
    assert await page.locator("#btn-ready").is_disabled()
    await page.screenshot(path=str(ARTIFACTS / "agent-wrapup-countdown.png"))
    before = await page.locator("#wrapup-countdown").text_content()
    await page.click("#wrapup-extend")
    await expect(page.locator("#wrapup-countdown")).not_to_have_text(before or "")
    assert await page.locator("#wrapup-extend").is_disabled()
    # Long past its time, the ACD keeps the agent in wrap-up while the form is open.
    stack.later.ahead = timedelta(minutes=5)  # type: ignore[attr-defined]
    await stack.acd.run_due()
    assert stack.acd.states.get("agent1001").state == "wrap-up"
    await page.fill("#notes", "已处理")
    await page.click("#wrapup-save")
    await page.wait_for_selector("#wrapup", state="hidden")
    await page.wait_for_selector('#agent-state[data-state="available"]')
    assert CUSTOMER_NAME in await page.locator("#agent-note").text_content()
    stack.later.ahead = timedelta()  # type: ignore[attr-defined]


async def test_pause_after_the_call_pauses_once_the_wrap_up_is_saved(desk):
    stack, page = desk
    stack.ring("p1")
    await page.wait_for_selector("article.pop.ringing")
    answer(stack, "p1")
    await page.wait_for_selector('#agent-state[data-state="on-call"]')
    await page.select_option("#pause-reason", "lunch")
    await page.click("#btn-pause-after")
    await page.wait_for_selector("#pause-after-note:has-text('用餐')")
    assert await page.locator("#btn-pause-after").get_attribute("aria-pressed") == "true"
    end(stack, "p1")
    await page.wait_for_selector("#wrapup:not([hidden])")
    await page.click("#wrapup-save")
    await page.wait_for_selector('#agent-state[data-state="paused"]')
    assert await page.locator("#agent-reason").text_content() == "用餐"
    assert await page.locator("#pause-after-note").text_content() == ""
    await page.click("#btn-ready")
    await page.wait_for_selector('#agent-state[data-state="available"]')


async def test_a_double_click_on_save_files_one_wrap_up_not_the_next_one_unseen(desk):
    stack, page = desk
    stack.ring("d1")
    stack.ring("d2")  # a second call on the same phone: both end and wait to be wrapped up
    await page.wait_for_selector("article.pop[data-call='d2']")
    answer(stack, "d1")
    await page.wait_for_selector("article.pop[data-call='d1'][data-answered='true']")
    end(stack, "d1")
    end(stack, "d2")
    await page.wait_for_selector("#wrapup[data-call='d1']:not([hidden])")
    await page.wait_for_selector("#wrapup-call:has-text('1')")  # one more waits its turn
    desktop = stack.app[SERVICES].desktop
    assert set(desktop.pending("agent1001")) == {"d1", "d2"}
    await page.fill("#notes", "d1 的备注")
    # The second click of a double-click lands after the server's quick answer, on the next form.
    await page.click("#wrapup-save")
    await page.wait_for_selector("#wrapup[data-call='d2']:not([hidden])")
    await page.click("#wrapup-save", force=True)
    await page.wait_for_timeout(300)
    assert desktop.pending("agent1001") == ["d2"]  # the second click saved nothing
    await expect(page.locator("#wrapup-save")).to_be_enabled(timeout=3000)
    await page.click("#wrapup-save")
    await page.wait_for_selector("#wrapup", state="hidden")
    assert desktop.pending("agent1001") == []
    await page.wait_for_selector('#agent-state[data-state="available"]')


async def test_notes_typed_in_a_wrap_up_come_back_after_a_reload_until_it_is_saved(desk):
    stack, page = desk
    stack.ring("n1")
    await page.wait_for_selector("article.pop[data-call='n1']")
    answer(stack, "n1")
    await page.wait_for_selector("article.pop[data-call='n1'][data-answered='true']")
    end(stack, "n1")
    await page.wait_for_selector("#wrapup[data-call='n1']:not([hidden])")
    await page.fill("#notes", "客户要求周五回电")
    await page.reload()
    await page.wait_for_selector("#ws-status.ok")
    await page.wait_for_selector("#wrapup[data-call='n1']:not([hidden])")  # kept by the server
    await expect(page.locator("#notes")).to_have_value("客户要求周五回电")  # kept by this tab
    await page.click("#wrapup-save")
    await page.wait_for_selector("#wrapup", state="hidden")
    assert await page.evaluate("sessionStorage.getItem('hotline.wrapup-notes.n1')") is None
    await page.wait_for_selector('#agent-state[data-state="available"]')


async def test_an_error_shows_on_the_page_not_in_a_box(desk):
    _, page = desk
    dialogs: list[str] = []

    async def seen(dialog):  # type: ignore[no-untyped-def]
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", seen)
    await page.fill("#dial-number", "12")
    await page.click("#btn-dial")
    await page.wait_for_selector("#agent-error:not([hidden])")
    page.remove_listener("dialog", seen)  # the page is shared with the module's other tests
    assert dialogs == []


async def test_after_a_restart_the_page_is_marked_stale_then_live_again(tmp_path: Path, chromium):
    first = await Stack(tmp_path).start()
    port = first.server.port
    page = await (await chromium.new_context(viewport=SCREEN)).new_page()
    await log_in(page, first.base_url, "agent1001")
    await page.click("#btn-login")
    await page.wait_for_selector('#agent-state[data-state="available"]')
    board = await (await chromium.new_context(viewport=SCREEN)).new_page()
    await log_in(board, first.base_url, "supervisor")
    await board.wait_for_selector("tr[data-agent='agent1001']")
    # A call ends and its wrap-up form is left open over the restart.
    first.ring("r1")
    await page.wait_for_selector("article.pop.ringing")
    answer(first, "r1")
    await page.wait_for_selector('#agent-state[data-state="on-call"]')
    end(first, "r1")
    await page.wait_for_selector("#wrapup[data-call='r1']:not([hidden])")
    await page.fill("#notes", "重启前写的")
    await first.stop()
    await page.wait_for_selector("body.stale")
    await page.wait_for_selector("#ws-status.down")
    await page.screenshot(path=str(ARTIFACTS / "agent-stale.png"))
    # The stale wallboard stops counting: its durations are those of the last live frame.
    await board.wait_for_selector("body.stale")
    durations = board.locator("#agents td[data-seconds]")
    shown = await durations.all_text_contents()
    await board.wait_for_timeout(2200)
    assert await durations.all_text_contents() == shown
    second = await Stack(tmp_path, seed=False).start(port=port)
    try:
        await page.wait_for_selector("body:not(.stale)", timeout=20000)
        # The ACD started afresh: the page says so rather than showing the old state.
        await page.wait_for_selector('#agent-state[data-state="logged-out"]')
        await page.wait_for_selector("#agent-note:has-text('请点“签入”')")
        # The form is still there, as typed; signing in again keeps the agent out of the next
        # call until it is saved, and the "sign in again" note is over.
        await expect(page.locator("#wrapup")).to_have_attribute("data-call", "r1")
        await expect(page.locator("#notes")).to_have_value("重启前写的")
        await page.click("#btn-login")
        await page.wait_for_selector('#agent-state[data-state="wrap-up"]')
        await expect(page.locator("#agent-note")).to_have_text("")
        assert second.acd.states.get("agent1001").state == "wrap-up"
        await page.click("#wrapup-save")
        await page.wait_for_selector('#agent-state[data-state="available"]')
        await board.wait_for_selector("body:not(.stale)", timeout=20000)
    finally:
        await second.stop()


async def test_a_session_the_restarted_server_does_not_know_goes_to_the_login_form(tmp_path: Path, chromium):
    first = await Stack(tmp_path).start()
    port = first.server.port
    page = await (await chromium.new_context(viewport=SCREEN)).new_page()
    await log_in(page, first.base_url, "agent1001")
    await page.wait_for_selector("#ws-status.ok")
    await first.stop()
    other_key = b"another signing key, 32 bytes.."
    second = await Stack(tmp_path, seed=False, session_key=other_key).start(port=port)
    try:
        await page.wait_for_url(lambda url: "/login" in url, timeout=20000)
        await page.wait_for_selector("#login-note:has-text('会话已过期')")
    finally:
        await second.stop()


async def test_the_tab_says_which_page_it_is_and_has_the_products_icon(desk):
    stack, page = desk
    assert (await page.title()).startswith("坐席工作台 · ")
    icon = await page.locator("link[rel='icon']").get_attribute("href")
    assert icon == "/static/favicon.svg"
    answer = await page.request.get(stack.base_url + icon)
    assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg")


async def test_the_keypad_sends_digits_to_the_other_party(desk):
    stack, page = desk
    stack.ring("k1")
    await page.wait_for_selector("article.pop[data-call='k1']")
    assert await page.locator("article.pop[data-call='k1'] .keypad").count() == 0  # not while ringing
    answer(stack, "k1")
    await page.wait_for_selector("article.pop[data-call='k1'][data-answered='true']")
    card = page.locator("article.pop[data-call='k1']")
    await card.locator(".keypad summary").click()
    await card.locator(".keypad button[data-digit='5']").click()
    await card.locator(".keypad button[data-digit='#']").click()
    await expect(card.locator(".dtmf-sent")).to_have_text("5#")
    await page.screenshot(path=str(ARTIFACTS / "agent-keypad.png"))
    assert [r[1][1] for r in stack.switch.requests if r[0] == "dtmf"][-2:] == ["5", "#"]
    end(stack, "k1")
    await page.wait_for_selector("#wrapup:not([hidden])")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("#wrapup-discard")
    await page.wait_for_selector("#wrapup", state="hidden")


async def test_mute_shows_plainly_and_a_hold_lets_it_go(desk):
    stack, page = desk
    stack.ring("u1")
    card = page.locator("article.pop[data-call='u1']")
    await page.wait_for_selector("article.pop[data-call='u1']")
    assert await card.locator("button.mute").is_disabled()  # not while ringing
    answer(stack, "u1")
    await page.wait_for_selector("article.pop[data-call='u1'][data-answered='true'] button.mute:enabled")
    await card.locator("button.mute").click()
    await page.wait_for_selector(
        "article.pop[data-call='u1'] button.mute[aria-pressed='true']:has-text('取消静音')"
    )
    assert await card.locator(".mute-cue").inner_text() == "麦克风已静音：客户听不到您的声音"
    await page.screenshot(path=str(ARTIFACTS / "agent-muted.png"))
    assert [r[1] for r in stack.switch.requests if r[0] == "mute"][-1] == ("PJSIP/1001-01", True)
    await card.locator("button.mute").click()
    await page.wait_for_selector("article.pop[data-call='u1'] button.mute[aria-pressed='false']")
    assert await card.locator(".mute-cue").count() == 0
    await card.locator("button.mute").click()
    await page.wait_for_selector("article.pop[data-call='u1'] .mute-cue")
    await card.locator("button.hold").click()
    await page.wait_for_selector("article.pop[data-call='u1'] button.mute[aria-pressed='false']")
    stack.bus.publish(CallHeld(datetime.now(UTC), "u1", "PJSIP/1001-01"))
    await page.wait_for_selector("article.pop[data-call='u1'] .hold-cue")
    assert await card.locator("button.mute").is_disabled()
    assert await card.locator(".mute-cue").count() == 0
    assert [r[1][1] for r in stack.switch.requests if r[0] == "mute"][-2:] == [True, False]
    end(stack, "u1")
    await page.wait_for_selector("#wrapup:not([hidden])")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("#wrapup-discard")
    await page.wait_for_selector("#wrapup", state="hidden")


async def test_the_pop_tells_the_callers_way_through_the_menu_in_words(desk):
    stack, page = desk
    now = datetime.now(UTC)
    stack.bus.publish(CallOffered(now, "v1", "13800138000", "", "4008123456", "PJSIP/trunk-v1"))
    path = (
        PathEntry("welcome", "play"),
        PathEntry("hours", "business_hours", result="open (workday)"),
        PathEntry("who", "branch", result="else"),
        PathEntry("language", "language", digits="1", result="zh"),
        PathEntry("main", "menu", digits="1"),
        PathEntry("ask_ticket", "collect", digits="261123000042"),
        PathEntry("ticket_lookup", "lookup", digits="261123000042", result="resolved"),
        PathEntry("after_lookup", "menu", digits="0"),
        PathEntry("support_queue", "queue", result="support"),
    )
    ivr = IvrCompleted(
        now,
        "v1",
        "PJSIP/trunk-v1",
        "13800138000",
        "4008123456",
        path,
        "support",
        "support",
        0,
        "zh",
        None,
        IvrOutcome.QUEUED,
    )
    stack.bus.publish(ivr)
    stack.ring("v1")
    await page.wait_for_selector("article.pop[data-call='v1']")
    words = page.locator("article.pop[data-call='v1'] .ivr-path")
    assert await words.inner_text() == " › ".join(
        (
            "工作时间",
            "语言：中文",
            "菜单按 1",
            "输入号码 261123000042",
            "自助查询：已解决",
            "菜单按 0",
            "进入队列 support",
        )
    )
    # The keys are what the caller pressed: the number the lookup used is not pressed again.
    keys = page.locator("article.pop[data-call='v1'] dd.ivr")
    assert await keys.inner_text() == "1 → 1 → 261123000042 → 0"
    await page.screenshot(path=str(ARTIFACTS / "agent-ivr-words.png"))
    answer(stack, "v1")
    end(stack, "v1")
    await page.wait_for_selector("#wrapup:not([hidden])")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("#wrapup-discard")
    await page.wait_for_selector("#wrapup", state="hidden")
