"""Mail that really leaves: the outbox's SMTP sender against a real SMTP server (aiosmtpd) on
loopback — delivered once, retried after the server refuses, never sent a second time."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from crm.customers import NewCustomer, create_customer
from crm.db import Database
from crm.kinds import Channel, NoticeTopic, OutboxStatus
from crm.models import OutboxMessage
from crm.notices import build_senders, deliver_due, enqueue_notice, run_outbox, subscribe

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


class Mailbox:
    """aiosmtpd's handler: keeps what it accepts; answers 451 (try later) to the first ``refuse``."""

    def __init__(self, refuse: int = 0) -> None:
        self.refuse = refuse
        self.received: list[Envelope] = []
        self.arrived = asyncio.Event()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 mailbox busy, try again later"
        self.received.append(envelope)
        self.arrived.set()
        return "250 2.0.0 queued"


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(mailbox, hostname="mx.test"), "127.0.0.1", 0)
    try:
        yield mailbox, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def mail_customer(db: Database) -> int:
    customer_id = await create_customer(
        db, NewCustomer(name="王芳", phones=["13800138000"], email="wang@example.cn")
    )
    await subscribe(db, customer_id, NoticeTopic.TICKET_PROGRESS, Channel.EMAIL, now=NOW)
    await enqueue_notice(
        db,
        customer_id,
        NoticeTopic.TICKET_PROGRESS,
        subject="工单 T2611180001 已派单",
        body="您的工单已派给上门服务组。",
        dedupe_key="ticket:T2611180001:assigned",
        now=NOW,
    )
    return customer_id


def senders(port: int):
    return build_senders("smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_from="hotline@example.cn")


async def statuses(db: Database) -> list[str]:
    async with db.read() as session:
        return list((await session.scalars(select(OutboxMessage.status))).all())


async def test_a_notice_leaves_by_smtp_once_with_its_chinese_subject(db: Database, smtp) -> None:
    mailbox, port = smtp
    await mail_customer(db)
    report = await deliver_due(db, senders(port), now=NOW)
    assert report.sent == 1
    [envelope] = mailbox.received
    assert envelope.mail_from == "hotline@example.cn" and envelope.rcpt_tos == ["wang@example.cn"]
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert message["Subject"] == "工单 T2611180001 已派单"
    assert message.get_content().strip() == "您的工单已派给上门服务组。"
    # The same notice again (a repeated request) and a second pass of the outbox: nothing more.
    await mail_customer_again(db)
    assert (await deliver_due(db, senders(port), now=NOW + timedelta(hours=1))).sent == 0
    assert len(mailbox.received) == 1
    assert await statuses(db) == [OutboxStatus.SENT.value]


async def mail_customer_again(db: Database) -> None:
    async with db.read() as session:
        customer_id = await session.scalar(select(OutboxMessage.customer_id))
    assert customer_id is not None
    added = await enqueue_notice(
        db,
        customer_id,
        NoticeTopic.TICKET_PROGRESS,
        subject="工单 T2611180001 已派单",
        body="您的工单已派给上门服务组。",
        dedupe_key="ticket:T2611180001:assigned",
        now=NOW,
    )
    assert added == 0


async def test_a_refused_send_is_retried_later_and_delivered_once(db: Database, smtp) -> None:
    mailbox, port = smtp
    mailbox.refuse = 1
    await mail_customer(db)
    first = await deliver_due(db, senders(port), now=NOW, retry_after=timedelta(minutes=1))
    assert (first.sent, first.retrying) == (0, 1) and mailbox.received == []
    assert (await deliver_due(db, senders(port), now=NOW + timedelta(seconds=30))).sent == 0  # not yet
    second = await deliver_due(db, senders(port), now=NOW + timedelta(minutes=1))
    assert second.sent == 1
    assert (await deliver_due(db, senders(port), now=NOW + timedelta(hours=1))).sent == 0
    assert len(mailbox.received) == 1
    async with db.read() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row is not None and (row.status, row.attempts) == (OutboxStatus.SENT.value, 2)
    assert "451" in (row.last_error or "")


async def test_an_unreachable_server_is_retried_and_the_running_outbox_sends_when_it_is_back(
    db: Database, smtp
) -> None:
    mailbox, port = smtp
    await mail_customer(db)
    closed = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    dead_port = closed.sockets[0].getsockname()[1]
    closed.close()
    await closed.wait_closed()
    report = await deliver_due(db, senders(dead_port), now=NOW)
    assert report.retrying == 1
    async with db.write() as session:  # its retry time has come
        row = await session.scalar(select(OutboxMessage))
        assert row is not None
        row.next_attempt_at = NOW
    stop = asyncio.Event()
    outbox = asyncio.create_task(run_outbox(db, senders(port), stop, interval_s=0.05))
    try:
        async with asyncio.timeout(10):
            await mailbox.arrived.wait()
    finally:
        stop.set()
        await outbox
    assert len(mailbox.received) == 1
    assert await statuses(db) == [OutboxStatus.SENT.value]
