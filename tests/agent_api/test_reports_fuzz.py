"""Schemathesis against the report routes, with facts and a saved report to aim at: no 500s."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from crm.kinds import Role
from crm.reporting import saved
from tests.agent_api.stack import Stack, login
from tests.agent_api.test_openapi import _fuzz
from tests.agent_api.test_reports_api import CALLS_BY_QUEUE, add_account, seed


@pytest.mark.parametrize("username", ["agent1001", "supervisor", "ana"])
async def test_fuzzing_the_report_routes_gets_no_server_error(tmp_path: Path, username: str):
    stack = await Stack(tmp_path).start()
    try:
        await seed(stack)
        await add_account(stack, "ana", Role.ANALYST)
        await saved.create_report(
            stack.db, owner="ana", name="calls", definition=CALLS_BY_QUEUE, shared_roles=["supervisor"]
        )
        csrf = await login(stack.client, username)
        session_id = stack.client.session.cookie_jar.filter_cookies(stack.server.make_url("/"))[
            "hotline_session"
        ].value
        document = await (await stack.client.get("/api/openapi.json")).json()
        document["paths"] = {p: v for p, v in document["paths"].items() if p.startswith("/api/reports")}
        assert len(document["paths"]) >= 8
        failures = await asyncio.to_thread(
            _fuzz, document, stack.base_url, {"hotline_session": session_id}, csrf
        )
        assert failures == []
    finally:
        await stack.stop()
