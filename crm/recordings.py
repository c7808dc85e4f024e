"""Call recordings: the index (one row per recorded channel), QA reviews and legal holds.

recording/ decides what happens to a recording (analysis, transcode, retention); the rows live
here because crm/ owns persistent data. ``state`` is the journal of the storage pipeline:
a row in ``pending`` or ``transcoding`` when the process stops is picked up again on start.

The tables and the values are declared in ``crm.recording_tables`` and importable from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from crm.db import Database, utcnow
from crm.models import Contact
from crm.recording_tables import (
    NewRecording,
    NewReview,
    Recording,
    RecordingQuery,
    RecordingRow,
    RecordingState,
    Review,
    ReviewRow,
    ScoreSummary,
    StorageUse,
)

__all__ = [
    "NewRecording",
    "NewReview",
    "Recording",
    "RecordingQuery",
    "RecordingRow",
    "RecordingState",
    "Review",
    "ReviewRow",
    "ScoreSummary",
    "StorageUse",
    "add_recording",
    "add_review",
    "expired",
    "get_recording",
    "in_states",
    "link_contact",
    "recordings_of_call",
    "reviews_of",
    "score_summary",
    "search",
    "set_hold",
    "storage_use",
    "unlinked_calls",
    "update_call",
    "update_recording",
]


_FACTS = frozenset(
    {
        "ended_at",
        "agent",
        "queue",
        "number",
        "customer_id",
        "contact_id",
        "disposition",
        "duration_s",
        "size_bytes",
        "format",
        "channels",
        "checksum",
        "talk_ratio",
        "silence_ratio",
        "crosstalk_s",
        "state",
        "stored_path",
        "error",
        "retain_until",
        "legs",
    }
)


def _recording(row: RecordingRow) -> Recording:
    return Recording(
        id=row.id,
        call_id=row.call_id,
        channel=row.channel,
        spool_path=row.spool_path,
        legs=tuple(row.legs or ()),
        started_at=row.started_at,
        ended_at=row.ended_at,
        agent=row.agent,
        queue=row.queue,
        number=row.number,
        customer_id=row.customer_id,
        contact_id=row.contact_id,
        disposition=row.disposition,
        duration_s=row.duration_s,
        size_bytes=row.size_bytes,
        format=row.format,
        channels=row.channels,
        checksum=row.checksum,
        talk_ratio=row.talk_ratio,
        silence_ratio=row.silence_ratio,
        crosstalk_s=row.crosstalk_s,
        state=RecordingState(row.state),
        stored_path=row.stored_path,
        error=row.error,
        retain_until=row.retain_until,
        held=row.held,
        hold_reason=row.hold_reason,
        held_by=row.held_by,
        qa_score=row.qa_score,
    )


def _review(row: ReviewRow) -> Review:
    return Review(
        id=row.id,
        recording_id=row.recording_id,
        reviewer=row.reviewer,
        form=row.form,
        score=row.score,
        answers=dict(row.answers or {}),
        comments=tuple(row.comments or ()),
        summary=row.summary,
        at=row.at,
    )


# --- the index ---------------------------------------------------------------------------------


async def add_recording(db: Database, new: NewRecording) -> int:
    """Index a recording Asterisk started; the same spool file twice returns the first row's id."""
    async with db.write() as session:
        existing = await session.scalar(
            select(RecordingRow.id).where(RecordingRow.spool_path == new.spool_path)
        )
        if existing is not None:
            return int(existing)
        row = RecordingRow(
            call_id=new.call_id,
            channel=new.channel,
            spool_path=new.spool_path,
            legs=list(new.legs),
            started_at=new.started_at,
            number=new.number,
            queue=new.queue,
            agent=new.agent,
            state=RecordingState.RECORDING.value,
        )
        session.add(row)
        await session.flush()
        return row.id


async def get_recording(db: Database, recording_id: int) -> Recording | None:
    async with db.read() as session:
        row = await session.get(RecordingRow, recording_id)
        return None if row is None else _recording(row)


async def recordings_of_call(db: Database, call_id: str) -> tuple[Recording, ...]:
    async with db.read() as session:
        rows = await session.scalars(
            select(RecordingRow).where(RecordingRow.call_id == call_id).order_by(RecordingRow.id)
        )
        return tuple(_recording(r) for r in rows)


