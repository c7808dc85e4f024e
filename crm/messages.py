"""Messages callers left after hours: stored once per call, listed, called back, done.

The file is kept as the message folder's name and the path inside it (recording.message_files
maps Asterisk's name of it), so the CRM never holds a path of another machine. A message is *new*
until someone calls the caller back (*called_back*, who and when) or marks it *done*.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from crm.customers import find_customer_by_phone
from crm.db import Database, utcnow
from crm.errors import NotFound
from crm.models import Base, UtcDateTime

MAX_LIST = 500


class MessageStatus(enum.StrEnum):
    NEW = "new"
    CALLED_BACK = "called_back"
    DONE = "done"


class MessageRow(Base):
    __tablename__ = "messages_left"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    caller: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    queue: Mapped[str] = mapped_column(String(64), default="")
    file: Mapped[str] = mapped_column(String(500), default="")  # relative to the recording spool
    record_status: Mapped[str] = mapped_column(String(20), default="")
    status: Mapped[str] = mapped_column(String(12), default=MessageStatus.NEW.value, index=True)
    handled_by: Mapped[str | None] = mapped_column(String(64))
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str] = mapped_column(Text, default="")


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    call_id: str
    at: datetime
    caller: str
    customer_id: int | None
    customer_name: str
    queue: str
    file: str
    record_status: str
    status: MessageStatus
    handled_by: str
    handled_at: datetime | None
    note: str


@dataclass(frozen=True, slots=True)
class NewMessage:
    call_id: str
    at: datetime
    caller: str
    queue: str
    file: str
    record_status: str


async def store_message(db: Database, new: NewMessage) -> int | None:
    """Keep a message; None when this call's message is stored already (a repeated event)."""
    match = await find_customer_by_phone(db, new.caller) if new.caller else None
    try:
        async with db.write() as session:
            if await session.scalar(select(MessageRow.id).where(MessageRow.call_id == new.call_id)):
                return None
            row = MessageRow(
                call_id=new.call_id,
                at=new.at,
                caller=new.caller[:40],
                customer_id=match.customer_id if match else None,
                queue=new.queue[:64],
                file=new.file[:500],
                record_status=new.record_status[:20],
                status=MessageStatus.NEW.value,
                note="",
            )
            session.add(row)
            await session.flush()
            return row.id
    except IntegrityError:
        return None


async def list_messages(
    db: Database,
    *,
    status: MessageStatus | None = None,
    queues: frozenset[str] | None = None,
    limit: int = 200,
) -> tuple[Message, ...]:
    """Newest first; ``queues`` limits them to those queues (None: every queue)."""
    from crm.models import Customer

    query = (
        select(MessageRow, Customer.name)
        .outerjoin(Customer, Customer.id == MessageRow.customer_id)
        .order_by(MessageRow.at.desc(), MessageRow.id.desc())
        .limit(min(limit, MAX_LIST))
    )
    if status is not None:
        query = query.where(MessageRow.status == status.value)
    if queues is not None:
        query = query.where(MessageRow.queue.in_(sorted(queues)))
    async with db.read() as session:
        rows = (await session.execute(query)).all()
    return tuple(_view(row, name) for row, name in rows)


async def count_new(db: Database) -> int:
    async with db.read() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(MessageRow)
                .where(MessageRow.status == MessageStatus.NEW.value)
            )
            or 0
        )


async def get_message(db: Database, message_id: int) -> Message:
    from crm.models import Customer

    async with db.read() as session:
        found = (
            await session.execute(
                select(MessageRow, Customer.name)
                .outerjoin(Customer, Customer.id == MessageRow.customer_id)
                .where(MessageRow.id == message_id)
            )
        ).first()
    if found is None:
        raise NotFound("message", message_id)
    return _view(found[0], found[1])


async def set_status(
    db: Database,
    message_id: int,
    status: MessageStatus,
    *,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> Message:
    async with db.write() as session:
        row = await session.get(MessageRow, message_id)
        if row is None:
            raise NotFound("message", message_id)
        row.status = status.value
        row.handled_by = actor if status is not MessageStatus.NEW else None
        row.handled_at = (now or utcnow()) if status is not MessageStatus.NEW else None
        if note is not None:
            row.note = note
    return await get_message(db, message_id)


def _view(row: MessageRow, name: str | None) -> Message:
    return Message(
        id=row.id,
        call_id=row.call_id,
        at=row.at,
        caller=row.caller,
        customer_id=row.customer_id,
        customer_name=name or "",
        queue=row.queue,
        file=row.file,
        record_status=row.record_status,
        status=MessageStatus(row.status),
        handled_by=row.handled_by or "",
        handled_at=row.handled_at,
        note=row.note or "",
    )
