"""One customer's timeline: every contact on every channel and everything that happened to them.

Contacts (calls in and out with the call's recording and its wrap-up, SMS, mail, web, visits,
callbacks), offers presented and their outcomes with the questionnaire answers, every step of
their tickets, and the notices sent to them — newest first, one list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from crm.db import Database
from crm.models import (
    Answer,
    CallSurvey,
    Campaign,
    Contact,
    OfferPresentation,
    OutboxMessage,
    Question,
    Ticket,
    TicketStep,
)
from crm.recording_tables import RecordingRow


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    kind: str  # "contact", "offer", "ticket" or "notice"
    channel: str = ""
    agent: str | None = None
    disposition: str = ""
    note: str = ""
    call_id: str | None = None
    recording_id: int | None = None
    ticket_id: int | None = None
    ticket_number: str = ""
    action: str = ""  # a ticket step's action
    campaign_id: int | None = None
    campaign_name: str = ""
    outcome: str | None = None
    answers: tuple[tuple[str, str], ...] = ()  # (question, answer)
    subject: str = ""
    status: str = ""  # a notice's delivery state
    # a call's score from the post-call survey (1–5), and the survey's state: "" when none was
    # asked, else asked | answered | unanswered (docs/survey.md)
    satisfaction: int | None = None
    survey: str = ""


def _answer_text(a: Answer) -> str:
    if a.value_choices:
        return ", ".join(a.value_choices)
    if a.value_number is not None:
        return str(a.value_number)
    return a.value_text or ""


async def customer_timeline(db: Database, customer_id: int, *, limit: int = 300) -> tuple[TimelineEntry, ...]:
    entries: list[TimelineEntry] = []
    async with db.read() as session:
        numbers = dict(
            (
                await session.execute(
                    select(Ticket.id, Ticket.number).where(Ticket.customer_id == customer_id)
                )
            ).all()
        )
        contacts = (
            await session.scalars(
                select(Contact)
                .where(Contact.customer_id == customer_id)
                .order_by(Contact.at.desc())
                .limit(limit)
            )
        ).all()
        call_ids = [c.call_id for c in contacts if c.call_id]
        recordings = dict(
            (
                await session.execute(
                    select(RecordingRow.call_id, RecordingRow.id)
                    .where(RecordingRow.call_id.in_(call_ids))
                    .order_by(RecordingRow.id)
                )
            ).all()
        )
        surveys = dict(
            (
                await session.execute(
                    select(CallSurvey.call_id, CallSurvey.status).where(CallSurvey.call_id.in_(call_ids))
                )
            ).all()
        )
        campaigns = dict((await session.execute(select(Campaign.id, Campaign.name))).all())
        for c in contacts:
            entries.append(
                TimelineEntry(
                    at=c.at,
                    kind="contact",
                    channel=c.channel,
                    agent=c.agent,
                    disposition=c.disposition,
                    note=c.note,
                    call_id=c.call_id,
                    recording_id=recordings.get(c.call_id) if c.call_id else None,
                    ticket_id=c.ticket_id,
                    ticket_number=numbers.get(c.ticket_id, "") if c.ticket_id else "",
                    campaign_id=c.campaign_id,
                    campaign_name=campaigns.get(c.campaign_id, "") if c.campaign_id else "",
                    satisfaction=c.satisfaction,
                    survey=surveys.get(c.call_id, "") if c.call_id else "",
                )
            )
        presentations = (
            await session.scalars(
                select(OfferPresentation)
                .where(OfferPresentation.customer_id == customer_id)
                .order_by(OfferPresentation.presented_at.desc())
                .limit(limit)
            )
        ).all()
        answers: dict[int, list[tuple[str, str]]] = {}
        for answer, text in await session.execute(
            select(Answer, Question.text)
            .join(Question, Question.id == Answer.question_id)
            .where(Answer.presentation_id.in_([p.id for p in presentations]))
            .order_by(Question.position)
        ):
            answers.setdefault(answer.presentation_id, []).append((text, _answer_text(answer)))
        for p in presentations:
            entries.append(
                TimelineEntry(
                    at=p.presented_at,
                    kind="offer",
                    channel=p.channel,
                    agent=p.agent,
                    campaign_id=p.campaign_id,
                    campaign_name=campaigns.get(p.campaign_id, ""),
                    outcome=p.outcome,
                    answers=tuple(answers.get(p.id, ())),
                )
            )
        steps = (
            await session.scalars(
                select(TicketStep)
                .where(TicketStep.ticket_id.in_(list(numbers)))
                .order_by(TicketStep.at.desc())
                .limit(limit)
            )
        ).all()
        for s in steps:
            entries.append(
                TimelineEntry(
                    at=s.at,
                    kind="ticket",
                    agent=s.actor,
                    note=" ".join(x for x in (s.assignee or "", s.team or "", s.note) if x),
                    ticket_id=s.ticket_id,
                    ticket_number=numbers.get(s.ticket_id) or "",
                    action=s.action,
                )
            )
        notices = (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.customer_id == customer_id)
                .order_by(OutboxMessage.created_at.desc())
                .limit(limit)
            )
        ).all()
        for n in notices:
            entries.append(
                TimelineEntry(
                    at=n.sent_at or n.created_at,
                    kind="notice",
                    channel=n.channel,
                    subject=n.subject,
                    note=n.body,
                    status=n.status,
                )
            )
    entries.sort(key=lambda e: e.at, reverse=True)
    return tuple(entries[:limit])
