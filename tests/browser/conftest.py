"""Debian's chromium, driven by Playwright, for the page tests; screenshots go to test-artifacts/."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Headless as root, and no background connections: this machine reaches no outside host.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HAVE_CHROMIUM = CHROMIUM.exists()
ARTIFACTS.mkdir(exist_ok=True)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not HAVE_CHROMIUM:
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


async def until_true(page: Any, function: str, timeout_s: float = 10.0) -> None:
    """Polls a page function from here: Playwright's wait_for_function evals its predicate inside
    the page, which the pages' Content-Security-Policy (no 'unsafe-eval') rightly refuses."""
    deadline = time.monotonic() + timeout_s
    while not await page.evaluate(function):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s}s: {function}")
        await asyncio.sleep(0.05)
