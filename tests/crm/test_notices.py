from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from crm.customers import NewCustomer, create_customer
from crm.db import Database
from crm.kinds import Channel, NoticeTopic, OutboxStatus, TicketKind
from crm.models import OutboxMessage
from crm.notices import (
    LogSender,
    Notice,
    check_unknown,
    deliver_due,
    enqueue_notice,
    recover_interrupted,
    subscribe,
)
from crm.sla import ChinaWorkCalendar
from crm.tickets import NewTicket, add_ticket_note, assign_ticket, open_ticket, resolve_ticket

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


class FlakySender:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[Notice] = []

    async def send(self, notice: Notice) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("gateway down")
        self.sent.append(notice)


async def subscribed_customer(db: Database) -> int:
    customer_id = await create_customer(
        db, NewCustomer(name="王芳", phones=["010-12345678", "13800138000"], email="wang@example.cn")
    )
    await subscribe(db, customer_id, NoticeTopic.TICKET_PROGRESS, Channel.SMS, now=NOW)
    await subscribe(db, customer_id, NoticeTopic.TICKET_PROGRESS, Channel.EMAIL, now=NOW)
    return customer_id


async def test_a_notice_goes_to_every_channel_the_customer_chose_exactly_once(db: Database) -> None:
    customer_id = await subscribed_customer(db)
    for _ in range(3):  # the same event reported three times
        await enqueue_notice(
            db,
            customer_id,
            NoticeTopic.TICKET_PROGRESS,
            subject="工单进度",
            body="已派单",
            dedupe_key="T1:assigned",
            now=NOW,
        )
    await enqueue_notice(
        db, customer_id, NoticeTopic.OFFERS, subject="x", body="x", dedupe_key="offer:1", now=NOW
    )
    sender = LogSender()
    report = await deliver_due(db, {Channel.SMS: sender, Channel.EMAIL: sender}, now=NOW)
    assert (report.sent, report.failed) == (2, 0)
    assert sorted((n.channel, n.address) for n in sender.sent) == [
        (Channel.EMAIL, "wang@example.cn"),
        (Channel.SMS, "+8613800138000"),
    ]
    assert (await deliver_due(db, {Channel.SMS: sender, Channel.EMAIL: sender}, now=NOW)).sent == 0
    assert len(sender.sent) == 2


async def test_a_failed_send_is_retried_with_backoff_then_given_up(db: Database) -> None:
    customer_id = await subscribed_customer(db)
    await enqueue_notice(
        db, customer_id, NoticeTopic.TICKET_PROGRESS, subject="s", body="b", dedupe_key="k", now=NOW
    )
    flaky = FlakySender(failures=1)
    dead = FlakySender(failures=100)
    senders = {Channel.SMS: flaky, Channel.EMAIL: dead}
    report = await deliver_due(db, senders, now=NOW, max_attempts=2)
    assert (report.sent, report.retrying, report.failed) == (0, 2, 0)
    assert (await deliver_due(db, senders, now=NOW + timedelta(seconds=30), max_attempts=2)).sent == 0
    report = await deliver_due(db, senders, now=NOW + timedelta(minutes=2), max_attempts=2)
    assert (report.sent, report.retrying, report.failed) == (1, 0, 1)
    assert len(flaky.sent) == 1
    async with db.read() as session:
        failed = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED.value)
        )
    assert failed is not None and "gateway down" in (failed.last_error or "")


async def test_a_send_interrupted_by_a_crash_is_never_retried(db: Database) -> None:
    customer_id = await subscribed_customer(db)
    await enqueue_notice(
        db, customer_id, NoticeTopic.TICKET_PROGRESS, subject="s", body="b", dedupe_key="k", now=NOW
    )
    async with db.write() as session:
        await session.execute(update(OutboxMessage).values(status=OutboxStatus.SENDING.value))
    assert await recover_interrupted(db) == 2
    sender = LogSender()
    assert (await deliver_due(db, {Channel.SMS: sender, Channel.EMAIL: sender}, now=NOW)).sent == 0
    assert sender.sent == []


class SlowSender:
    """Takes the message, and answers long after the outbox stopped waiting."""

    def __init__(self) -> None:
        self.took: list[Notice] = []

    async def send(self, notice: Notice) -> None:
        self.took.append(notice)
        await asyncio.sleep(5)


async def test_a_send_past_its_deadline_is_unknown_and_without_a_way_to_ask_left_for_an_operator(
    db: Database,
) -> None:
    customer_id = await subscribed_customer(db)
    await enqueue_notice(
        db, customer_id, NoticeTopic.TICKET_PROGRESS, subject="s", body="b", dedupe_key="k", now=NOW
    )
    slow = SlowSender()
    senders = {Channel.SMS: slow, Channel.EMAIL: slow}
    report = await deliver_due(db, senders, now=NOW, send_timeout_s=0.05)
    assert (report.sent, report.retrying, report.unknown) == (0, 0, 2)
    later = NOW + timedelta(hours=1)
    assert (await check_unknown(db, senders, now=later)).sent == 0
    assert (await deliver_due(db, senders, now=later, send_timeout_s=0.05)).unknown == 0
    assert len(slow.took) == 2  # each once
    async with db.read() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    assert {(r.status, r.last_error) for r in rows} == {
        (OutboxStatus.UNKNOWN.value, "outcome unknown: no answer in time")
    }


async def test_a_subscribed_customer_is_told_of_ticket_progress_once_per_step(db: Database) -> None:
    customer_id = await subscribed_customer(db)
    ref = await open_ticket(
        db,
        NewTicket(customer_id, TicketKind.FIELD_DISPATCH, "上门维修", opened_by="8001"),
        calendar=ChinaWorkCalendar(),
        now=NOW,
    )
    await assign_ticket(db, ref.id, "field-team-3", actor="sup-01", now=NOW)
    await add_ticket_note(db, ref.id, "内部备注", actor="field-team-3", now=NOW)
    await resolve_ticket(db, ref.id, actor="field-team-3", note="修好了", now=NOW)
    sender = LogSender()
    report = await deliver_due(db, {Channel.SMS: sender, Channel.EMAIL: sender}, now=NOW)
    assert report.sent == 4  # assigned and resolved, each by SMS and e-mail; the note is internal
    sms = sorted(n.body for n in sender.sent if n.channel is Channel.SMS)
    assert sms == [
        f"您的工单 {ref.number}（上门维修）已受理，正在处理。",
        f"您的工单 {ref.number}（上门维修）已处理完毕，请您评价。",
    ]
