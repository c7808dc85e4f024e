"""The outbox as its operators see it: every mail and SMS with its status, attempts, last error
and the provider's delivery receipt, newest first; and a failed or unknown one sent again by hand.

Sending again is an operator's decision, the one way a message whose outcome is unknown leaves
twice: it is refused for a message the customer has since opted out of, and for one that went.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from crm.db import Database, utcnow
from crm.errors import NotFound
from crm.kinds import Channel, NoticeTopic, OutboxStatus
from crm.models import Customer, OutboxMessage, Subscription
from crm.notices import OPTED_OUT
from crm.sms import SmsReceiptRow

MAX_LIST = 500
RESENDABLE = frozenset({OutboxStatus.FAILED, OutboxStatus.UNKNOWN})


class NotResendable(Exception):
    """This message is not sent again: ``reason`` is "not_failed" (it went, or is on its way) or
    "opted_out" (its customer no longer wants such notices)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Receipt:
    provider: str
    provider_ref: str
    delivery: str  # pending / delivered / failed (crm.sms.Delivery)
    error: str
    reported_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int
    created_at: datetime
    channel: Channel
    address: str
    topic: NoticeTopic
    subject: str
    body: str
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str
    sent_at: datetime | None
    customer_id: int | None
    customer_name: str
    receipt: Receipt | None


def _entry(row: OutboxMessage, customer_name: str | None, receipt: SmsReceiptRow | None) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        created_at=row.created_at,
        channel=Channel(row.channel),
        address=row.address,
        topic=NoticeTopic(row.topic),
        subject=row.subject,
        body=row.body,
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error or "",
        sent_at=row.sent_at,
        customer_id=row.customer_id,
        customer_name=customer_name or "",
        receipt=None
        if receipt is None
        else Receipt(
            receipt.provider, receipt.provider_ref, receipt.delivery, receipt.error, receipt.reported_at
        ),
    )


def _listing():  # type: ignore[no-untyped-def]
    return (
        select(OutboxMessage, Customer.name, SmsReceiptRow)
        .outerjoin(Customer, Customer.id == OutboxMessage.customer_id)
        .outerjoin(SmsReceiptRow, SmsReceiptRow.outbox_id == OutboxMessage.id)
    )


async def list_outbox(
    db: Database,
    *,
    status: OutboxStatus | None = None,
    channel: Channel | None = None,
    text: str = "",
    before: int | None = None,
    limit: int = 200,
) -> tuple[list[OutboxEntry], dict[str, int]]:
    """The newest messages matching (``text``: part of the address, subject, text or customer's
    name; ``before``: older than that id), and how many messages of the channel are in each status."""
    query = _listing().order_by(OutboxMessage.id.desc()).limit(min(limit, MAX_LIST + 1))
    if before is not None:
        query = query.where(OutboxMessage.id < before)
    counts = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    if status is not None:
        query = query.where(OutboxMessage.status == status.value)
    if channel is not None:
        query = query.where(OutboxMessage.channel == channel.value)
        counts = counts.where(OutboxMessage.channel == channel.value)
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                OutboxMessage.address.like(like, escape="\\"),
                OutboxMessage.subject.like(like, escape="\\"),
                OutboxMessage.body.like(like, escape="\\"),
                Customer.name.like(like, escape="\\"),
            )
        )
    async with db.read() as session:
        rows = (await session.execute(query)).all()
        by_status = dict((await session.execute(counts)).all())
    return [_entry(*row) for row in rows], {s.value: by_status.get(s.value, 0) for s in OutboxStatus}


async def get_entry(db: Database, outbox_id: int) -> OutboxEntry:
    async with db.read() as session:
        row = (await session.execute(_listing().where(OutboxMessage.id == outbox_id))).first()
    if row is None:
        raise NotFound("outbox message", outbox_id)
    return _entry(*row)


async def send_again(db: Database, outbox_id: int, *, actor: str, now: datetime | None = None) -> OutboxEntry:
    """Queue a failed or unknown message again, its attempts from zero; NotResendable when it
    went, is on its way, or its customer no longer wants such notices."""
    now = now or utcnow()
    async with db.write() as session:
        row = await session.get(OutboxMessage, outbox_id)
        if row is None:
            raise NotFound("outbox message", outbox_id)
        if OutboxStatus(row.status) not in RESENDABLE:
            raise NotResendable("not_failed")
        if row.customer_id is not None:
            wanted = await session.scalar(
                select(Subscription.id).where(
                    Subscription.customer_id == row.customer_id,
                    Subscription.topic == row.topic,
                    Subscription.channel == row.channel,
                )
            )
            if wanted is None or row.last_error == OPTED_OUT:
                raise NotResendable("opted_out")
        row.status = OutboxStatus.PENDING.value
        row.attempts = 0
        row.next_attempt_at = now
        row.last_error = f"sent again by {actor}"
    return await get_entry(db, outbox_id)
