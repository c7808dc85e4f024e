"""The agent desktop over real sockets: ACD login, screen-pop on the WebSocket, call controls, wrap-up."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from acd.gate import MarketingPolicy
from agent_api.desktop.services import ACTIVE_POPS
from crm.models import Contact, OfferPresentation
from cti.errors import AmiActionFailed
from cti.events import CallAnswered, CallHeld, CallResumed
from tests.agent_api.stack import CUSTOMER_NAME, Stack, login, next_frame


async def test_agent_login_makes_the_agent_available_in_the_queues_of_their_skills(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    response = await stack.client.post("/api/agent/login", json={}, headers={"X-CSRF-Token": csrf})
    assert response.status == 200
    status = await response.json()
    assert status["state"] == "available"
    assert status["queues"] == ["support"]
    # The fallback queues' static member is unpaused (docs/routing.md).
    assert ("queue_pause", ("PJSIP/1001",), {"paused": False, "reason": ""}) in stack.switch.requests


async def test_a_ringing_call_pops_the_customer_card_with_the_offer_on_the_agents_socket(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    await stack.client.post("/api/agent/login", json={}, headers={"X-CSRF-Token": csrf})
    stack.acd.gate.set_policy(MarketingPolicy("default", ("support",), max_agents=5))
    ws = await stack.client.ws_connect("/api/ws")
    hello = await next_frame(ws, "hello")
    assert hello["pops"] == []
    stack.ring("c1")
    pop = await next_frame(ws, "pop")
    assert pop["call_id"] == "c1"
    assert pop["customer"]["name"] == CUSTOMER_NAME
    assert pop["known"] is True
    assert [o["campaign_id"] for o in pop["offers"]] == [stack.campaign_id]
    assert pop["marketing"]["admitted"] is True
    await ws.close()


async def test_no_offer_is_shown_when_the_threshold_admits_no_marketing(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    await stack.client.post("/api/agent/login", json={}, headers={"X-CSRF-Token": csrf})
    stack.acd.gate.set_policy(MarketingPolicy("default", ("support",), max_agents=0))
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring("c2")
    pop = await next_frame(ws, "pop")
    assert pop["offers"] == []
    assert pop["marketing"] == {"admitted": False, "reason": "threshold-reached"}
    await ws.close()


async def test_an_unknown_caller_pops_as_a_new_caller(stack: Stack):
    await login(stack.client, "agent1001")
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring("c3", caller="13911112222")
    pop = await next_frame(ws, "pop")
    assert pop["known"] is False and pop["customer"] is None
    await ws.close()


async def test_a_reconnecting_page_gets_live_calls_and_never_an_ended_one(stack: Stack):
    await login(stack.client, "agent1001")
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring("live")
    stack.ring("gone")
    await next_frame(ws, "pop")
    await next_frame(ws, "pop")
    stack.hang_up("gone")
    ended = await next_frame(ws, "ended")
    assert ended["call_id"] == "gone"
    await ws.close()
    again = await stack.client.ws_connect("/api/ws")
    hello = await next_frame(again, "hello")
    assert [p["call_id"] for p in hello["pops"]] == ["live"]
    assert hello["pending"] == ["gone"]
    await again.close()


async def test_the_wrap_up_stores_one_contact_with_the_offer_outcome_and_a_ticket(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    headers = {"X-CSRF-Token": csrf}
    await stack.client.post("/api/agent/login", json={}, headers=headers)
    stack.acd.gate.set_policy(MarketingPolicy("default", ("support",), max_agents=5))
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring("c4")
    await next_frame(ws, "pop")
    stack.hang_up("c4")
    await next_frame(ws, "ended")
    body = {
        "disposition": "resolved",
        "notes": "升级宽带",
        "offer": {"campaign_id": stack.campaign_id, "outcome": "accepted"},
        "new_ticket": {"kind": "service_request", "subject": "上门安装"},
    }
    response = await stack.client.post("/api/agent/calls/c4/wrapup", json=body, headers=headers)
    assert response.status == 200, await response.text()
    done = await response.json()
    assert done["ticket_number"].startswith("T")
    async with stack.db.read() as session:
        contacts = (await session.scalars(select(Contact).where(Contact.call_id == "c4"))).all()
        presentations = (await session.scalars(select(OfferPresentation))).all()
    assert len(contacts) == 1 and contacts[0].customer_id == stack.customer_id
    assert contacts[0].agent == "agent1001" and contacts[0].disposition == "resolved"
    assert [(p.campaign_id, p.outcome) for p in presentations] == [(stack.campaign_id, "accepted")]
    again = await stack.client.post("/api/agent/calls/c4/wrapup", json=body, headers=headers)
    assert again.status == 404  # one contact record per call
    await ws.close()


async def test_an_offer_that_was_not_shown_cannot_be_recorded(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    headers = {"X-CSRF-Token": csrf}
    await stack.client.post("/api/agent/login", json={}, headers=headers)
    stack.acd.gate.set_policy(MarketingPolicy("default", ("support",), max_agents=0))
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring("c5")
    await next_frame(ws, "pop")
    stack.hang_up("c5")
    await next_frame(ws, "ended")
    body = {"disposition": "resolved", "offer": {"campaign_id": stack.campaign_id, "outcome": "accepted"}}
    response = await stack.client.post("/api/agent/calls/c5/wrapup", json=body, headers=headers)
    assert response.status == 400
    assert "not shown" in (await response.json())["message"]
    await ws.close()


async def test_call_controls_reach_the_switch_for_the_agents_own_call_only(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    headers = {"X-CSRF-Token": csrf}
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring("mine")
    stack.ring("theirs", agent="PJSIP/1002")
    await next_frame(ws, "pop")
    hangup = await stack.client.post("/api/agent/calls/mine/hangup", headers=headers)
    assert hangup.status == 204
    assert stack.switch.requests[-1][:2] == ("hangup", ("PJSIP/1001-0000mine",))
    other = await stack.client.post("/api/agent/calls/theirs/hangup", headers=headers)
    assert other.status == 404
    transfer = await stack.client.post(
        "/api/agent/calls/mine/transfer", json={"kind": "queue", "target": "sales"}, headers=headers
    )
    assert transfer.status == 204
    assert stack.switch.requests[-1][0] == "redirect"
    assert stack.switch.requests[-1][2]["context"] == "hotline-requeue"
    dial = await stack.client.post("/api/agent/dial", json={"number": "13900001111"}, headers=headers)
    assert dial.status == 200
    assert stack.switch.requests[-1][2]["context"] == "click-to-dial"
    await ws.close()


async def test_a_failing_crm_lookup_still_pops_the_call_without_the_customer(stack: Stack):
    async def broken(*args, **kwargs):
        raise OSError("disk I/O error")

    stack.crm.screen_pop = broken  # type: ignore[method-assign]
    await login(stack.client, "agent1001")
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring("c6")
    pop = await next_frame(ws, "pop")
    assert pop["call_id"] == "c6" and pop["lookup_failed"] is True and pop["customer"] is None
    assert pop["caller"] == "13800138000"
    await ws.close()


async def test_hold_and_resume_move_both_legs_on_the_switch_and_the_button_state_follows(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    headers = {"X-CSRF-Token": csrf}
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring("h1")
    await next_frame(ws, "pop")
    unanswered = await stack.client.post("/api/agent/calls/h1/hold", json={"on": True}, headers=headers)
    assert unanswered.status == 409 and "answered" in (await unanswered.json())["message"]
    now = datetime.now(UTC)
    stack.bus.publish(CallAnswered(now, "h1", "PJSIP/1001", "support", 3.0, "PJSIP/1001-0000h1"))
    await next_frame(ws, "call")
    hold = await stack.client.post("/api/agent/calls/h1/hold", json={"on": True}, headers=headers)
    assert hold.status == 204
    assert stack.switch.requests[-1] == ("hold", ("PJSIP/trunk-h1", "PJSIP/1001-0000h1"), {})
    stack.bus.publish(CallHeld(now, "h1", "PJSIP/1001-0000h1"))
    assert (await next_frame(ws, "call"))["held"] is True
    # A reload: the page's resync says the call is held, so the button offers Resume.
    again = await stack.client.ws_connect("/api/ws")
    [pop] = (await next_frame(again, "hello"))["pops"]
    assert pop["held"] is True
    await again.close()
    # Holding again sends nothing; resuming sends the resume.
    await stack.client.post("/api/agent/calls/h1/hold", json={"on": True}, headers=headers)
    assert stack.switch.names().count("hold") == 1
    resume = await stack.client.post("/api/agent/calls/h1/hold", json={"on": False}, headers=headers)
    assert resume.status == 204
    assert stack.switch.requests[-1] == ("resume", ("PJSIP/trunk-h1", "PJSIP/1001-0000h1"), {})
    stack.bus.publish(CallResumed(now, "h1", "PJSIP/1001-0000h1"))
    assert (await next_frame(ws, "call"))["held"] is False
    await ws.close()


async def answered_on_screen(stack: Stack, call_id: str) -> Any:
    """The call rang and was answered, as the agent's page saw it; returns the open socket."""
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring(call_id)
    await next_frame(ws, "pop")
    agent_leg = f"PJSIP/1001-0000{call_id}"
    stack.bus.publish(CallAnswered(datetime.now(UTC), call_id, "PJSIP/1001", "support", 3.0, agent_leg))
    await next_frame(ws, "call")
    return ws


