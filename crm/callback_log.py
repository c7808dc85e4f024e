"""What became of each callback: the ACD's attempts as they happened, and the outcome an agent
gave it. The ACD owns the waiting callbacks; this log keeps their story once they leave it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Database, utcnow
from crm.models import Base, UtcDateTime

MAX_LIST = 500


class CallbackStep(enum.StrEnum):
    SCHEDULED = "scheduled"
    STARTED = "started"
    COMPLETED = "completed"  # the agent answered and the customer's number was dialed
    FAILED = "failed"  # an attempt did not get through; another follows
    GAVE_UP = "gave_up"  # no attempt left
    CANCELLED = "cancelled"
    TAKEN = "taken"  # someone took it out of the queue and dialed it by hand
    OUTCOME = "outcome"  # what the agent says came of it


class CallbackOutcome(enum.StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    WRONG_NUMBER = "wrong_number"
    CALL_LATER = "call_later"
    NOT_NEEDED = "not_needed"


class CallbackLogRow(Base):
    __tablename__ = "callback_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    callback_id: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    step: Mapped[str] = mapped_column(String(12))
    number: Mapped[str] = mapped_column(String(40), default="")
    queue: Mapped[str] = mapped_column(String(64), default="")
    agent: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(20), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


@dataclass(frozen=True, slots=True)
class LogEntry:
    id: int
    callback_id: str
    at: datetime
    step: CallbackStep
    number: str
    queue: str
    agent: str
    outcome: str
    detail: str


async def add_step(
    db: Database,
    callback_id: str,
    step: CallbackStep,
    *,
    at: datetime | None = None,
    number: str = "",
    queue: str = "",
    agent: str = "",
    outcome: CallbackOutcome | None = None,
    detail: str = "",
) -> int:
    async with db.write() as session:
        row = CallbackLogRow(
            callback_id=callback_id[:64],
            at=at or utcnow(),
            step=step.value,
            number=number[:40],
            queue=queue[:64],
            agent=agent[:64],
            outcome=outcome.value if outcome else "",
            detail=detail[:2000],
        )
        session.add(row)
        await session.flush()
        return row.id


async def known(db: Database, callback_id: str) -> bool:
    async with db.read() as session:
        return bool(
            await session.scalar(
                select(CallbackLogRow.id).where(CallbackLogRow.callback_id == callback_id).limit(1)
            )
        )


async def steps_of(db: Database, callback_id: str) -> tuple[LogEntry, ...]:
    """One callback's history, oldest first."""
    query = (
        select(CallbackLogRow)
        .where(CallbackLogRow.callback_id == callback_id)
        .order_by(CallbackLogRow.at, CallbackLogRow.id)
        .limit(MAX_LIST)
    )
    async with db.read() as session:
        return tuple(_entry(r) for r in (await session.scalars(query)).all())


async def recent(db: Database, *, agent: str | None = None, limit: int = 200) -> tuple[LogEntry, ...]:
    """The newest steps first; ``agent`` limits them to that agent's callbacks."""
    query = select(CallbackLogRow).order_by(CallbackLogRow.at.desc(), CallbackLogRow.id.desc())
    if agent is not None:
        mine = select(CallbackLogRow.callback_id).where(CallbackLogRow.agent == agent)
        query = query.where(CallbackLogRow.callback_id.in_(mine))
    async with db.read() as session:
        rows = (await session.scalars(query.limit(min(limit, MAX_LIST)))).all()
    return tuple(_entry(r) for r in rows)


def _entry(r: CallbackLogRow) -> LogEntry:
    return LogEntry(
        r.id, r.callback_id, r.at, CallbackStep(r.step), r.number, r.queue, r.agent, r.outcome, r.detail
    )
