"""The closed loop end to end, through AMI: an unknown caller rings agent 1001 on the simulated
switch; during the call the agent creates the customer from the pop; the wrap-up opens a ticket
for them; a supervisor dispatches it to a field team; the technician takes it up and handles it;
the agent follows up with a satisfaction score and closes it within the SLA; and the service-loop
report counts it, closed in three working days."""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime

from aiohttp.test_utils import TestClient

from crm import accounts
from crm.kinds import Role
from cti.ami_link import AmiLinkConfig
from cti.events import SwitchResynced
from cti.service import CtiService
from cti.simulator import AgentScript, CallerScript, SwitchSimulator
from cti.tracker import CallTracker
from tests.agent_api.stack import Stack, fast_passwords, login, next_frame

CALLER = "13912340000"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _client(stack: Stack, username: str) -> tuple[TestClient, dict[str, str]]:
    client = TestClient(stack.server)
    csrf = await login(client, username)
    return client, {"X-CSRF-Token": csrf}


async def _ok(response) -> dict:  # type: ignore[no-untyped-def]
    assert response.status == 200, await response.text()
    return await response.json()


async def test_a_caller_made_a_customer_on_the_pop_gets_a_ticket_that_closes_the_loop(stack: Stack):
    await accounts.create_account(
        stack.db,
        accounts.NewAccount(
            username="tech1",
            password_hash=await fast_passwords().hash("demo"),
            roles=frozenset({Role.TECHNICIAN}),
            display_name="师傅一",
        ),
    )
    sim = SwitchSimulator(
        agents=[AgentScript("1001", answer_after_s=0.2, hangup_after_s=3.0)],
        members={"support": ["PJSIP/1001"]},
        agi_url=f"agi://127.0.0.1:{_closed_port()}/ivr",
        secret="s3cret",
    )
    port = await sim.start()
    resynced = stack.bus.subscribe("test", SwitchResynced)
    cti = CtiService(AmiLinkConfig(host="127.0.0.1", port=port, secret="s3cret"), stack.bus, CallTracker())
    supervisor = technician = None
    try:
        await cti.start()
        async with asyncio.timeout(10):
            await resynced.get()
        agent = {"X-CSRF-Token": await login(stack.client, "agent1001")}
        ws = await stack.client.ws_connect("/api/ws")
        await next_frame(ws, "hello")
        record = sim.place_call(CallerScript(caller=CALLER, caller_name="", digits=""))
        pop = await next_frame(ws, "pop", within_s=10)
        assert pop["known"] is False and pop["caller"].endswith(CALLER)

        # During the call: the customer is made from the pop, the number filled in.
        page = await stack.client.get(f"/customers?phone={pop['caller']}")
        assert page.status == 200 and CALLER in await page.text()
        created = await _ok(
            await stack.client.post(
                "/api/customers", json={"name": "赵敏", "phones": [pop["caller"]]}, headers=agent
            )
        )
        customer_id = created["card"]["id"]

        ended = await next_frame(ws, "ended", within_s=10)
        assert ended["call_id"] == pop["call_id"]
        await ws.close()
        async with asyncio.timeout(10):
            await record.done
        done = await _ok(
            await stack.client.post(
                f"/api/agent/calls/{pop['call_id']}/wrapup",
                json={
                    "disposition": "follow_up",
                    "notes": "宽带无信号，需上门",
                    "new_ticket": {"kind": "field_dispatch", "subject": "宽带无信号"},
                },
                headers=agent,
            )
        )
        number = done["ticket_number"]
        [row] = (await _ok(await stack.client.get(f"/api/tickets?q={number}")))["tickets"]
        assert (row["customer_id"], row["status"], row["queue"]) == (customer_id, "open", pop["queue"])
        ticket = row["id"]

        supervisor, sup = await _client(stack, "supervisor")
        await _ok(
            await supervisor.put(
                "/api/teams/field-east", json={"kind": "field", "members": ["tech1"]}, headers=sup
            )
        )
        dispatched = await _ok(
            await supervisor.post(
                f"/api/tickets/{ticket}/dispatch",
                json={"team": "field-east", "note": "请今日上门"},
                headers=sup,
            )
        )
        assert dispatched["ticket"]["status"] == "assigned"

        technician, tech = await _client(stack, "tech1")
        mine = await _ok(await technician.get("/api/tickets?view=team"))
        assert [t["id"] for t in mine["tickets"]] == [ticket]
        started = await _ok(await technician.post(f"/api/tickets/{ticket}/start", json={}, headers=tech))
        assert (started["ticket"]["status"], started["ticket"]["assignee"]) == ("in_progress", "tech1")
        assert started["visit_phones"] == ["+86" + CALLER]
        await _ok(
            await technician.post(f"/api/tickets/{ticket}/resolve", json={"note": "更换光猫"}, headers=tech)
        )
        refused = await technician.post(f"/api/tickets/{ticket}/close", json={}, headers=tech)
        assert refused.status == 403

        early = await stack.client.post(f"/api/tickets/{ticket}/close", json={}, headers=agent)
        assert early.status == 409 and (await early.json())["error"] == "ticket_not_closable"
        await _ok(
            await stack.client.post(
                f"/api/tickets/{ticket}/follow-up", json={"satisfaction": 5, "note": "已恢复"}, headers=agent
            )
        )
        closed = await _ok(await stack.client.post(f"/api/tickets/{ticket}/close", json={}, headers=agent))
        assert (closed["ticket"]["status"], closed["ticket"]["sla"]) == ("closed", "met")
        actions = [s["action"] for s in closed["steps"]]
        assert actions == ["opened", "assigned", "started", "resolved", "followed_up", "closed"]

        timeline = await _ok(await stack.client.get(f"/api/customers/{customer_id}/timeline"))
        kinds = {(e["kind"], e["action"] or e["channel"]) for e in timeline["entries"]}
        assert {("contact", "call_in"), ("contact", "call_out"), ("ticket", "closed")} <= kinds

        day = datetime.now(stack.crm.tz).date().isoformat()
        report = await _ok(await supervisor.get(f"/api/reports/standard/service_loop?from={day}&to={day}"))
        names = [c["name"] for c in report["columns"]]
        totals = dict(zip(names, report["totals"], strict=True))
        assert (totals["opened"], totals["closed"], totals["closed_in_3_working_days"]) == (1, 1, 1)
        assert totals["satisfaction"] == 5
    finally:
        for client in (supervisor, technician):
            if client is not None:
                await client.close()
        await cti.stop()
        await sim.stop()
