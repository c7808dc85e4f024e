"""Schemathesis against the recordings routes, with a stored recording to aim at."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.agent_api.stack import login
from tests.agent_api.test_openapi import _fuzz
from tests.recording import audio
from tests.recording.stack import RecordingStack

pytestmark = pytest.mark.skipif(not audio.HAVE_TOOLS, reason="sox, espeak-ng and ffmpeg are needed")


@pytest.mark.parametrize("username", ["agent1001", "supervisor", "admin"])
async def test_fuzzing_the_recordings_routes_gets_no_server_error(tmp_path: Path, username: str):
    clip = audio.tone(tmp_path / "clip.wav", 2.0)
    stack = await RecordingStack(tmp_path).start()
    try:
        await stack.recorded_call("1795416380.1", clip)
        csrf = await login(stack.client, username)
        session_id = stack.client.session.cookie_jar.filter_cookies(stack.server.make_url("/"))[
            "hotline_session"
        ].value
        document = await (await stack.client.get("/api/openapi.json")).json()
        document["paths"] = {p: v for p, v in document["paths"].items() if p.startswith("/api/recordings")}
        assert len(document["paths"]) >= 10
        failures = await asyncio.to_thread(
            _fuzz, document, stack.base_url, {"hotline_session": session_id}, csrf
        )
        assert failures == []
    finally:
        await stack.stop()
