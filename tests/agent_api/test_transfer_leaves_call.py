"""After a transfer the call goes on without the agent: their page drops it and offers the wrap-up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from agent_api.context import SERVICES
from cti.events import CallAnswered, CallRinging, CallTransferred, TransferKind
from tests.agent_api.stack import Stack, login, next_frame


async def test_a_transferred_call_ends_for_the_agent_and_pops_for_the_next_one(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring("t1")
    await next_frame(ws, "pop")
    now = datetime.now(UTC)
    stack.bus.publish(CallAnswered(now, "t1", "PJSIP/1001", "support", 2.0, "PJSIP/1001-t1"))
    transfer = await stack.client.post(
        "/api/agent/calls/t1/transfer",
        json={"kind": "agent", "target": "1002"},
        headers={"X-CSRF-Token": csrf},
    )
    assert transfer.status == 204
    stack.bus.publish(CallTransferred(now, "t1", "PJSIP/1001", "1002", TransferKind.BLIND))
    assert (await next_frame(ws, "ended"))["call_id"] == "t1"
    stack.bus.publish(CallRinging(now, "t1", "PJSIP/1002", "", "PJSIP/1002-t1"))
    await ws.close()
    again = await stack.client.ws_connect("/api/ws")
    hello = await next_frame(again, "hello")
    assert hello["pops"] == [] and hello["pending"] == ["t1"]
    await again.close()
    # The call goes on with agent 1002, who has it on their desktop.
    desktop = stack.app[SERVICES].desktop
    async with asyncio.timeout(5):
        while not desktop.active("agent1002"):  # noqa: ASYNC110  (the feed task's state)
            await asyncio.sleep(0.01)
    assert [p.call_id for p in desktop.active("agent1002")] == ["t1"]
