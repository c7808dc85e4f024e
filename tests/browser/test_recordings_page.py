"""The recordings page in Debian's chromium: a supervisor finds a call, plays it, seeks, scores it."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS, until_true
from tests.recording import audio
from tests.recording.calls import call_events
from tests.recording.stack import RecordingStack

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not audio.HAVE_TOOLS, reason="sox, espeak-ng and ffmpeg are needed"),
]


async def test_a_supervisor_plays_a_recording_seeks_into_it_and_scores_it(tmp_path, browser):
    caller, agent = audio.call_legs(tmp_path / "audio")
    clip = audio.mix(tmp_path / "audio" / "call.wav", caller, agent)
    stack = await RecordingStack(tmp_path).start()
    try:
        stored = await stack.recorded_call("1795416380.155", clip)
        page = await (await browser.new_context(viewport={"width": 1366, "height": 900})).new_page()
        ranges: list[str] = []
        page.on(
            "request",
            lambda request: (
                ranges.append(request.headers.get("range", "")) if "/audio" in request.url else None
            ),
        )
        await page.goto(stack.base_url + "/login")
        await page.fill("#username", "supervisor")
        await page.fill("#password", "demo")
        await page.click("#login-submit")
        await page.wait_for_url(lambda url: "/login" not in url)
        await page.goto(stack.base_url + "/supervisor/recordings")
        row = page.locator(f"tr.rec-row[data-id='{stored.id}']")
        await row.wait_for()
        assert "agent1001" in await row.text_content()
        await row.click()
        await until_true(
            page,
            "() => { const p = document.getElementById('player');"
            " return p.readyState >= 1 && p.duration > 5; }",
        )
        duration = await page.evaluate("document.getElementById('player').duration")
        assert duration == pytest.approx(stored.duration_s, abs=0.5)
        await page.evaluate(
            """() => new Promise((resolve) => {
                const player = document.getElementById('player');
                player.addEventListener('seeked', resolve, { once: true });
                player.currentTime = 4.0;
            })"""
        )
        position = await page.evaluate("document.getElementById('player').currentTime")
        assert position == pytest.approx(4.0, abs=0.3)
        assert any(r.startswith("bytes=") for r in ranges), ranges

        await page.fill("#comment-text", "overlap: both talk at once here")
        await page.click("#comment-add")
        await page.check("input[data-q='greeting']")
        await page.check("input[data-q='identity']")
        await page.check("input[data-q='hold']")
        await page.fill("input[data-q='understood']", "4")
        await page.fill("#review-summary", "good call, close better")
        await page.click("#review-submit")
        await page.wait_for_selector("#review-result:has-text('86.0')")
        await page.wait_for_selector("#rec-reviews li:has-text('@4s overlap')")
        await page.wait_for_selector(f"tr.rec-row[data-id='{stored.id}'] td:has-text('86.0')")
        position = await page.evaluate("document.getElementById('player').currentTime")
        assert position == pytest.approx(4.0, abs=0.3)  # scoring did not reload the player
        await page.screenshot(path=str(ARTIFACTS / "supervisor-recordings.png"), full_page=True)
    finally:
        await stack.stop()


async def test_only_a_finished_recording_is_scored_and_a_failed_critical_question_says_why(tmp_path, browser):
    caller, agent = audio.call_legs(tmp_path / "audio")
    clip = audio.mix(tmp_path / "audio" / "call.wav", caller, agent)
    stack = await RecordingStack(tmp_path).start()
    try:
        stored = await stack.recorded_call("1795416380.201", clip)
        start, _, _ = call_events("1795416380.202", agent="PJSIP/1001", queue="support", caller="13900139000")
        for event in start:  # the call is still going on: its recording is being made
            await stack.service.handle(event)
        page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
        await page.goto(stack.base_url + "/login")
        await page.fill("#username", "supervisor")
        await page.fill("#password", "demo")
        await page.click("#login-submit")
        await page.wait_for_url(lambda url: "/login" not in url)
        await page.goto(stack.base_url + "/supervisor/recordings")
        await page.wait_for_selector("td[data-state='recording']:has-text('录音中')")
        assert await page.locator("#rec-detail").is_hidden()  # nothing shown before a pick
        assert await page.locator("#rec-pick").is_visible()
        await page.click("td[data-state='recording']")
        await page.wait_for_selector("#review-unavailable:has-text('录音中')")
        assert await page.locator("#review-form").is_hidden()

        await page.click(f"tr.rec-row[data-id='{stored.id}']")
        await page.wait_for_selector("#review-form:not([hidden])")
        await page.check("input[data-q='greeting']")  # identity, a critical question, left unticked
        await page.click("#review-submit")
        await page.wait_for_selector("#review-result .critical-failed:has-text('关键项未通过')")
        assert "0.0" in await page.locator("#review-result").text_content()
        await page.screenshot(path=str(ARTIFACTS / "recordings-critical.png"))

        first = await page.locator("tr.rec-row").first.get_attribute("data-id")
        await page.click("#rec-results th[data-sort='id']")
        await page.click("#rec-results th[data-sort='id']")  # descending
        ids = [
            int(i) for i in await page.locator("tr.rec-row").evaluate_all("rs => rs.map(r => r.dataset.id)")
        ]
        assert ids == sorted(ids, reverse=True) and len(ids) == 2 and first is not None
        assert await page.locator("#rec-next").is_disabled()
    finally:
        await stack.stop()
