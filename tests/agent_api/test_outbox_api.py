"""The outbox through the API as supervisors and admins use it: every mail and SMS with its
status, attempts, last error and delivery receipt, filtered; a failed or unknown message sent
again (audited), and refused for one that went or whose customer opted out; agents kept out."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from crm import audit, customers
from crm.kinds import Channel, NoticeTopic, OutboxStatus
from crm.models import OutboxMessage
from crm.notices import LogSender, Notice, deliver_due, enqueue_notice, subscribe, unsubscribe
from crm.sms import Delivery, SmsReceiptRow
from tests.agent_api.stack import Stack, login


class Refusing:
    async def send(self, notice: Notice) -> None:
        raise ConnectionError("mail server refused")


async def _queue(stack: Stack) -> dict[str, int]:
    """A customer told of a ticket by SMS (sent, delivered) and by mail (failed), and an offer by
    SMS whose outcome is unknown; the outbox ids by what became of them."""
    customer = await customers.create_customer(
        stack.db, customers.NewCustomer("王芳", phones=["13700137000"], email="wang@example.cn")
    )
    for topic, channel in (
        (NoticeTopic.TICKET_PROGRESS, Channel.SMS),
        (NoticeTopic.TICKET_PROGRESS, Channel.EMAIL),
        (NoticeTopic.OFFERS, Channel.SMS),
    ):
        await subscribe(stack.db, customer, topic, channel)
    await enqueue_notice(
        stack.db,
        customer,
        NoticeTopic.TICKET_PROGRESS,
        subject="工单进度",
        body="您的工单已派单",
        dedupe_key="t1",
    )
    await deliver_due(stack.db, {Channel.SMS: LogSender(), Channel.EMAIL: Refusing()}, max_attempts=1)
    await enqueue_notice(stack.db, customer, NoticeTopic.OFFERS, subject="", body="宽带半价", dedupe_key="o1")
    async with stack.db.write() as session:
        rows = (
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.topic == "offers")
                .values(
                    status=OutboxStatus.UNKNOWN.value,
                    attempts=1,
                    last_error="outcome unknown: no answer in time",
                )
                .returning(OutboxMessage.id)
            )
        ).all()
        ids = {"unknown": rows[0][0]}
    entries = (await (await _supervisor_get(stack, "/api/outbox")).json())["messages"]
    for entry in entries:
        ids.setdefault(f"{entry['channel']}:{entry['status']}", entry["id"])
    async with stack.db.write() as session:
        session.add(
            SmsReceiptRow(
                outbox_id=ids["sms:sent"],
                provider="aliyun",
                provider_ref="900000^0",
                delivery=Delivery.DELIVERED,
                error="",
                sent_at=datetime.now(UTC),
                reported_at=datetime.now(UTC),
            )
        )
    ids["customer"] = customer
    return ids


async def _supervisor_get(stack: Stack, path: str):  # type: ignore[no-untyped-def]
    await login(stack.client, "supervisor")
    return await stack.client.get(path)


async def test_a_supervisor_sees_each_message_with_its_status_attempts_and_receipt(stack: Stack):
    ids = await _queue(stack)
    response = await _supervisor_get(stack, "/api/outbox")
    assert response.status == 200, await response.text()
    listing = await response.json()
    assert [m["id"] for m in listing["messages"]] == sorted(
        [ids["unknown"], ids["sms:sent"], ids["email:failed"]], reverse=True
    )
    assert listing["counts"] == {"pending": 0, "sending": 0, "sent": 1, "failed": 1, "unknown": 1}
    by_id = {m["id"]: m for m in listing["messages"]}
    sms = by_id[ids["sms:sent"]]
    assert (sms["address"], sms["customer_name"], sms["attempts"]) == ("+8613700137000", "王芳", 1)
    assert sms["receipt"]["delivery"] == "delivered" and sms["receipt"]["provider_ref"] == "900000^0"
    mail = by_id[ids["email:failed"]]
    assert (mail["address"], mail["receipt"]) == ("wang@example.cn", None)
    assert "mail server refused" in mail["last_error"]

    failed = await (await stack.client.get("/api/outbox?status=failed")).json()
    assert [m["id"] for m in failed["messages"]] == [ids["email:failed"]]
    sms_only = await (await stack.client.get("/api/outbox?channel=sms&q=137001")).json()
    assert sorted(m["id"] for m in sms_only["messages"]) == sorted([ids["sms:sent"], ids["unknown"]])
    assert sms_only["counts"]["failed"] == 0  # the counts are the channel's
    assert (await (await stack.client.get("/api/outbox?q=宽带")).json())["messages"][0]["id"] == ids[
        "unknown"
    ]
    newest = ids["unknown"]
    first = await (await stack.client.get("/api/outbox?limit=2")).json()
    assert first["messages"][0]["id"] == newest and first["more"] is True
    rest = await (await stack.client.get(f"/api/outbox?limit=2&before={first['messages'][-1]['id']}")).json()
    assert len(rest["messages"]) == 1 and rest["more"] is False
    assert {m["id"] for m in first["messages"] + rest["messages"]} == {m["id"] for m in listing["messages"]}
    bad_queries = ("status=lost", "channel=fax", "limit=0", "limit=100000", "q=" + "x" * 101, "nope=1")
    for bad in (*bad_queries, "q=a%00b", "q=%1b%5b2J", "before=0", "before=99999999999999999999"):
        response = await stack.client.get(f"/api/outbox?{bad}")
        assert response.status in (400, 422), bad


async def test_a_failed_message_is_sent_again_and_one_that_went_or_was_opted_out_is_not(stack: Stack):
    ids = await _queue(stack)
    csrf = {"X-CSRF-Token": await login(stack.client, "admin")}
    again = await stack.client.post(f"/api/outbox/{ids['email:failed']}/send-again", json={}, headers=csrf)
    assert again.status == 200, await again.text()
    body = await again.json()
    assert (body["status"], body["attempts"], body["last_error"]) == ("pending", 0, "sent again by admin")
    [entry] = await audit.entries(stack.db, action="outbox-send-again")
    assert (entry.actor, entry.target, entry.detail["was"]) == ("admin", str(ids["email:failed"]), "failed")

    went = await stack.client.post(f"/api/outbox/{ids['sms:sent']}/send-again", json={}, headers=csrf)
    assert went.status == 409 and "neither failed nor is unknown" in (await went.json())["message"]
    await unsubscribe(stack.db, ids["customer"], NoticeTopic.OFFERS, Channel.SMS)
    opted = await stack.client.post(f"/api/outbox/{ids['unknown']}/send-again", json={}, headers=csrf)
    assert opted.status == 409 and "opted out" in (await opted.json())["message"]
    missing = await stack.client.post("/api/outbox/999999/send-again", json={}, headers=csrf)
    assert missing.status == 404
    extra = await stack.client.post(
        f"/api/outbox/{ids['email:failed']}/send-again", json={"x": 1}, headers=csrf
    )
    assert extra.status == 422
    chinese = await stack.client.post(
        f"/api/outbox/{ids['sms:sent']}/send-again", json={}, headers={**csrf, "X-Hotline-Lang": "zh-CN"}
    )
    assert "不能重新发送" in (await chinese.json())["message"]


async def test_agents_may_not_read_the_outbox(stack: Stack):
    await _queue(stack)
    await login(stack.client, "agent1001")
    assert (await stack.client.get("/api/outbox")).status == 403
    page = await stack.client.get("/outbox", allow_redirects=False)
    assert page.status == 403
    supervisor = TestClient(stack.server)
    try:
        await login(supervisor, "supervisor")
        page = await supervisor.get("/outbox")
        assert page.status == 200 and 'id="outbox-list"' in await page.text()
    finally:
        await supervisor.close()
