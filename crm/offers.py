"""Offer presentations and their outcomes; information-collection and questionnaire answers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import select

from crm.db import Database, utcnow
from crm.errors import InvalidAnswer, NotFound
from crm.kinds import Channel, OfferOutcome, QuestionKind
from crm.models import Answer, Campaign, OfferPresentation, Question

AnswerValue = str | int | Sequence[str]


async def record_presentation(
    db: Database,
    campaign_id: int,
    customer_id: int,
    channel: Channel,
    *,
    agent: str | None = None,
    contact_id: int | None = None,
    outcome: OfferOutcome | None = None,
    now: datetime | None = None,
) -> int:
    now = now or utcnow()
    async with db.write() as session:
        if await session.get(Campaign, campaign_id) is None:
            raise NotFound("campaign", campaign_id)
        presentation = OfferPresentation(
            campaign_id=campaign_id,
            customer_id=customer_id,
            contact_id=contact_id,
            agent=agent,
            channel=channel.value,
            presented_at=now,
            outcome=outcome.value if outcome else None,
            outcome_at=now if outcome else None,
        )
        session.add(presentation)
        await session.flush()
        return presentation.id


async def missing_required(db: Database, campaign_id: int, answered: Iterable[int]) -> list[str]:
    """The texts of the campaign's required questions not among ``answered`` (question ids), in
    the campaign's order."""
    answered = set(answered)
    async with db.read() as session:
        rows = (
            await session.execute(
                select(Question.id, Question.text)
                .where(Question.campaign_id == campaign_id, Question.required.is_(True))
                .order_by(Question.position, Question.id)
            )
        ).all()
    return [text for question_id, text in rows if question_id not in answered]


async def record_outcome(
    db: Database, presentation_id: int, outcome: OfferOutcome, *, now: datetime | None = None
) -> None:
    async with db.write() as session:
        presentation = await session.get(OfferPresentation, presentation_id)
        if presentation is None:
            raise NotFound("offer presentation", presentation_id)
        presentation.outcome = outcome.value
        presentation.outcome_at = now or utcnow()


async def record_answers(
    db: Database, presentation_id: int, answers: Mapping[int, AnswerValue], *, now: datetime | None = None
) -> None:
    """Store one answer per question (keyed by question id), each checked against its question."""
    now = now or utcnow()
    async with db.write() as session:
        presentation = await session.get(OfferPresentation, presentation_id)
        if presentation is None:
            raise NotFound("offer presentation", presentation_id)
        questions = {
            q.id: q
            for q in (
                await session.scalars(
                    select(Question).where(Question.campaign_id == presentation.campaign_id)
                )
            ).all()
        }
        for question_id, value in answers.items():
            question = questions.get(question_id)
            if question is None:
                raise InvalidAnswer(
                    f"question {question_id} is not part of campaign {presentation.campaign_id}"
                )
            row = Answer(
                presentation_id=presentation_id,
                question_id=question_id,
                customer_id=presentation.customer_id,
                answered_at=now,
            )
            _fill(row, question, value)
            session.add(row)


def _fill(row: Answer, question: Question, value: AnswerValue) -> None:
    kind = QuestionKind(question.kind)
    where = f"question {question.id} ({kind})"
    if kind is QuestionKind.SINGLE:
        if not isinstance(value, str) or value not in question.choices:
            raise InvalidAnswer(f"{where}: {value!r} is not one of {question.choices}")
        row.value_text = value
    elif kind is QuestionKind.MULTIPLE:
        if isinstance(value, (str, int)) or not all(v in question.choices for v in value):
            raise InvalidAnswer(f"{where}: {value!r} must be a list drawn from {question.choices}")
        row.value_choices = list(dict.fromkeys(value))
    elif kind is QuestionKind.SCALE:
        low, high = question.scale_min or 0, question.scale_max or 0
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidAnswer(f"{where}: {value!r} must be a whole number from {low} to {high}")
        row.value_number = value
    else:
        if not isinstance(value, str) or len(value) > 4000:
            raise InvalidAnswer(f"{where}: expected text up to 4000 characters")
        row.value_text = value


async def answers_for(db: Database, presentation_id: int) -> dict[int, AnswerValue]:
    async with db.read() as session:
        rows = (await session.scalars(select(Answer).where(Answer.presentation_id == presentation_id))).all()
    out: dict[int, AnswerValue] = {}
    for a in rows:
        if a.value_choices is not None:
            out[a.question_id] = tuple(a.value_choices)
        elif a.value_number is not None:
            out[a.question_id] = a.value_number
        else:
            out[a.question_id] = a.value_text or ""
    return out
