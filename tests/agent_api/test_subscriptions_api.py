"""A customer's notice subscriptions through the API: chosen, listed, opted out of, audited; an
opt-out also holds back what was queued for them and not yet sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from crm import audit
from crm.kinds import Channel, NoticeTopic, OutboxStatus
from crm.models import OutboxMessage
from crm.notices import LogSender, deliver_due, enqueue_notice
from tests.agent_api.stack import Stack, login


@pytest.fixture
async def stack(tmp_path: Path):
    s = await Stack(tmp_path).start()
    yield s
    await s.stop()


async def test_an_agent_subscribes_a_customer_and_opts_them_out_again(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    headers = {"X-CSRF-Token": csrf}
    base = f"/api/customers/{stack.customer_id}/subscriptions"
    assert (await (await stack.client.get(base)).json())["subscriptions"] == []
    for path in ("/ticket_progress/sms", "/ticket_progress/sms", "/offers/sms"):  # twice: no change
        response = await stack.client.put(base + path, headers=headers)
        assert response.status == 200, await response.text()
    chosen = (await (await stack.client.get(base)).json())["subscriptions"]
    assert [(s["topic"], s["channel"]) for s in chosen] == [("ticket_progress", "sms"), ("offers", "sms")]

    await enqueue_notice(
        stack.db, stack.customer_id, NoticeTopic.OFFERS, subject="", body="优惠", dedupe_key="o1"
    )
    await enqueue_notice(
        stack.db, stack.customer_id, NoticeTopic.TICKET_PROGRESS, subject="", body="已派单", dedupe_key="t1"
    )
    response = await stack.client.delete(base + "/offers/sms", headers=headers)
    assert response.status == 200
    body = await response.json()
    assert body["held_back"] == 1 and [s["topic"] for s in body["subscriptions"]] == ["ticket_progress"]
    sender = LogSender()
    await deliver_due(stack.db, {Channel.SMS: sender, Channel.EMAIL: sender})
    assert [n.body for n in sender.sent] == ["已派单"]  # the offer queued before the opt-out stays unsent
    async with stack.db.read() as session:
        statuses = dict((await session.execute(select(OutboxMessage.topic, OutboxMessage.status))).all())
    assert statuses == {"offers": OutboxStatus.FAILED.value, "ticket_progress": OutboxStatus.SENT.value}
    actions = [e.action for e in await audit.entries(stack.db, actor="agent1001")]
    assert actions.count("subscribe") == 3 and actions.count("opt-out") == 1


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("PUT", "/api/customers/{id}/subscriptions/escalation/sms", 422),  # a staff topic
        ("PUT", "/api/customers/{id}/subscriptions/offers/fax", 422),
        ("PUT", "/api/customers/999999/subscriptions/offers/sms", 404),
        ("DELETE", "/api/customers/999999/subscriptions/offers/sms", 404),
        ("GET", "/api/customers/999999/subscriptions", 404),
        ("GET", "/api/customers/x1/subscriptions", 422),
    ],
)
async def test_bad_choices_get_a_clear_4xx(stack: Stack, method: str, path: str, status: int):
    csrf = await login(stack.client, "supervisor")
    response = await stack.client.request(
        method, path.replace("{id}", str(stack.customer_id)), headers={"X-CSRF-Token": csrf}
    )
    assert response.status == status
    assert (await response.json())["message"]
