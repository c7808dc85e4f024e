"""Click-to-dial holds the agent as outbound in the ACD: no inbound call meanwhile, the wallboard
shows it, and the agent is back where they were (wrap-up, or their pause) when it is over."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from acd.events import CallbackFailed, CallbackStarted
from acd.models import AgentState
from agent_api.context import SERVICES
from crm.models import Contact
from cti.events import CallAnswered, CallEnded, CallOffered, CallQueued, CallRinging, EndCause
from cti.switch import OriginateResult
from tests.agent_api.stack import CUSTOMER_NAME, CUSTOMER_PHONE, Stack, login, next_frame


async def until(predicate: Callable[[], bool], within_s: float = 5.0) -> None:
    async with asyncio.timeout(within_s):
        while not predicate():  # noqa: ASYNC110  (state of other tasks, no event to wait on)
            await asyncio.sleep(0.01)


def phone_answers(stack: Stack, call_id: str, *, answered: bool = True) -> None:
    """Originate as Asterisk does it: the agent's phone rings (and is picked up), then the answer."""

    async def originate(**kwargs: Any) -> OriginateResult:
        stack.switch.requests.append(("originate", (), kwargs))
        now = datetime.now(UTC)
        stack.bus.publish(CallRinging(now, call_id, "PJSIP/1001", "", f"PJSIP/1001-{call_id}"))
        dial = stack.app[SERVICES].desktop.dials.of_agent("agent1001")
        if dial is not None:  # the phone rings for seconds: the desktop sees it before the outcome
            await dial.bound.wait()
        if answered:
            stack.bus.publish(CallAnswered(now, call_id, "PJSIP/1001", "", 0.0, f"PJSIP/1001-{call_id}"))
        else:  # the ring timed out: the phone's channel hangs up before Asterisk reports the failure
            stack.bus.publish(CallEnded(now, call_id, EndCause.NO_ANSWER, 0.0))
        return OriginateResult("a1", answered, "PJSIP/1001", "" if answered else "3")

    stack.switch.originate = originate  # type: ignore[method-assign]


