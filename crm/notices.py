"""Subscriptions (notices a customer chose) and the outbox that sends them, each exactly once at most.

A notice is enqueued with a ``dedupe_key`` (e.g. ``ticket:T2611230001:resolved``); enqueueing it
again is a no-op, so a retried request never sends a second message. Delivery claims a row
(pending → sending) in one transaction, sends, then records sent or failed in another. A definite
failure is retried with backoff up to ``max_attempts``. A send that may or may not have gone out
— the sender said so (:class:`SendOutcomeUnknown`), it ran past ``send_timeout_s``, or a crash
left the row *sending* — is marked *unknown* and never simply retried, because the rule is "never
sent twice": a sender that can ask its provider (:class:`StatusLookup`) settles it later
(crm.outbox.check_unknown), otherwise an operator requeues it by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol, runtime_checkable

import aiosmtplib
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db import Database, utcnow
from crm.errors import NotFound
from crm.kinds import Channel, NoticeTopic, OutboxStatus, PhoneKind
from crm.models import Customer, CustomerPhone, OutboxMessage, Subscription

log = logging.getLogger(__name__)

OPTED_OUT = "the customer opted out before it was sent"


@dataclass(frozen=True, slots=True)
class Notice:
    id: int
    channel: Channel
    address: str
    topic: NoticeTopic
    subject: str
    body: str


class NoticeSender(Protocol):
    async def send(self, notice: Notice) -> None:
        """Deliver or raise; an exception means it was definitely not delivered, except
        :class:`SendOutcomeUnknown`."""


class SendOutcomeUnknown(Exception):
    """The request may have reached the provider and been accepted, and its answer was lost
    (a timeout after sending, a garbled answer): sending again could send twice."""


@runtime_checkable
class StatusLookup(Protocol):
    """A sender that can ask its provider whether it took a message (by the outbox id it was
    sent with), so a send whose outcome is unknown is settled rather than guessed."""

    async def was_accepted(self, notice: Notice, *, since: datetime) -> bool | None:
        """True: the provider has it (it went out); False: it has no such message; None: it
        cannot tell now (unreachable). ``since``: when the message was first queued."""


class LogSender:
    """The default sender: writes the notice to the log (address shortened) and keeps it for tests."""

    def __init__(self) -> None:
        self.sent: list[Notice] = []

    async def send(self, notice: Notice) -> None:
        self.sent.append(notice)
        log.info(
            "notice_sent",
            extra={"kv": {"channel": notice.channel, "topic": notice.topic, "phone": notice.address}},
        )


class SmtpSender:
    """E-mail through an SMTP server (aiosmtplib), with a timeout on the whole exchange."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str | None = None,
        password: str | None = None,
        start_tls: bool | None = None,
        timeout_s: float = 20.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username or None
        self.password = password or None
        self.start_tls = start_tls
        self.timeout_s = timeout_s

    async def send(self, notice: Notice) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = notice.address
        message["Subject"] = notice.subject
        message.set_content(notice.body)
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.start_tls,
            timeout=self.timeout_s,
        )


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int
    retrying: int
    failed: int
    unknown: int = 0  # may have gone out: checked with the provider, never simply retried


UNKNOWN_CHECK_AFTER = timedelta(minutes=2)  # time for the provider's records to show a message


async def subscribe(
    db: Database, customer_id: int, topic: NoticeTopic, channel: Channel, *, now: datetime | None = None
) -> None:
    if channel not in (Channel.SMS, Channel.EMAIL):
        raise ValueError(f"notices go by sms or email, not {channel}")
    async with db.write() as session:
        if await session.get(Customer, customer_id) is None:
            raise NotFound("customer", customer_id)
        existing = await session.scalar(
            select(Subscription.id).where(
                Subscription.customer_id == customer_id,
                Subscription.topic == topic.value,
                Subscription.channel == channel.value,
            )
        )
        if existing is None:
            session.add(
                Subscription(
                    customer_id=customer_id,
                    topic=topic.value,
                    channel=channel.value,
                    created_at=now or utcnow(),
                )
            )


