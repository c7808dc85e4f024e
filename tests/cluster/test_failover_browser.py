"""The agent's page in Debian's chromium, served by the follower, while the leader is SIGKILLed:
it marks itself stale, comes back by itself on the same session once the follower leads, the
agent still logged in, and the next call pops on it."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from crm import accounts
from crm.accounts import NewAccount, Role
from cti.simulator import AgentScript, CallerScript, SwitchSimulator
from tests.browser.conftest import ARTIFACTS, browser  # noqa: F401  (the chromium fixture)
from tests.cluster.test_failover import START_S, Node, cluster_env, start_node
from tests.crm.conftest import _emptied
from tests.e2e.system import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.browser]

PASSWORD = "a-long-password"
LEASE_S = 2.0


async def test_the_agents_page_on_the_follower_comes_back_by_itself_after_the_leader_is_killed(
    postgres_url: str,
    broker_url: str,
    tmp_path: Path,
    browser: Any,  # noqa: F811
) -> None:
    db = await _emptied(postgres_url)
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    try:
        await accounts.create_account(
            db,
            NewAccount(
                "agent2001", cheap, frozenset({Role.AGENT}), display_name="王芳",
                extension="2001", skills={"support": 5},
            ),
        )  # fmt: skip
    finally:
        await db.dispose()
    phone = AgentScript("2001", name="王芳", answer_after_s=0.5, hangup_after_s=3.0)
    sim = SwitchSimulator(agents=[phone], agi_url=f"agi://127.0.0.1:{free_port()}/ivr")
    ami_port = await sim.start("127.0.0.1", 0)
    env = cluster_env(postgres_url, broker_url, sim, ami_port, LEASE_S)
    nodes: list[Node] = []
    try:
        nodes = [await start_node("one", tmp_path, env)]
        await nodes[0].until("Hotline is running", START_S)
        nodes.append(await start_node("two", tmp_path, env))
        leader, follower = nodes
        await follower.until("cluster_standby", START_S)
        sim.agi_url = f"agi://127.0.0.1:{follower.agi_port}/ivr"
        base = f"http://127.0.0.1:{follower.http_port}"

        context = await browser.new_context(viewport={"width": 1366, "height": 768})
        page = await context.new_page()
        await page.goto(base + "/login")
        await page.fill("#username", "agent2001")
        await page.fill("#password", PASSWORD)
        await page.click("#login-submit")
        await page.wait_for_url(lambda url: "/login" not in url)
        await page.click("#btn-login")
        await page.wait_for_selector("#ws-status.ok")
        await page.wait_for_selector("#agent-state:not(:text-is('-'))")
        before = await page.locator("#agent-state").inner_text()
        await page.screenshot(path=str(ARTIFACTS / "cluster-follower-page.png"))

        leader.process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        await page.wait_for_selector("body.stale", timeout=10_000)
        await page.screenshot(path=str(ARTIFACTS / "cluster-follower-page-stale.png"))
        await follower.until("Hotline is running", 20)
        await page.wait_for_selector("body:not(.stale) #ws-status.ok", timeout=30_000)
        back_s = time.monotonic() - killed
        assert back_s < 30
        assert await page.locator("#agent-state").inner_text() == before  # still logged in, as before
        assert page.url.startswith(base) and "/login" not in page.url

        # The next call pops on the page, from the new leader.
        sim.place_call(CallerScript(caller="13900000001", hangup_after_s=30.0))
        await page.wait_for_selector("article.pop", timeout=20_000)
        await page.screenshot(path=str(ARTIFACTS / "cluster-follower-page-after.png"))
        await context.close()
    finally:
        for node in nodes:
            await node.stop()
        await sim.stop()