async def update_recording(db: Database, recording_id: int, **facts: Any) -> None:
    """Set facts learned along the pipeline (state, duration, checksum, …)."""
    unknown = set(facts) - _FACTS
    if unknown:
        raise ValueError(f"not recording facts: {', '.join(sorted(unknown))}")
    if "state" in facts:
        facts["state"] = RecordingState(facts["state"]).value
    async with db.write() as session:
        await session.execute(update(RecordingRow).where(RecordingRow.id == recording_id).values(**facts))


async def update_call(db: Database, call_id: str, **facts: Any) -> None:
    """Set facts on every recording of a call (agent, queue, end time); empty values are skipped."""
    facts = {k: v for k, v in facts.items() if v not in (None, "")}
    unknown = set(facts) - _FACTS
    if unknown:
        raise ValueError(f"not recording facts: {', '.join(sorted(unknown))}")
    if not facts:
        return
    async with db.write() as session:
        await session.execute(update(RecordingRow).where(RecordingRow.call_id == call_id).values(**facts))


async def link_contact(db: Database, call_id: str) -> bool:
    """Copy the customer, contact and disposition of the call's contact record, if one exists."""
    async with db.read() as session:
        contact = (
            await session.execute(
                select(Contact.id, Contact.customer_id, Contact.disposition)
                .where(Contact.call_id == call_id)
                .order_by(Contact.id.desc())
                .limit(1)
            )
        ).first()
    if contact is None:
        return False
    await update_call(
        db, call_id, contact_id=contact.id, customer_id=contact.customer_id, disposition=contact.disposition
    )
    return True


async def unlinked_calls(db: Database, since: datetime, *, limit: int = 500) -> tuple[str, ...]:
    """Calls ended since ``since`` whose recordings have no contact record linked yet."""
    statement = (
        select(RecordingRow.call_id)
        .where(
            RecordingRow.contact_id.is_(None),
            RecordingRow.ended_at >= since,
            RecordingRow.state != RecordingState.PURGED.value,
        )
        .group_by(RecordingRow.call_id)
        .limit(limit)
    )
    async with db.read() as session:
        return tuple((await session.scalars(statement)).all())


async def in_states(db: Database, states: Iterable[RecordingState]) -> tuple[Recording, ...]:
    wanted = [RecordingState(s).value for s in states]
    async with db.read() as session:
        rows = await session.scalars(
            select(RecordingRow).where(RecordingRow.state.in_(wanted)).order_by(RecordingRow.id)
        )
        return tuple(_recording(r) for r in rows)


async def search(db: Database, query: RecordingQuery) -> tuple[Recording, ...]:
    """Newest first; purged recordings are left out."""
    where: list[Any] = [RecordingRow.state != RecordingState.PURGED.value]
    if query.since is not None:
        where.append(RecordingRow.started_at >= query.since)
    if query.until is not None:
        where.append(RecordingRow.started_at < query.until)
    if query.agent:
        where.append(RecordingRow.agent == query.agent)
    if query.agents is not None:
        where.append(RecordingRow.agent.in_(list(query.agents)))
    if query.queue:
        where.append(RecordingRow.queue == query.queue)
    if query.customer_id is not None:
        where.append(RecordingRow.customer_id == query.customer_id)
    if query.number:
        where.append(RecordingRow.number.endswith(query.number, autoescape=True))
    if query.disposition:
        where.append(RecordingRow.disposition == query.disposition)
    if query.min_duration_s is not None:
        where.append(RecordingRow.duration_s >= query.min_duration_s)
    if query.max_duration_s is not None:
        where.append(RecordingRow.duration_s <= query.max_duration_s)
    if query.min_score is not None:
        where.append(RecordingRow.qa_score >= query.min_score)
    if query.max_score is not None:
        where.append(RecordingRow.qa_score <= query.max_score)
    statement = (
        select(RecordingRow)
        .where(and_(*where))
        .order_by(RecordingRow.started_at.desc(), RecordingRow.id.desc())
        .limit(max(1, min(query.limit, 500)))
        .offset(max(0, query.offset))
    )
    async with db.read() as session:
        return tuple(_recording(r) for r in await session.scalars(statement))


