"""Consult transfer from the desktop: the API's steps on the switch, the call card and the pop on
the consulted agent's page as the tracker's events come, the errors when a step does not apply."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from acd.models import AgentState
from crm import accounts
from crm.kinds import Role
from cti.errors import AmiActionFailed
from cti.events import (
    CallAnswered,
    CallHeld,
    CallResumed,
    CallTransferred,
    ConferenceLeft,
    ConferenceStarted,
    ConsultCancelled,
    ConsultStarted,
    TransferKind,
)
from tests.agent_api.stack import CUSTOMER_PHONE, Stack, fast_passwords, login, next_frame

FIRST_LEG, SECOND_LEG = "PJSIP/1001-0000c1", "PJSIP/1002-0000c1"


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    stack = await Stack(tmp_path).start()
    yield stack
    await stack.stop()


def now() -> datetime:
    return datetime.now(UTC)


def asked(stack: Stack) -> list[tuple]:
    return [(r[0], *r[1]) for r in stack.switch.requests if r[0].startswith("consult")]


async def two_agents_first_talking(stack: Stack):  # type: ignore[no-untyped-def]
    """agent1001 answered call c1; agent1002 is ready on a page of their own."""
    first = {"X-CSRF-Token": await login(stack.client, "agent1001")}
    await stack.client.post("/api/agent/login", json={}, headers=first)
    ws1 = await stack.client.ws_connect("/api/ws")
    await next_frame(ws1, "hello")
    await accounts.create_account(
        stack.db,
        accounts.NewAccount(
            username="agent1002",
            password_hash=await fast_passwords().hash("demo"),
            roles=frozenset({Role.AGENT}),
            display_name="Agent 1002",
        ),
    )
    other = TestClient(stack.server)
    await other.start_server()
    second = {"X-CSRF-Token": await login(other, "agent1002")}
    await other.post("/api/agent/login", json={}, headers=second)
    ws2 = await other.ws_connect("/api/ws")
    await next_frame(ws2, "hello")
    stack.ring("c1")
    await next_frame(ws1, "pop")
    stack.bus.publish(CallAnswered(now(), "c1", "PJSIP/1001", "support", 2.0, FIRST_LEG))
    await next_frame(ws1, "call")
    return first, ws1, other, second, ws2


async def consulting(stack: Stack):  # type: ignore[no-untyped-def]
    first, ws1, other, second, ws2 = await two_agents_first_talking(stack)
    asked_for = await stack.client.post("/api/agent/calls/c1/consult", json={"target": "1002"}, headers=first)
    assert asked_for.status == 204, await asked_for.text()
    assert asked(stack) == [("consult", FIRST_LEG, "1002")]
    stack.bus.publish(CallHeld(now(), "c1", FIRST_LEG))
    stack.bus.publish(ConsultStarted(now(), "c1", "PJSIP/1001", "PJSIP/1002", SECOND_LEG))
    return first, ws1, other, second, ws2


async def test_a_consult_pops_the_callers_card_on_the_consulted_agents_page_and_makes_them_busy(stack: Stack):
    first, ws1, other, second, ws2 = await consulting(stack)
    try:
        pop = await next_frame(ws2, "pop")
        assert (pop["call_id"], pop["caller"], pop["consult_from"]) == ("c1", CUSTOMER_PHONE, "1001")
        assert pop["known"] is True and pop["offers"] == []  # the caller's card, no marketing
        card = await next_frame(ws1, "call")
        while card["consult"] != "consulting":
            card = await next_frame(ws1, "call")
        assert (card["consult_target"], card["held"]) == ("1002", True)
        assert stack.acd.states.get("agent1002").state is AgentState.RINGING
        # The consulted agent may not act on the caller's call, only hang up their own leg.
        held = await other.post("/api/agent/calls/c1/hold", json={"on": True}, headers=second)
        assert held.status == 409
        steps = await other.post("/api/agent/calls/c1/consult/complete", headers=second)
        assert steps.status == 409
        hangup = await other.post("/api/agent/calls/c1/hangup", headers=second)
        assert hangup.status == 204
        assert [r[1] for r in stack.switch.requests if r[0] == "hangup"] == [(SECOND_LEG,)]
        # The consulting agent finishes the consult before anything else.
        assert (
            await stack.client.post("/api/agent/calls/c1/hold", json={"on": True}, headers=first)
        ).status == 409
        again = await stack.client.post("/api/agent/calls/c1/consult", json={"target": "1002"}, headers=first)
        assert again.status == 409
    finally:
        await other.session.close()


async def test_a_cancelled_consult_takes_the_pop_back_without_a_wrap_up(stack: Stack):
    first, ws1, other, _second, ws2 = await consulting(stack)
    try:
        await next_frame(ws2, "pop")
        cancel = await stack.client.post("/api/agent/calls/c1/consult/cancel", headers=first)
        assert cancel.status == 204 and asked(stack)[-1] == ("consult_cancel", FIRST_LEG)
        stack.bus.publish(CallResumed(now(), "c1", FIRST_LEG))
        stack.bus.publish(ConsultCancelled(now(), "c1", "PJSIP/1001", "PJSIP/1002"))
        ended = await next_frame(ws2, "ended")
        assert (ended["call_id"], ended["wrapup"]) == ("c1", False)
        card = await next_frame(ws1, "call")
        while card["consult"] or card["held"]:
            card = await next_frame(ws1, "call")
        assert stack.acd.states.get("agent1002").state is AgentState.AVAILABLE
        assert stack.acd.states.get("agent1001").state is AgentState.ON_CALL
        late = await stack.client.post("/api/agent/calls/c1/consult/complete", headers=first)
        assert late.status == 409
    finally:
        await other.session.close()


async def test_a_completed_consult_gives_the_call_to_the_consulted_agent_and_wraps_up_the_first(stack: Stack):
    first, ws1, other, second, ws2 = await consulting(stack)
    try:
        await next_frame(ws2, "pop")
        done = await stack.client.post("/api/agent/calls/c1/consult/complete", headers=first)
        assert done.status == 204 and asked(stack)[-1] == ("consult_complete", FIRST_LEG)
        stack.bus.publish(CallResumed(now(), "c1", FIRST_LEG))
        stack.bus.publish(CallTransferred(now(), "c1", "PJSIP/1001", "PJSIP/1002", TransferKind.ATTENDED))
        stack.bus.publish(CallAnswered(now(), "c1", "PJSIP/1002", "support", 0.0, SECOND_LEG))
        ended = await next_frame(ws1, "ended")
        assert (ended["call_id"], ended["wrapup"]) == ("c1", True)
        card = await next_frame(ws2, "call")
        while card["consult"] or card["held"]:
            card = await next_frame(ws2, "call")
        assert card["answered"] is True
        assert stack.acd.states.get("agent1001").state is AgentState.WRAP_UP
        assert stack.acd.states.get("agent1002").state is AgentState.ON_CALL
        # The call is the second agent's now: their hang-up is their own leg.
        assert (await other.post("/api/agent/calls/c1/hangup", headers=second)).status == 204
        assert [r[1] for r in stack.switch.requests if r[0] == "hangup"] == [(SECOND_LEG,)]
    finally:
        await other.session.close()


async def test_a_three_way_call_shows_on_both_cards_and_the_one_who_leaves_wraps_up(stack: Stack):
    first, ws1, other, second, ws2 = await consulting(stack)
    try:
        await next_frame(ws2, "pop")
        made = await stack.client.post("/api/agent/calls/c1/consult/conference", headers=first)
        assert made.status == 204 and asked(stack)[-1] == ("consult_conference", FIRST_LEG)
        stack.bus.publish(CallResumed(now(), "c1", FIRST_LEG))
        stack.bus.publish(ConferenceStarted(now(), "c1", "PJSIP/1001", "PJSIP/1002", SECOND_LEG))
        for ws in (ws1, ws2):
            card = await next_frame(ws, "call")
            while card["consult"] != "conference":
                card = await next_frame(ws, "call")
        assert stack.acd.states.get("agent1002").state is AgentState.ON_CALL
        stack.bus.publish(ConferenceLeft(now(), "c1", "PJSIP/1001"))
        ended = await next_frame(ws1, "ended")
        assert ended["wrapup"] is True
        assert stack.acd.states.get("agent1001").state is AgentState.WRAP_UP
        assert (await other.post("/api/agent/calls/c1/hangup", headers=second)).status == 204
        assert [r[1] for r in stack.switch.requests if r[0] == "hangup"] == [(SECOND_LEG,)]
    finally:
        await other.session.close()


async def test_a_consult_needs_a_known_agent_other_than_me_and_the_switchs_refusal_is_clear(stack: Stack):
    first, _ws1, other, _second, _ws2 = await two_agents_first_talking(stack)
    try:
        for target, status in (("nobody", 400), ("1001", 400), ("agent1001", 400), ("10 02", 422)):
            answer = await stack.client.post(
                "/api/agent/calls/c1/consult", json={"target": target}, headers=first
            )
            assert answer.status == status, (target, await answer.text())
        none = await stack.client.post("/api/agent/calls/c1/consult/cancel", headers=first)
        assert none.status == 409
        assert (await stack.client.post("/api/agent/calls/zz/consult/cancel", headers=first)).status == 404

        async def refuse(*_args, **_kwargs):  # type: ignore[no-untyped-def]
            raise AmiActionFailed("Atxfer", "No attended transfer feature code found", "a1")

        stack.switch.consult = refuse  # type: ignore[method-assign]
        refused = await stack.client.post(
            "/api/agent/calls/c1/consult", json={"target": "1002"}, headers=first
        )
        assert refused.status == 409
        assert "No attended transfer feature code found" in (await refused.json())["message"]
        assert asked(stack) == []
    finally:
        await other.session.close()