async def unsubscribe(db: Database, customer_id: int, topic: NoticeTopic, channel: Channel) -> int:
    """Opt out: no more notices of ``topic`` by ``channel``, and those queued but not yet sent
    are not sent either (failed, "opted out"); returns how many were held back."""
    async with db.write() as session:
        rows = await session.scalars(
            select(Subscription).where(
                Subscription.customer_id == customer_id,
                Subscription.topic == topic.value,
                Subscription.channel == channel.value,
            )
        )
        for row in rows:
            await session.delete(row)
        held = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.customer_id == customer_id,
                OutboxMessage.topic == topic.value,
                OutboxMessage.channel == channel.value,
                OutboxMessage.status == OutboxStatus.PENDING.value,
            )
            .values(status=OutboxStatus.FAILED.value, last_error=OPTED_OUT)
        )
        return held.rowcount or 0  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    topic: NoticeTopic
    channel: Channel
    since: datetime


async def subscriptions_of(db: Database, customer_id: int) -> tuple[SubscriptionView, ...]:
    """The notices a customer chose; NotFound for no such customer."""
    async with db.read() as session:
        if await session.get(Customer, customer_id) is None:
            raise NotFound("customer", customer_id)
        rows = (
            await session.scalars(
                select(Subscription).where(Subscription.customer_id == customer_id).order_by(Subscription.id)
            )
        ).all()
    return tuple(SubscriptionView(NoticeTopic(r.topic), Channel(r.channel), r.created_at) for r in rows)


async def enqueue_notice(
    db: Database,
    customer_id: int,
    topic: NoticeTopic,
    *,
    subject: str,
    body: str,
    dedupe_key: str,
    now: datetime | None = None,
) -> int:
    """Queue the notice on every channel the customer subscribed to; returns how many were new."""
    async with db.write() as session:
        return await enqueue_in_session(
            session, customer_id, topic, subject=subject, body=body, dedupe_key=dedupe_key, now=now
        )


async def enqueue_in_session(
    session: AsyncSession,
    customer_id: int,
    topic: NoticeTopic,
    *,
    subject: str,
    body: str,
    dedupe_key: str,
    now: datetime | None = None,
) -> int:
    """As :func:`enqueue_notice`, inside the caller's write transaction (the notice is queued
    only if the change it reports is committed)."""
    now = now or utcnow()
    added = 0
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("customer", customer_id)
    channels = (
        await session.scalars(
            select(Subscription.channel).where(
                Subscription.customer_id == customer_id, Subscription.topic == topic.value
            )
        )
    ).all()
    if not channels:
        return 0
    mobile = await session.scalar(
        select(CustomerPhone.e164)
        .where(CustomerPhone.customer_id == customer_id, CustomerPhone.kind == PhoneKind.MOBILE.value)
        .order_by(CustomerPhone.id)
        .limit(1)
    )
    for channel in map(Channel, channels):
        address = mobile if channel is Channel.SMS else customer.email
        if not address:
            log.warning(
                "notice_without_address",
                extra={"kv": {"customer_id": customer_id, "channel": channel, "topic": topic}},
            )
            continue
        key = f"{dedupe_key}:{channel}"
        if await session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)):
            continue
        try:
            async with session.begin_nested():
                session.add(
                    OutboxMessage(
                        dedupe_key=key,
                        customer_id=customer_id,
                        channel=channel.value,
                        address=address,
                        topic=topic.value,
                        subject=subject,
                        body=body,
                        status=OutboxStatus.PENDING.value,
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
        except IntegrityError:
            continue  # queued by a concurrent request a moment ago
        added += 1
    return added


async def recover_interrupted(
    db: Database, *, now: datetime | None = None, check_after: timedelta = UNKNOWN_CHECK_AFTER
) -> int:
    """At start: rows left *sending* by a crash become *unknown* (not retried; see the module doc),
    to be checked with the provider after ``check_after``."""
    async with db.write() as session:
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.SENDING.value)
            .values(
                status=OutboxStatus.UNKNOWN.value,
                last_error="interrupted while sending",
                next_attempt_at=(now or utcnow()) + check_after,
            )
        )
        count = result.rowcount or 0  # type: ignore[attr-defined]
    if count:
        log.warning("outbox_interrupted_sends", extra={"kv": {"count": count}})
    return count


