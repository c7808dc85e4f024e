"""The pop says what the caller pressed in the IVR, menu by menu; the full path stays for a look."""

from __future__ import annotations

from datetime import UTC, datetime

from cti.events import CallOffered
from ivr.events import IvrCompleted, IvrOutcome, PathEntry
from tests.agent_api.stack import Stack, login, next_frame


async def test_the_pop_carries_the_keys_the_caller_pressed(stack: Stack):
    await login(stack.client, "agent1001")
    await stack.acd.login("agent1001")
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    now = datetime.now(UTC)
    stack.bus.publish(CallOffered(now, "k1", "13800138000", "", "4008001234", "PJSIP/trunk-k1"))
    path = (
        PathEntry("welcome", "play"),
        PathEntry("main", "menu", digits="3"),
        PathEntry("buy", "menu", digits="1", result="sales"),
    )
    stack.bus.publish(
        IvrCompleted(
            now,
            "k1",
            "PJSIP/trunk-k1",
            "13800138000",
            "4008001234",
            path,
            "sales",
            "sales",
            0,
            "zh",
            None,
            IvrOutcome.QUEUED,
        )
    )
    stack.ring("k1")
    pop = await next_frame(ws, "pop")
    await ws.close()
    assert pop["ivr_keys"] == ["3", "1"]
    assert pop["ivr_path"] == ["welcome", "main [3]", "buy [1] → sales"]
    assert pop["ivr_steps"] == [
        {"kind": "play", "digits": "", "result": ""},
        {"kind": "menu", "digits": "3", "result": ""},
        {"kind": "menu", "digits": "1", "result": "sales"},
    ]
