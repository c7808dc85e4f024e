"""A wrap-up's disposition is one the server knows; the agent page offers exactly those."""

from __future__ import annotations

from sqlalchemy import select

from crm.kinds import Disposition
from crm.models import Contact
from tests.agent_api.stack import Stack, login, next_frame


async def _ended_call(stack: Stack, call_id: str) -> dict[str, str]:
    csrf = await login(stack.client, "agent1001")
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring(call_id)
    await next_frame(ws, "pop")
    stack.hang_up(call_id)
    await next_frame(ws, "ended")
    await ws.close()
    return {"X-CSRF-Token": csrf}


async def test_an_unknown_disposition_is_refused_with_the_allowed_list_and_the_call_stays_pending(
    stack: Stack,
):
    headers = await _ended_call(stack, "d1")
    for made_up in ("whatever the agent typed", "resolved\r\nlevel=error", "RESOLVED"):
        refused = await stack.client.post(
            "/api/agent/calls/d1/wrapup", json={"disposition": made_up}, headers=headers
        )
        assert refused.status == 400
        error = await refused.json()
        assert error["error"] == "unknown_disposition"
        assert error["details"]["allowed"] == ["resolved", "follow_up", "info", "complaint"]
    body = {"disposition": "info"}
    done = await stack.client.post("/api/agent/calls/d1/wrapup", json=body, headers=headers)
    assert done.status == 200, await done.text()
    async with stack.db.read() as session:
        found = await session.scalars(select(Contact.disposition).where(Contact.call_id == "d1"))
        dispositions = found.all()
    assert dispositions == ["info"]


async def test_the_agent_page_offers_each_known_disposition(stack: Stack):
    await login(stack.client, "agent1001")
    page = await (await stack.client.get("/agent")).text()
    for disposition in Disposition:
        assert f'<option value="{disposition.value}">' in page


async def test_the_document_lists_the_known_dispositions(stack: Stack):
    document = await (await stack.client.get("/api/openapi.json")).json()
    field = document["components"]["schemas"]["WrapUpBody"]["properties"]["disposition"]
    assert field["enum"] == [d.value for d in Disposition]