async def test_a_hold_from_the_phone_is_not_resumed_from_the_desktop(stack: Stack):
    headers = {"X-CSRF-Token": await login(stack.client, "agent1001")}
    ws = await answered_on_screen(stack, "h2")
    stack.bus.publish(CallHeld(datetime.now(UTC), "h2", "PJSIP/1001-0000h2"))  # the phone's hold key
    assert (await next_frame(ws, "call"))["held"] is True
    refused = await stack.client.post("/api/agent/calls/h2/hold", json={"on": False}, headers=headers)
    assert refused.status == 409 and "phone" in (await refused.json())["message"]
    assert "resume" not in stack.switch.names()
    await ws.close()


async def test_a_hold_the_switch_refuses_is_a_conflict_with_asterisks_message(stack: Stack):
    headers = {"X-CSRF-Token": await login(stack.client, "agent1001")}
    ws = await answered_on_screen(stack, "h3")

    async def gone(*args: object, **kwargs: object) -> None:
        raise AmiActionFailed("Setvar", "No such channel")

    stack.switch.hold = gone  # type: ignore[method-assign]
    refused = await stack.client.post("/api/agent/calls/h3/hold", json={"on": True}, headers=headers)
    assert refused.status == 409 and "No such channel" in (await refused.json())["message"]
    await ws.close()


async def test_pops_whose_end_was_never_seen_do_not_pile_up(stack: Stack):
    await login(stack.client, "agent1001")
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    for n in range(ACTIVE_POPS + 3):
        stack.ring(f"lost{n}")
        await next_frame(ws, "pop")
    await ws.send_str("resync")
    hello = await next_frame(ws, "hello")
    assert [p["call_id"] for p in hello["pops"]] == [f"lost{n}" for n in range(3, ACTIVE_POPS + 3)]
    await ws.close()
