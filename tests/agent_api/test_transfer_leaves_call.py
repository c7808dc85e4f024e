"""A call that goes on without the agent leaves their screen: after their transfer (with a wrap-up),
or when the ACD takes a ring back from them (without one)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from acd.events import AgentStateChanged
from acd.models import AgentState
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


async def test_a_ring_the_acd_takes_back_leaves_the_screen_without_a_wrap_up(stack: Stack):
    await login(stack.client, "agent1001")
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring("m1")
    await next_frame(ws, "pop")
    # Ring-no-answer: the ACD pauses the agent as "missed" and gives the caller to someone else.
    stack.bus.publish(
        AgentStateChanged(
            datetime.now(UTC), "agent1001", AgentState.PAUSED, AgentState.RINGING, "missed", "support", "m1"
        )
    )
    ended = await next_frame(ws, "ended")
    assert (ended["call_id"], ended["wrapup"]) == ("m1", False)
    stack.hang_up("m1")  # later the caller's call ends elsewhere: nothing more for this agent
    await ws.close()
    again = await stack.client.ws_connect("/api/ws")
    hello = await next_frame(again, "hello")
    assert hello["pops"] == [] and hello["pending"] == []
    await again.close()


async def test_an_agent_who_picks_up_after_the_ring_was_taken_back_gets_the_card_again(stack: Stack):
    await login(stack.client, "agent1001")
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring("m2")
    await next_frame(ws, "pop")
    now = datetime.now(UTC)
    stack.bus.publish(
        AgentStateChanged(now, "agent1001", AgentState.PAUSED, AgentState.RINGING, "missed", "support", "m2")
    )
    assert (await next_frame(ws, "ended"))["wrapup"] is False
    stack.bus.publish(CallAnswered(now, "m2", "PJSIP/1001", "support", 20.0, "PJSIP/1001-m2"))
    pop = await next_frame(ws, "pop")
    assert pop["call_id"] == "m2" and pop["customer"] is not None
    assert (await next_frame(ws, "call"))["answered"] is True
    await ws.close()
