"""Schemathesis over the whole API with an outside probe's hostile shapes: never a 5xx.

Each operation of /api/openapi.json gets the cases schemathesis draws from its schema, bent by
each shape of tests/agent_api/hostile.py that applies to it: bodies nested past the depth budget
or over the size budget, integers past 64 bits, times without an offset or past the calendar's
ends, control characters.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from crm import accounts
from crm.kinds import Role
from tests.agent_api.hostile import hostile_strategies
from tests.agent_api.stack import fast_passwords, login
from tests.agent_api.test_openapi import _fuzz
from tests.recording import audio
from tests.recording.stack import RecordingStack

pytestmark = pytest.mark.skipif(not audio.HAVE_TOOLS, reason="sox, espeak-ng and ffmpeg are needed")

EXAMPLES_PER_SHAPE = 2  # per operation: every shape that applies is tried on every operation


@pytest.mark.parametrize("username", ["agent1001", "supervisor", "admin", "ana"])
async def test_hostile_requests_to_every_operation_get_no_server_error(tmp_path: Path, username: str):
    stack = await RecordingStack(tmp_path).start()
    try:
        await stack.recorded_call("1795416380.1", audio.tone(tmp_path / "clip.wav", 1.0))
        await accounts.create_account(
            stack.db,
            accounts.NewAccount(
                username="ana",
                password_hash=await fast_passwords().hash("demo"),
                roles=frozenset({Role.ANALYST}),
                display_name="ana",
            ),
        )
        csrf = await login(stack.client, username)
        session_id = stack.client.session.cookie_jar.filter_cookies(stack.server.make_url("/"))[
            "hotline_session"
        ].value
        document = await (await stack.client.get("/api/openapi.json")).json()
        assert any(path.startswith("/api/recordings") for path in document["paths"])
        failures = await asyncio.to_thread(
            _fuzz,
            document,
            stack.base_url,
            {"hotline_session": session_id},
            csrf,
            cases=hostile_strategies,
            max_examples=EXAMPLES_PER_SHAPE,
        )
        assert failures == []
    finally:
        await stack.stop()