async def deliver_due(
    db: Database,
    senders: Mapping[Channel, NoticeSender],
    *,
    now: datetime | None = None,
    batch: int = 50,
    max_attempts: int = 5,
    retry_after: timedelta = timedelta(minutes=1),
    send_timeout_s: float = 30.0,
    check_after: timedelta = UNKNOWN_CHECK_AFTER,
) -> DeliveryReport:
    """Send what is due now; each message is claimed before it is sent, so no two workers send it."""
    now = now or utcnow()
    async with db.write() as session:
        rows = (
            await session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING.value, OutboxMessage.next_attempt_at <= now
                )
                .order_by(OutboxMessage.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        ).all()
        claimed = []
        for row in rows:
            row.status = OutboxStatus.SENDING.value
            row.attempts += 1
            claimed.append(
                (
                    Notice(
                        row.id,
                        Channel(row.channel),
                        row.address,
                        NoticeTopic(row.topic),
                        row.subject,
                        row.body,
                    ),
                    row.attempts,
                )
            )
    sent = retrying = failed = unknown = 0
    for notice, attempts in claimed:
        sender = senders.get(notice.channel)
        error: str | None = None
        undecided = False
        if sender is None:
            error = f"no sender configured for {notice.channel}"
        else:
            deadline = asyncio.timeout(send_timeout_s)
            try:
                async with deadline:
                    await sender.send(notice)
            except SendOutcomeUnknown as exc:
                error, undecided = f"outcome unknown: {exc}"[:500], True
            except TimeoutError as exc:
                # Ours: the request may be at the provider. The sender's own: it said it failed.
                undecided = deadline.expired()
                error = "outcome unknown: no answer in time" if undecided else f"TimeoutError: {exc}"[:500]
            except Exception as exc:  # any other failure of the sender is a definite non-delivery
                error = f"{type(exc).__name__}: {exc}"[:500]
        async with db.write() as session:
            row = await session.get(OutboxMessage, notice.id)
            assert row is not None
            if error is None:
                row.status = OutboxStatus.SENT.value
                row.sent_at = now
                sent += 1
            elif undecided:
                row.status = OutboxStatus.UNKNOWN.value
                row.last_error = error
                row.next_attempt_at = now + check_after
                unknown += 1
                log.warning("notice_outcome_unknown", extra={"kv": {"id": notice.id, "error": error}})
            elif attempts >= max_attempts or sender is None:
                row.status = OutboxStatus.FAILED.value
                row.last_error = error
                failed += 1
                log.warning(
                    "notice_failed", extra={"kv": {"id": notice.id, "attempts": attempts, "error": error}}
                )
            else:
                row.status = OutboxStatus.PENDING.value
                row.last_error = error
                row.next_attempt_at = now + retry_after * (2 ** (attempts - 1))
                retrying += 1
    return DeliveryReport(sent, retrying, failed, unknown)


