"""Known rows for the standard report tests: facts through record_facts, CRM rows straight in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from crm.db import Database
from crm.models import Answer, Campaign, Customer, OfferPresentation, Question, Ticket
from crm.recording_tables import RecordingRow
from crm.reporting.facts import LegOutcome, QueueLegFact, record_facts
from crm.reporting.results import ReportResult
from crm.reporting.standard import ReportParams

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def local(day: str, hhmm: str = "10:00") -> datetime:
    """An instant given in Shanghai local time."""
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=SHANGHAI)


def params(first: str, last: str | None = None, **kw: Any) -> ReportParams:
    return ReportParams(date.fromisoformat(first), date.fromisoformat(last or first), **kw)


def leg(
    at: datetime,
    outcome: LegOutcome,
    *,
    call: str,
    queue: str = "support",
    wait: float = 0.0,
    talk: float = 0.0,
    **kw: Any,
) -> QueueLegFact:
    return QueueLegFact(
        call_id=call,
        queue=queue,
        entered_at=at,
        ended_at=at + timedelta(seconds=wait + talk),
        outcome=outcome,
        wait_s=wait,
        talk_s=talk,
        **kw,
    )


async def facts(db: Database, *items: Any) -> None:
    await record_facts(db, items, tz=SHANGHAI)


async def add(db: Database, *rows: Any) -> list[Any]:
    async with db.write() as session:
        session.add_all(rows)
        await session.flush()
    return list(rows)


def customer(id_: int, segment: str = "regular", **kw: Any) -> Customer:
    return Customer(id=id_, name=f"c{id_}", segment=segment, created_at=T0, updated_at=T0, **kw)


def campaign(id_: int, name: str, kind: str = "marketing", **kw: Any) -> Campaign:
    return Campaign(id=id_, name=name, kind=kind, created_at=T0, updated_at=T0, **kw)


def presentation(
    campaign_id: int, customer_id: int, agent: str | None, at: datetime, outcome: str | None = None, **kw: Any
) -> OfferPresentation:
    kw.setdefault("channel", "call_in")
    return OfferPresentation(
        campaign_id=campaign_id, customer_id=customer_id, agent=agent, presented_at=at, outcome=outcome, **kw
    )


def question(id_: int, campaign_id: int, position: int) -> Question:
    return Question(id=id_, campaign_id=campaign_id, position=position, text=f"q{id_}", kind="text")


def answer(presentation_id: int, question_id: int, customer_id: int, at: datetime) -> Answer:
    return Answer(
        presentation_id=presentation_id,
        question_id=question_id,
        customer_id=customer_id,
        value_text="yes",
        answered_at=at,
    )


def recording(call: str, agent: str, at: datetime, qa: float | None, queue: str = "support") -> RecordingRow:
    return RecordingRow(
        call_id=call,
        spool_path=f"{call}.wav",
        started_at=at,
        agent=agent,
        queue=queue,
        state="stored",
        qa_score=qa,
    )


def ticket(
    id_: int,
    kind: str,
    assignee: str | None,
    opened_at: datetime,
    due_at: datetime,
    closed_at: datetime | None = None,
    satisfaction: int | None = None,
) -> Ticket:
    return Ticket(
        id=id_,
        kind=kind,
        status="closed" if closed_at else "assigned",
        customer_id=1,
        subject="s",
        assignee=assignee,
        opened_by="alice",
        opened_at=opened_at,
        due_at=due_at,
        closed_at=closed_at,
        satisfaction=satisfaction,
    )


def table(result: ReportResult, *names: str) -> list[tuple[Any, ...]]:
    """The chosen columns of every row, in order."""
    indexes = [result.column(name) for name in names]
    return [tuple(row[i] for i in indexes) for row in result.rows]


def totals(result: ReportResult, *names: str) -> tuple[Any, ...]:
    assert result.totals is not None
    return tuple(result.totals[result.column(name)] for name in names)


def by_first(rows: Sequence[tuple[Any, ...]]) -> dict[Any, tuple[Any, ...]]:
    return {row[0]: row[1:] for row in rows}