async def test_dialing_out_makes_the_agent_outbound_until_the_call_ends_then_wrap_up(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    headers = {"X-CSRF-Token": csrf}
    await stack.client.post("/api/agent/login", json={}, headers=headers)
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    phone_answers(stack, "out1")

    response = await stack.client.post("/api/agent/dial", json={"number": CUSTOMER_PHONE}, headers=headers)
    assert response.status == 200, await response.text()
    assert stack.acd.states.get("agent1001").state is AgentState.OUTBOUND
    pop = await next_frame(ws, "pop")
    assert pop["call_id"] == "out1" and pop["direction"] == "outbound"
    assert pop["customer"]["name"] == CUSTOMER_NAME and pop["offers"] == []
    status = await (await stack.client.get("/api/agent/status")).json()
    assert status["state"] == "outbound"
    # The supervisor's browser: the wallboard shows them outbound. (TestClient.close would stop
    # the shared server: only this browser's session is closed.)
    boss = TestClient(stack.server)
    await boss.start_server()
    await login(boss, "supervisor")
    board_ws = await boss.ws_connect("/api/ws")
    board = (await next_frame(board_ws, "board"))["board"]
    assert [(a["agent"], a["state"]) for a in board["agents"]] == [("agent1001", "outbound")]
    await board_ws.close()
    await boss.session.close()

    # A caller waiting meanwhile is not offered to the agent who is dialing out.
    now = datetime.now(UTC)
    stack.bus.publish(CallOffered(now, "in1", "13911112222", "", "4008001234", "PJSIP/trunk-in1"))
    stack.bus.publish(CallQueued(now, "in1", "support", 1))
    await until(lambda: stack.acd.snapshot("support").waiting == 1)
    assert "redirect" not in stack.switch.names()

    stack.bus.publish(CallEnded(datetime.now(UTC), "out1", EndCause.NORMAL, 42.0))
    assert (await next_frame(ws, "ended"))["call_id"] == "out1"
    await until(lambda: stack.acd.states.get("agent1001").state is AgentState.WRAP_UP)
    done = await stack.client.post(
        "/api/agent/calls/out1/wrapup", json={"disposition": "info", "ready": True}, headers=headers
    )
    assert done.status == 200, await done.text()
    async with stack.db.read() as session:
        [contact] = (await session.scalars(select(Contact).where(Contact.call_id == "out1"))).all()
    assert (contact.channel, contact.customer_id) == ("call_out", stack.customer_id)
    # Ready again: now the waiting caller is delivered to them.
    await until(lambda: "redirect" in stack.switch.names())
    await ws.close()


async def test_a_paused_agent_returns_to_their_pause_after_dialing_out(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    headers = {"X-CSRF-Token": csrf}
    await stack.client.post("/api/agent/login", json={}, headers=headers)
    await stack.client.post("/api/agent/pause", json={"reason": "break"}, headers=headers)
    phone_answers(stack, "out2")
    assert (await stack.client.post("/api/agent/dial", json={"number": "13900001111"}, headers=headers)).ok
    assert stack.acd.states.get("agent1001").state is AgentState.OUTBOUND
    stack.bus.publish(CallEnded(datetime.now(UTC), "out2", EndCause.NORMAL, 10.0))
    await until(lambda: stack.acd.states.get("agent1001").state is AgentState.PAUSED)
    assert stack.acd.states.get("agent1001").reason == "break"


async def test_a_dial_the_agent_does_not_pick_up_leaves_them_available_without_wrap_up(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    headers = {"X-CSRF-Token": csrf}
    await stack.client.post("/api/agent/login", json={}, headers=headers)
    phone_answers(stack, "out3", answered=False)
    response = await stack.client.post("/api/agent/dial", json={"number": "13900001111"}, headers=headers)
    assert (await response.json())["success"] is False
    await until(lambda: not stack.app[SERVICES].desktop.active("agent1001"))
    await until(lambda: stack.acd.states.get("agent1001").state is AgentState.AVAILABLE)
    ws = await stack.client.ws_connect("/api/ws")
    hello = await next_frame(ws, "hello")
    assert hello["pending"] == []  # nobody was dialed: nothing to wrap up
    await ws.close()


async def test_a_dial_whose_call_never_shows_up_does_not_hold_the_agent_for_ever(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    headers = {"X-CSRF-Token": csrf}
    await stack.client.post("/api/agent/login", json={}, headers=headers)
    desktop = stack.app[SERVICES].desktop
    dial = await desktop.dial_started("agent1001", "13900001111")
    assert stack.acd.states.get("agent1001").state is AgentState.OUTBOUND
    await desktop.dial_placed(dial, bind_timeout_s=0.01)
    assert stack.acd.states.get("agent1001").state is AgentState.AVAILABLE


async def test_dialing_out_is_refused_while_ringing_or_dialing_already(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    headers = {"X-CSRF-Token": csrf}
    await stack.client.post("/api/agent/login", json={}, headers=headers)
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring("r1")
    await next_frame(ws, "pop")
    await until(lambda: stack.acd.states.get("agent1001").state is AgentState.RINGING)
    refused = await stack.client.post("/api/agent/dial", json={"number": "13900001111"}, headers=headers)
    assert refused.status == 409 and "ringing" in (await refused.json())["message"]
    assert "originate" not in stack.switch.names()
    await ws.close()


async def test_a_callback_pops_the_customer_being_called_back(stack: Stack):
    """The ACD's callback rings the agent's phone outside any queue, as a click-to-dial does: the
    pop names the customer whose number is dialed, and a failed attempt leaves nothing behind."""
    await login(stack.client, "agent1001")
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    now = datetime.now(UTC)
    stack.bus.publish(CallbackStarted(now, "cb-1", CUSTOMER_PHONE, "support", "agent1001", 1))
    stack.bus.publish(CallRinging(now, "cb-call", "PJSIP/1001", "", "PJSIP/1001-cb"))
    pop = await next_frame(ws, "pop")
    assert (pop["call_id"], pop["caller"], pop["queue"], pop["direction"]) == (
        "cb-call",
        CUSTOMER_PHONE,
        "support",
        "outbound",
    )
    assert pop["customer"]["name"] == CUSTOMER_NAME
    stack.bus.publish(CallEnded(now, "cb-call", EndCause.NO_ANSWER, 0.0))
    assert (await next_frame(ws, "ended"))["call_id"] == "cb-call"
    desktop = stack.app[SERVICES].desktop
    # A second attempt whose phone never rang: the agent can dial out afterwards.
    stack.bus.publish(CallbackStarted(now, "cb-1", CUSTOMER_PHONE, "support", "agent1001", 2))
    await until(lambda: desktop.dials.of_agent("agent1001") is not None)
    stack.bus.publish(CallbackFailed(now, "cb-1", CUSTOMER_PHONE, "support", "agent1001", 2, "unreachable"))
    await until(lambda: desktop.dials.of_agent("agent1001") is None)
    await ws.close()
