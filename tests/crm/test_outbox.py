"""The outbox as its operators read it, on SQLite and PostgreSQL: newest first with receipts,
filtered by status, channel and text (a % or _ typed is a character, not a wildcard), a page at
a time; a failed message sent again, one that went or was opted out of refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm import outbox
from crm.customers import NewCustomer, create_customer
from crm.db import Database
from crm.errors import NotFound
from crm.kinds import Channel, NoticeTopic, OutboxStatus
from crm.models import OutboxMessage
from crm.notices import LogSender, Notice, deliver_due, enqueue_notice, subscribe, unsubscribe
from crm.sms import Delivery, SmsReceiptRow

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


class Refusing:
    async def send(self, notice: Notice) -> None:
        raise ConnectionError("refused")


async def test_operators_read_filter_page_and_send_again(db: Database) -> None:
    customer = await create_customer(
        db, NewCustomer(name="王芳", phones=["13800138000"], email="w@example.cn")
    )
    await subscribe(db, customer, NoticeTopic.TICKET_PROGRESS, Channel.SMS, now=NOW)
    await subscribe(db, customer, NoticeTopic.OFFERS, Channel.EMAIL, now=NOW)
    for key, body in (("t1", "进度 100%"), ("t2", "进度 50_a")):
        await enqueue_notice(
            db, customer, NoticeTopic.TICKET_PROGRESS, subject="工单", body=body, dedupe_key=key, now=NOW
        )
    await enqueue_notice(
        db, customer, NoticeTopic.OFFERS, subject="优惠", body="半价", dedupe_key="o1", now=NOW
    )
    await deliver_due(db, {Channel.SMS: LogSender(), Channel.EMAIL: Refusing()}, now=NOW, max_attempts=1)
    entries, counts = await outbox.list_outbox(db)
    assert [e.channel for e in entries] == [Channel.EMAIL, Channel.SMS, Channel.SMS]  # newest first
    assert counts == {"pending": 0, "sending": 0, "sent": 2, "failed": 1, "unknown": 0}
    sms_first = entries[2]
    async with db.write() as session:
        session.add(
            SmsReceiptRow(
                outbox_id=sms_first.id,
                provider="aliyun",
                provider_ref="1^0",
                delivery=Delivery.FAILED,
                error="MOBILE_NOT_ON_SERVICE",
                sent_at=NOW,
                reported_at=NOW + timedelta(minutes=1),
            )
        )
    entry = await outbox.get_entry(db, sms_first.id)
    assert entry.receipt is not None and (entry.receipt.delivery, entry.receipt.error) == (
        Delivery.FAILED,
        "MOBILE_NOT_ON_SERVICE",
    )
    assert entry.customer_name == "王芳"

    assert [e.body for e in (await outbox.list_outbox(db, text="100%"))[0]] == ["进度 100%"]
    assert [e.body for e in (await outbox.list_outbox(db, text="50_a"))[0]] == ["进度 50_a"]
    assert (await outbox.list_outbox(db, text="0%"))[0][0].body == "进度 100%"  # % is a character
    assert (await outbox.list_outbox(db, text="5_"))[0] == []
    failed, by_channel = await outbox.list_outbox(db, status=OutboxStatus.FAILED, channel=Channel.EMAIL)
    assert [e.subject for e in failed] == ["优惠"] and by_channel["sent"] == 0
    page, _ = await outbox.list_outbox(db, limit=1)
    older, _ = await outbox.list_outbox(db, before=page[0].id, limit=5)
    assert [e.id for e in older] == [e.id for e in entries[1:]]

    again = await outbox.send_again(db, failed[0].id, actor="supervisor", now=NOW + timedelta(hours=1))
    assert (again.status, again.attempts, again.last_error) == (
        OutboxStatus.PENDING,
        0,
        "sent again by supervisor",
    )
    with pytest.raises(outbox.NotResendable) as went:
        await outbox.send_again(db, sms_first.id, actor="supervisor")
    assert went.value.reason == "not_failed"
    await unsubscribe(db, customer, NoticeTopic.OFFERS, Channel.EMAIL)
    async with db.read() as session:
        row = await session.get(OutboxMessage, failed[0].id)
        assert row is not None and row.status == OutboxStatus.FAILED.value  # the opt-out held it back
    with pytest.raises(outbox.NotResendable) as opted:
        await outbox.send_again(db, failed[0].id, actor="supervisor")
    assert opted.value.reason == "opted_out"
    with pytest.raises(NotFound):
        await outbox.send_again(db, 999_999, actor="supervisor")
