"""Every page, as each role sees it in Chinese, has no English word a person would read — and
neither has an error the server sends to a Chinese page."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import pytest_asyncio

from crm.reporting.standard import STANDARD_REPORTS
from tests.agent_api.stack import Stack, login
from tests.browser.conftest import ARGS, ARTIFACTS, CHROMIUM, HAVE_CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
SCREEN = {"width": 1366, "height": 768}
PAGES = [
    "/agent",
    "/supervisor",
    "/admin",
    "/analyst",
    "/reports",
    "/reports/custom",
    "/customers",
    "/tickets",
    "/campaigns",
    "/messages",
    "/callbacks",
    "/outbox",
    "/admin/desk-codes",
    "/supervisor/recordings",
    "/customers/{customer}",
    "/tickets/{ticket}",
    "/no-such-page",
]
# The standard reports are the same words for every role: read once, by the supervisor.
REPORT_PAGES = [f"/reports/{name}" for name in STANDARD_REPORTS]
# Words a Chinese page shows as they are: the product, the trade's abbreviations, and the data of
# the test center (queue names, account and campaign names), which are not the interface's words.
ALLOWED = {
    "Hotline", "English", "VIP", "IVR", "ACD", "SL", "ASA", "AHT", "QA", "CSV", "SLA", "SMS", "ID",
    "support", "sales", "default", "Agent", "Supervisor", "admin", "agent", "supervisor",
    "Administrator", "XLSX", "JSON",
}  # fmt: skip
# What an administrator types and reads as it is written: configuration names (the queues file,
# Asterisk's queues.conf), skill and export data set names, the audit log's action codes, and
# the site's own desk codes beside their labels.
CONFIG_NAMES = {
    "/admin": {"Asterisk", "acd", "queues", "file", "conf", "fallback", "vip", "audit-read", "login",
               "csv", "contacts", "customers"},
    "/analyst": {"csv", "contacts", "customers"},
    "/admin/desk-codes": {"break", "complaint", "follow", "up", "info", "lunch", "meeting", "resolved",
                          "training"},
}  # fmt: skip
LATIN = re.compile(r"[A-Za-z][A-Za-z'-]+")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory) -> Any:
    if not HAVE_CHROMIUM:
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    playwright_api = pytest.importorskip("playwright.async_api")
    stack = await Stack(tmp_path_factory.mktemp("zh")).start()
    # A ticket with a step, for the ticket's page and the customer's history.
    headers = {"X-CSRF-Token": await login(stack.client, "supervisor")}
    body = {"customer_id": stack.customer_id, "kind": "complaint", "subject": "宽带断线", "team": None}
    opened = await stack.client.post("/api/tickets", json=body, headers=headers)
    assert opened.status == 200, await opened.text()
    stack.ticket_id = (await opened.json())["ticket"]["id"]  # type: ignore[attr-defined]
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield stack, browser
        await browser.close()
    await stack.stop()


async def _as(browser: Any, base: str, username: str) -> Any:
    page = await (await browser.new_context(viewport=SCREEN, locale="zh-CN")).new_page()
    await page.goto(base + "/login")
    await page.fill("#username", username)
    await page.fill("#password", "demo")
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: "/login" not in url)
    return page


def english_words(text: str, also: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    return sorted({w for w in LATIN.findall(text) if w.strip("'-") not in ALLOWED | also})


@pytest.mark.parametrize("username", ["agent1001", "supervisor", "admin"])
async def test_no_page_shows_an_english_word_in_chinese(site, username):
    stack, browser = site
    page = await _as(browser, stack.base_url, username)
    found = {}
    for path in PAGES + (REPORT_PAGES if username == "supervisor" else []):
        path = path.format(customer=stack.customer_id, ticket=stack.ticket_id)
        await page.goto(stack.base_url + path)
        await page.wait_for_load_state("networkidle")
        words = english_words(await page.evaluate("document.body.innerText"), CONFIG_NAMES.get(path, set()))
        if words:
            found[path] = words
            await page.screenshot(path=str(ARTIFACTS / f"zh-{username}{path.replace('/', '-')}.png"))
    assert found == {}, json.dumps(found, ensure_ascii=False)


async def test_an_error_on_the_agent_page_is_in_chinese(site):
    stack, browser = site
    page = await _as(browser, stack.base_url, "agent1001")
    await page.wait_for_selector("#ws-status.ok")
    await page.fill("#dial-number", "12")  # too short a number: the server refuses it
    await page.click("#btn-dial")
    await page.wait_for_selector("#agent-error:not([hidden])")
    shown = await page.locator("#agent-error").text_content()
    assert english_words(shown) == [], shown


async def test_a_page_that_is_not_there_says_so_in_the_readers_language(site):
    stack, browser = site
    page = await _as(browser, stack.base_url, "agent1001")
    # A feature this site has not enabled (no recording store here), a mistyped link, a report gone.
    for path in ("/supervisor/recordings", "/no-such-page", "/reports/no_such_report"):
        response = await page.goto(stack.base_url + path)
        assert response is not None and response.status == 404
        await page.wait_for_selector("h2:has-text('找不到这个页面')")
        assert await page.locator("a[href='/']").count() > 0
    api = await page.request.get(stack.base_url + "/api/no-such-thing")
    assert api.status == 404 and "找不到" not in await api.text()  # the API keeps its own answer


# Not asked: ending the session (the scan goes on with it), and the socket (no JSON answer).
NOT_ASKED = {("DELETE", "/api/session"), ("GET", "/api/ws")}


@pytest.mark.parametrize("username", ["agent1001", "supervisor", "admin"])
async def test_no_error_the_server_sends_a_chinese_page_has_an_english_word(site, username):
    """Every operation of the API asked wrongly, as a Chinese page asks (X-Hotline-Lang): an id
    that does not exist, a body with a field no operation knows. Whatever the refusal (a role
    the user lacks, a state the agent is not in, a body the schema refuses), it reads in Chinese."""
    stack, _ = site
    csrf = await login(stack.client, username)
    document = await (await stack.client.get("/api/openapi.json")).json()
    headers = {"X-CSRF-Token": csrf, "X-Hotline-Lang": "zh-CN", "Accept": "application/json"}
    found, asked = {}, 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if (method.upper(), path) in NOT_ASKED or method not in {"get", "post", "put", "patch", "delete"}:
                continue
            url = re.sub(r"\{[^}]+\}", "999999", path)
            body = {"no_such_field": "x"} if "requestBody" in operation else None
            response = await stack.client.request(method.upper(), url, json=body, headers=headers)
            if response.status < 400 or response.content_type != "application/json":
                continue
            asked += 1
            message = str((await response.json()).get("message", ""))
            words = english_words(message)
            if words:
                found[f"{method.upper()} {path} → {response.status}"] = message
    assert asked > 50
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)
