"""A call's paused recording stays shown as paused: on the live socket and after a page reload."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from cti.events import CallRinging
from tests.agent_api.stack import login, next_frame
from tests.recording.calls import T0, call_events
from tests.recording.stack import RecordingStack

CALL = "1795416380.21"


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[RecordingStack]:
    running = await RecordingStack(tmp_path).start()
    try:
        yield running
    finally:
        await running.stop()


async def test_the_paused_recording_is_in_the_call_frame_and_in_the_resync_after_a_reload(stack):
    start, _, _ = call_events(CALL)
    for event in start:  # the recording service sees the call recorded and answered
        await stack.service.handle(event)
    csrf = await login(stack.client, "agent1001")
    headers = {"X-CSRF-Token": csrf}
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    offered, _recording, queued, answered = start
    stack.bus.publish(offered)
    stack.bus.publish(queued)
    stack.bus.publish(CallRinging(T0 + timedelta(seconds=4), CALL, "PJSIP/1001", "support", "PJSIP/1001-1"))
    stack.bus.publish(answered)
    pop = await next_frame(ws, "pop")
    assert pop["recording_paused"] is False
    assert (await next_frame(ws, "call"))["answered"] is True

    paused = await stack.client.post(f"/api/recordings/calls/{CALL}/pause", headers=headers)
    assert paused.status == 200, await paused.text()
    frame = await next_frame(ws, "call")
    assert (frame["call_id"], frame["recording_paused"]) == (CALL, True)
    await ws.close()

    reloaded = await stack.client.ws_connect("/api/ws")
    [again] = (await next_frame(reloaded, "hello"))["pops"]
    assert (again["call_id"], again["recording_paused"], again["answered"]) == (CALL, True, True)
    resumed = await stack.client.post(f"/api/recordings/calls/{CALL}/resume", headers=headers)
    assert resumed.status == 200
    assert (await next_frame(reloaded, "call"))["recording_paused"] is False
    await reloaded.close()
