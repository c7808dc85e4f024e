"""Recording search and QA scores read times like every query string: naive means the center's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.agent_api.stack import login
from tests.recording import audio
from tests.recording.stack import RecordingStack

pytestmark = pytest.mark.skipif(not audio.HAVE_TOOLS, reason="sox, espeak-ng and ffmpeg are needed")


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[RecordingStack]:
    running = await RecordingStack(tmp_path).start()
    try:
        # T0 is 2026-11-18 02:00 UTC: 10:00 in the center's time zone (Asia/Shanghai)
        await running.recorded_call("1795416380.1", audio.tone(tmp_path / "clip.wav", 1.0))
        await login(running.client, "supervisor")
        yield running
    finally:
        await running.stop()


async def _found(stack: RecordingStack, query: str) -> int:
    response = await stack.client.get("/api/recordings?" + query)
    assert response.status == 200, await response.text()
    return len((await response.json())["recordings"])


async def test_search_times_without_an_offset_are_the_centers_local_times(stack: RecordingStack):
    assert await _found(stack, "since=2026-12-01") == 0
    assert await _found(stack, "since=2026-11-18") == 1
    assert await _found(stack, "until=2026-11-18") == 0
    assert await _found(stack, "since=2026-11-18T09:30") == 1
    assert await _found(stack, "since=2026-11-18T10:30") == 0
    assert await _found(stack, "since=2026-11-18T01:30:00Z") == 1


@pytest.mark.parametrize("path", ["/api/recordings", "/api/recordings/scores"])
async def test_scores_and_search_take_a_naive_time(stack: RecordingStack, path: str):
    response = await stack.client.get(f"{path}?since=2026-11-01&until=2026-12-01T00:00:00")
    assert response.status == 200, await response.text()


@pytest.mark.parametrize("path", ["/api/recordings", "/api/recordings/scores"])
@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "tomorrow"])
async def test_a_time_out_of_range_or_not_a_time_is_a_400_naming_the_parameter(
    stack: RecordingStack, path: str, since: str
):
    response = await stack.client.get(path, params={"since": since})
    assert response.status == 400
    error = await response.json()
    assert error["error"] == "invalid_query"
    assert error["details"]["fields"][0]["loc"] == ["since"]
