"""The wrap-up updates (or resolves) a ticket the pop showed; a reload keeps what the wrap-up needs;
the supervisor's load conditions are shown on the board and audited."""

from __future__ import annotations

from sqlalchemy import select

from crm import audit as audit_log
from crm import customers
from crm.kinds import TicketKind
from crm.models import Contact, Ticket
from crm.tickets import NewTicket
from tests.agent_api.stack import Stack, login, next_frame


async def _ended_call_with_a_ticket(stack: Stack, call_id: str) -> tuple[dict[str, str], int, str]:
    ref = await stack.crm.open_ticket(
        NewTicket(stack.customer_id, TicketKind.SERVICE_REQUEST, "宽带断线", opened_by="agent1002")
    )
    csrf = await login(stack.client, "agent1001")
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring(call_id)
    await next_frame(ws, "pop")
    stack.hang_up(call_id)
    await next_frame(ws, "ended")
    await ws.close()
    return {"X-CSRF-Token": csrf}, ref.id, ref.number


async def test_a_reloaded_page_gets_the_tickets_and_offers_of_the_call_to_wrap_up(stack: Stack):
    _, ticket_id, _ = await _ended_call_with_a_ticket(stack, "w1")
    ws = await stack.client.ws_connect("/api/ws")
    hello = await next_frame(ws, "hello")
    assert hello["pending"] == ["w1"]
    [wrapup] = hello["wrapups"]
    assert wrapup["call_id"] == "w1" and [t["id"] for t in wrapup["tickets"]] == [ticket_id]
    await ws.close()


async def test_the_wrap_up_resolves_a_shown_ticket_and_links_the_contact_to_it(stack: Stack):
    headers, ticket_id, number = await _ended_call_with_a_ticket(stack, "w2")
    body = {
        "disposition": "resolved",
        "ticket_update": {"ticket_id": ticket_id, "note": "重启光猫后恢复", "resolve": True},
    }
    response = await stack.client.post("/api/agent/calls/w2/wrapup", json=body, headers=headers)
    assert response.status == 200, await response.text()
    assert (await response.json())["ticket_number"] == number
    async with stack.db.read() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.id == ticket_id))
        contact = await session.scalar(select(Contact).where(Contact.call_id == "w2"))
    assert ticket is not None and ticket.status == "resolved"
    assert contact is not None and contact.ticket_id == ticket_id


async def test_a_ticket_the_pop_did_not_show_or_two_tickets_at_once_are_refused(stack: Stack):
    headers, ticket_id, _ = await _ended_call_with_a_ticket(stack, "w3")
    other = {"disposition": "resolved", "ticket_update": {"ticket_id": ticket_id + 100, "note": "n"}}
    refused = await stack.client.post("/api/agent/calls/w3/wrapup", json=other, headers=headers)
    assert refused.status == 400 and "not shown" in (await refused.json())["message"]
    both = {
        "disposition": "resolved",
        "ticket_update": {"ticket_id": ticket_id, "note": "n"},
        "new_ticket": {"kind": "complaint", "subject": "s"},
    }
    refused = await stack.client.post("/api/agent/calls/w3/wrapup", json=both, headers=headers)
    assert refused.status == 400 and "not both" in (await refused.json())["message"]
    # A refused wrap-up loses nothing: the call can still be wrapped up.
    fine = {"disposition": "resolved", "ticket_update": {"ticket_id": ticket_id, "note": "n"}}
    assert (await stack.client.post("/api/agent/calls/w3/wrapup", json=fine, headers=headers)).status == 200


async def test_load_conditions_are_on_the_board_and_every_change_is_audited(stack: Stack):
    csrf = await login(stack.client, "supervisor")
    body = {
        "queues": ["support"],
        "max_agents": 2,
        "stop_waiting": 5,
        "resume_waiting": 1,
        "stop_service_level": 0.7,
        "resume_service_level": 0.85,
    }
    response = await stack.client.put(
        "/api/supervisor/marketing/default", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 200, await response.text()
    [line] = (await response.json())["marketing"]
    assert (line["resume_waiting"], line["resume_service_level"], line["min_hold_s"]) == (1, 0.85, 60.0)
    [entry] = [e for e in await audit_log.entries(stack.db, limit=20) if e.action == "threshold-change"]
    assert entry.detail["after"]["stop_service_level"] == 0.7
    assert entry.detail["after"]["queues"] == ["support"]


async def test_a_caller_made_a_customer_during_the_call_gets_the_ticket_at_wrap_up(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    headers = {"X-CSRF-Token": csrf}
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring("w4", caller="13912345678")
    pop = await next_frame(ws, "pop")
    assert pop["known"] is False
    stack.hang_up("w4")
    await next_frame(ws, "ended")
    await ws.close()
    body = {"disposition": "info", "new_ticket": {"kind": "service_request", "subject": "报修"}}
    refused = await stack.client.post("/api/agent/calls/w4/wrapup", json=body, headers=headers)
    assert refused.status == 400 and "unknown caller" in (await refused.json())["message"]
    customer_id = await customers.create_customer(
        stack.db, customers.NewCustomer("王芳", phones=["139 1234 5678"])
    )
    done = await stack.client.post("/api/agent/calls/w4/wrapup", json=body, headers=headers)
    assert done.status == 200, await done.text()
    number = (await done.json())["ticket_number"]
    async with stack.db.read() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        contact = await session.scalar(select(Contact).where(Contact.call_id == "w4"))
    assert ticket is not None and ticket.customer_id == customer_id
    assert contact is not None and (contact.customer_id, contact.ticket_id) == (customer_id, ticket.id)