# --- QA reviews --------------------------------------------------------------------------------


async def add_review(db: Database, new: NewReview, *, now: datetime | None = None) -> int:
    """Store a review; the recording's ``qa_score`` becomes the average of its reviews."""
    async with db.write() as session:
        row = ReviewRow(
            recording_id=new.recording_id,
            reviewer=new.reviewer,
            form=new.form,
            score=new.score,
            answers=dict(new.answers),
            comments=[dict(c) for c in new.comments],
            summary=new.summary,
            at=now or utcnow(),
        )
        session.add(row)
        await session.flush()
        average = await session.scalar(
            select(func.avg(ReviewRow.score)).where(ReviewRow.recording_id == new.recording_id)
        )
        await session.execute(
            update(RecordingRow).where(RecordingRow.id == new.recording_id).values(qa_score=average)
        )
        return row.id


async def reviews_of(db: Database, recording_id: int) -> tuple[Review, ...]:
    async with db.read() as session:
        rows = await session.scalars(
            select(ReviewRow).where(ReviewRow.recording_id == recording_id).order_by(ReviewRow.id)
        )
        return tuple(_review(r) for r in rows)


async def score_summary(
    db: Database,
    *,
    by: str,
    since: datetime | None = None,
    until: datetime | None = None,
    agents: Sequence[str] | None = None,
) -> tuple[ScoreSummary, ...]:
    """Review scores grouped by ``agent`` or ``queue`` over the reviews' period."""
    if by not in ("agent", "queue"):
        raise ValueError("scores are grouped by agent or queue")
    key = RecordingRow.agent if by == "agent" else RecordingRow.queue
    statement = (
        select(
            key,
            func.count(ReviewRow.id),
            func.avg(ReviewRow.score),
            func.min(ReviewRow.score),
            func.max(ReviewRow.score),
        )
        .join(RecordingRow, RecordingRow.id == ReviewRow.recording_id)
        .group_by(key)
        .order_by(key)
    )
    if since is not None:
        statement = statement.where(ReviewRow.at >= since)
    if until is not None:
        statement = statement.where(ReviewRow.at < until)
    if agents is not None:
        statement = statement.where(RecordingRow.agent.in_(list(agents)))
    async with db.read() as session:
        rows = (await session.execute(statement)).all()
    return tuple(ScoreSummary(r[0], int(r[1]), float(r[2]), float(r[3]), float(r[4])) for r in rows)


# --- retention ---------------------------------------------------------------------------------


async def set_hold(db: Database, recording_id: int, *, held: bool, reason: str = "", by: str = "") -> bool:
    """Put a legal hold on a recording (or lift it); False when there is no such recording."""
    async with db.write() as session:
        result = await session.execute(
            update(RecordingRow)
            .where(RecordingRow.id == recording_id)
            .values(held=held, hold_reason=reason if held else "", held_by=by if held else "")
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def expired(db: Database, now: datetime, *, limit: int = 1000) -> tuple[Recording, ...]:
    """Recordings past their retention and not on hold, oldest first."""
    statement = (
        select(RecordingRow)
        .where(
            RecordingRow.retain_until <= now,
            RecordingRow.held.is_(False),
            or_(
                RecordingRow.state == RecordingState.STORED.value,
                RecordingRow.state == RecordingState.FAILED.value,
            ),
        )
        .order_by(RecordingRow.retain_until)
        .limit(limit)
    )
    async with db.read() as session:
        return tuple(_recording(r) for r in await session.scalars(statement))


async def storage_use(db: Database) -> tuple[StorageUse, ...]:
    statement = (
        select(
            RecordingRow.state,
            RecordingRow.format,
            func.count(RecordingRow.id),
            func.coalesce(func.sum(RecordingRow.size_bytes), 0),
        )
        .group_by(RecordingRow.state, RecordingRow.format)
        .order_by(RecordingRow.state, RecordingRow.format)
    )
    async with db.read() as session:
        rows = (await session.execute(statement)).all()
    return tuple(StorageUse(r[0], r[1], int(r[2]), int(r[3])) for r in rows)