async def check_unknown(
    db: Database,
    senders: Mapping[Channel, NoticeSender],
    *,
    now: datetime | None = None,
    batch: int = 50,
    max_attempts: int = 5,
    check_after: timedelta = UNKNOWN_CHECK_AFTER,
) -> DeliveryReport:
    """Settle sends whose outcome is unknown by asking the provider: one it took is sent; one
    it never saw goes back to the queue (or fails, out of attempts); when it cannot tell, ask
    again after ``check_after``. Channels whose sender cannot ask stay unknown for an operator."""
    now = now or utcnow()
    askable = {channel: s for channel, s in senders.items() if isinstance(s, StatusLookup)}
    if not askable:
        return DeliveryReport(0, 0, 0)
    async with db.read() as session:
        rows = (
            await session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.UNKNOWN.value,
                    OutboxMessage.next_attempt_at <= now,
                    OutboxMessage.channel.in_([c.value for c in askable]),
                )
                .order_by(OutboxMessage.id)
                .limit(batch)
            )
        ).all()
        due = [
            (
                Notice(r.id, Channel(r.channel), r.address, NoticeTopic(r.topic), r.subject, r.body),
                r.created_at,
                r.attempts,
            )
            for r in rows
        ]
    sent = retrying = failed = unknown = 0
    for notice, since, attempts in due:
        answer = await askable[notice.channel].was_accepted(notice, since=since)
        async with db.write() as session:
            row = await session.get(OutboxMessage, notice.id)
            if row is None or row.status != OutboxStatus.UNKNOWN.value:
                continue  # an operator requeued it meanwhile
            if answer is True:
                row.status = OutboxStatus.SENT.value
                row.sent_at = now
                row.last_error = None
                sent += 1
            elif answer is None:
                row.next_attempt_at = now + check_after
                unknown += 1
            elif attempts >= max_attempts:
                row.status = OutboxStatus.FAILED.value
                row.last_error = "the provider never received it, and it was out of attempts"
                failed += 1
            else:
                row.status = OutboxStatus.PENDING.value
                row.last_error = "the provider never received it: sent again"
                row.next_attempt_at = now
                retrying += 1
        log.info(
            "notice_outcome_checked",
            extra={"kv": {"id": notice.id, "accepted": answer, "attempts": attempts}},
        )
    return DeliveryReport(sent, retrying, failed, unknown)


class ReceiptSource(Protocol):
    async def poll_receipts(self, *, limit: int = 100) -> int:
        """Ask the provider how the messages it accepted were delivered; how many got an answer."""


async def run_outbox(
    db: Database,
    senders: Mapping[Channel, NoticeSender],
    stop: asyncio.Event,
    *,
    interval_s: float = 5.0,
    receipts: Sequence[ReceiptSource] = (),
    receipts_every_s: float = 300.0,
) -> None:
    """Deliver due notices every ``interval_s`` until ``stop`` is set (run it in the app's
    TaskGroup); every ``receipts_every_s``, ask ``receipts`` for delivery receipts."""
    await recover_interrupted(db)
    loop = asyncio.get_running_loop()
    asked = loop.time()
    while not stop.is_set():
        try:
            await check_unknown(db, senders)
            await deliver_due(db, senders)
            if receipts and loop.time() - asked >= receipts_every_s:
                asked = loop.time()
                for source in receipts:
                    await source.poll_receipts()
        except Exception:  # the database or the provider was unreachable: the next round tries again
            log.exception("outbox_round_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)


def build_senders(
    kind: str,
    *,
    smtp_host: str = "",
    smtp_port: int = 587,
    smtp_from: str = "",
    smtp_username: str = "",
    smtp_password: str = "",
    sms: NoticeSender | None = None,
) -> dict[Channel, NoticeSender]:
    """The senders for ``[crm] notice_sender``: ``log`` for both channels, or ``smtp`` for e-mail.

    SMS goes through ``sms`` (the provider ``[sms]`` configures, crm/sms.py), else to the log.
    """
    log_sender = LogSender()
    sms_sender = sms or log_sender
    if kind == "log":
        return {Channel.SMS: sms_sender, Channel.EMAIL: log_sender}
    if kind == "smtp":
        if not smtp_host or not smtp_from:
            raise ValueError("notice_sender = smtp needs [crm] smtp_host and smtp_from")
        smtp = SmtpSender(smtp_host, smtp_port, smtp_from, username=smtp_username, password=smtp_password)
        return {Channel.SMS: sms_sender, Channel.EMAIL: smtp}
    raise ValueError(f"unknown notice_sender {kind!r}: use log or smtp")
