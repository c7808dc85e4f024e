"""The customer and ticket API by role: what each may do, what is audited, and no 5xx when fuzzed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from crm import audit as audit_log
from crm import call_surveys, recordings
from crm.contacts import NewContact, record_contact
from crm.kinds import Channel, Role, TicketKind
from crm.recording_tables import NewRecording
from crm.tickets import NewTicket
from tests.agent_api.stack import CUSTOMER_PHONE, Stack, login
from tests.agent_api.test_openapi import _fuzz
from tests.agent_api.test_reports_api import add_account

ROUTES = ("/api/customers", "/api/tickets", "/api/teams")


async def _as(stack: Stack, username: str) -> tuple[TestClient, dict[str, str]]:
    client = TestClient(stack.server)
    return client, {"X-CSRF-Token": await login(client, username)}


async def test_each_role_gets_what_it_may_and_the_sensitive_steps_are_audited(stack: Stack):
    await add_account(stack, "tech1", Role.TECHNICIAN)
    ref = await stack.crm.open_ticket(
        NewTicket(stack.customer_id, TicketKind.SERVICE_REQUEST, "报修", opened_by="agent1001")
    )
    agent, a = await _as(stack, "agent1001")
    sup, s = await _as(stack, "supervisor")
    admin, ad = await _as(stack, "admin")
    tech, _ = await _as(stack, "tech1")
    clients = (agent, sup, admin, tech)
    try:
        cid = stack.customer_id
        for path in (f"/api/customers/{cid}/unmask", f"/api/customers/{cid}/merge"):
            assert (await agent.post(path, json={"other_id": 9}, headers=a)).status == 403
        assert (await agent.get(f"/api/customers/{cid}/export")).status == 403
        assert (await sup.post(f"/api/customers/{cid}/erase", json={"reason": "x"}, headers=s)).status == 403
        assert (await tech.get(f"/api/customers?q={CUSTOMER_PHONE}")).status == 403
        assert (await tech.get(f"/api/tickets/{ref.id}")).status == 403  # not dispatched to them
        assert (await tech.get("/api/tickets")).status == 200

        taken = await agent.post(
            "/api/customers", json={"name": "重号", "phones": [CUSTOMER_PHONE]}, headers=a
        )
        assert taken.status == 409 and (await taken.json())["error"] == "duplicate_phone_number"
        bad = await agent.post(f"/api/tickets/{ref.id}/close", json={}, headers=a)
        assert bad.status == 409 and (await bad.json())["error"] == "ticket_not_closable"

        exported = await sup.get(f"/api/customers/{cid}/export")
        assert exported.status == 200 and "attachment" in exported.headers["Content-Disposition"]
        assert (await exported.json())["tickets"][0]["number"] == ref.number

        held = await recordings.add_recording(
            stack.db, NewRecording("c-held", "c-held.wav", stack.crm.clock())
        )
        await recordings.update_recording(stack.db, held, customer_id=cid)
        await recordings.set_hold(stack.db, held, held=True, reason="仲裁 2026-3", by="supervisor")
        erased = await admin.post(f"/api/customers/{cid}/erase", json={"reason": "PIPL-0042"}, headers=ad)
        assert erased.status == 200
        assert (await erased.json())["recordings_kept"] == [{"id": held, "hold_reason": "仲裁 2026-3"}]
        edit = await agent.patch(f"/api/customers/{cid}", json={"name": "x"}, headers=a)
        assert edit.status == 409 and (await edit.json())["error"] == "customer_erased"
        actions = {e.action for e in await audit_log.entries(stack.db)}
        assert {"customer-export", "customer-erase"} <= actions
    finally:
        for client in clients:
            await client.close()


async def test_the_timeline_gives_each_calls_survey_score_or_that_it_went_unanswered(stack: Stack):
    cid = stack.customer_id
    for call_id in ("c-scored", "c-unanswered", "c-none"):
        await record_contact(stack.db, NewContact(cid, Channel.CALL_IN, agent="agent1001", call_id=call_id))
    await call_surveys.record_ivr_answer(stack.db, "c-scored", CUSTOMER_PHONE, 4)
    await call_surveys.record_ivr_answer(stack.db, "c-unanswered", CUSTOMER_PHONE, None)
    agent, _ = await _as(stack, "agent1001")
    try:
        answer = await agent.get(f"/api/customers/{cid}/timeline")
        assert answer.status == 200
        calls = {e["call_id"]: e for e in (await answer.json())["entries"] if e["kind"] == "contact"}
        assert {
            k: (calls[k]["satisfaction"], calls[k]["survey"]) for k in ("c-scored", "c-unanswered", "c-none")
        } == {
            "c-scored": (4, "answered"),
            "c-unanswered": (None, "unanswered"),
            "c-none": (None, ""),
        }
    finally:
        await agent.close()


@pytest.mark.parametrize("username", ["agent1001", "supervisor", "admin", "tech1"])
async def test_fuzzing_the_customer_and_ticket_routes_gets_no_server_error(tmp_path: Path, username: str):
    stack = await Stack(tmp_path).start()
    try:
        await add_account(stack, "tech1", Role.TECHNICIAN)
        ref = await stack.crm.open_ticket(
            NewTicket(
                stack.customer_id, TicketKind.COMPLAINT, "投诉", opened_by="agent1001", assignee="tech1"
            )
        )
        assert ref.id
        csrf = await login(stack.client, username)
        session_id = stack.client.session.cookie_jar.filter_cookies(stack.server.make_url("/"))[
            "hotline_session"
        ].value
        document = await (await stack.client.get("/api/openapi.json")).json()
        document["paths"] = {p: v for p, v in document["paths"].items() if p.startswith(ROUTES)}
        assert len(document["paths"]) >= 15
        failures = await asyncio.to_thread(
            _fuzz, document, stack.base_url, {"hotline_session": session_id}, csrf, max_examples=8
        )
        assert failures == []
    finally:
        await stack.stop()
