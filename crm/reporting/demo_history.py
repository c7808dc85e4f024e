"""Demo history: two weeks of a center's calls, so every report has something to show at once.

A small day-by-day simulation, reproducible from a seed: callers arrive by the hour in a
weekday / weekend profile, pass the IVR (some serve themselves there), wait for the agents of
their queue's skill (agents work shifts with breaks, lunch and some training), are answered or
give up after their patience, and talk, hold and wrap up. Everything is written through the
same API the live system uses (``record_facts``; contacts counted with their summary), and the
contacts and offer presentations of those calls are added in a few bulk inserts.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import func, insert, select

from crm.db import Database
from crm.kinds import CampaignKind, Channel, Disposition, OfferOutcome, Purpose
from crm.models import Answer, Campaign, Contact, Customer, OfferPresentation, Question
from crm.reporting.facts import (
    AgentIntervalFact,
    Fact,
    HoldbackFact,
    HoldbackSource,
    IvrSessionFact,
    LegOutcome,
    QueueLegFact,
    count_contacts,
    record_facts,
    upsert_contact_counts,
)
from crm.reporting.tables import QueueLegRow

# Calls per hour on a weekday (local hour → calls); a weekend day has half.
HOURLY = {
    8: 8,
    9: 20,
    10: 28,
    11: 26,
    12: 13,
    13: 17,
    14: 25,
    15: 24,
    16: 20,
    17: 13,
    18: 7,
    19: 5,
    20: 4,
    21: 2,
}
# What the agents' wrap-ups say, resolved twice as often as anything else.
_DISPOSITIONS = (
    Disposition.RESOLVED,
    Disposition.RESOLVED,
    Disposition.INFO,
    Disposition.FOLLOW_UP,
    Disposition.COMPLAINT,
)


@dataclass(frozen=True, slots=True)
class DemoQueue:
    name: str
    skill: str
    share: float  # of the calls
    service_level_s: float
    talk_median_s: float
    max_wait_s: float | None = None


@dataclass(frozen=True, slots=True)
class DemoAgent:
    login: str
    skills: frozenset[str]
    shift: tuple[int, int]  # local hours: from, to


@dataclass(frozen=True, slots=True)
class HistoryReport:
    calls: int
    facts: int
    contacts: int


@dataclass(slots=True)
class _Agent:
    spec: DemoAgent
    pauses: list[tuple[datetime, datetime, str]]
    free_at: datetime
    busy: list[tuple[datetime, datetime, str, str, str]] = field(default_factory=list)  # state segments


async def seed_history(
    db: Database,
    *,
    queues: Sequence[DemoQueue],
    agents: Sequence[DemoAgent],
    tz: tzinfo,
    now: datetime,
    days: int = 14,
    seed: int = 4008,
) -> HistoryReport | None:
    """Seed ``days`` local days before today (and today up to the last full hour); None when the
    database already has queue legs (history is seeded once)."""
    async with db.read() as session:
        if await session.scalar(select(func.count()).select_from(QueueLegRow)):
            return None
        customers = list((await session.scalars(select(Customer.id).order_by(Customer.id).limit(800))).all())
        campaigns = (await session.execute(select(Campaign.id, Campaign.kind))).all()
        questions = (await session.execute(select(Question.id, Question.campaign_id, Question.kind))).all()
    rng = random.Random(seed)
    today = now.astimezone(tz).date()
    facts: list[Fact] = []
    calls: list[dict[str, Any]] = []
    for offset in range(days, -1, -1):
        day = today - timedelta(days=offset)
        until = now if offset == 0 else None
        _simulate_day(rng, day, tz, until, queues, agents, customers, facts, calls)
    marketing = [cid for cid, kind in campaigns if kind == CampaignKind.MARKETING.value]
    surveys = [cid for cid, kind in campaigns if kind == CampaignKind.QUESTIONNAIRE.value]
    facts.extend(_holdbacks(rng, calls, marketing, tz))
    await record_facts(db, facts, tz=tz)
    contacts = await _contacts_and_offers(db, rng, calls, marketing, surveys, questions, tz)
    return HistoryReport(len(calls), len(facts), contacts)


def _at(day: date, hour: float, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tz) + timedelta(hours=hour)


def _agents_of_day(rng: random.Random, day: date, tz: tzinfo, agents: Sequence[DemoAgent]) -> list[_Agent]:
    out = []
    for spec in agents:
        start, end = spec.shift
        pauses = [
            (_at(day, start + 2 + rng.random() * 0.5, tz), 15 * 60, "break"),
            (_at(day, start + 4 + rng.random() * 0.5, tz), 45 * 60, "lunch"),
            (_at(day, end - 1.5 - rng.random() * 0.5, tz), 15 * 60, "break"),
        ]
        if day.weekday() == 1 and rng.random() < 0.5:
            pauses.append((_at(day, start + 1, tz), 30 * 60, "training"))
        if day.weekday() == 4 and rng.random() < 0.4:
            pauses.append((_at(day, end - 3, tz), 20 * 60, "meeting"))
        windows = sorted((s, s + timedelta(seconds=d), r) for s, d, r in pauses)
        out.append(_Agent(spec, windows, _at(day, start, tz)))
    return out


def _free_from(agent: _Agent, at: datetime, shift_end: datetime) -> datetime | None:
    """When the agent can take a call ringing from ``at`` on; None: not before the shift ends."""
    t = max(at, agent.free_at)
    for start, end, _ in agent.pauses:
        if start <= t < end:
            t = end
    return t if t < shift_end else None


def _simulate_day(
    rng: random.Random,
    day: date,
    tz: tzinfo,
    until: datetime | None,
    queues: Sequence[DemoQueue],
    agents: Sequence[DemoAgent],
    customers: Sequence[int],
    facts: list[Fact],
    calls: list[dict[str, Any]],
) -> None:
    weekend = day.weekday() >= 5
    staff = _agents_of_day(rng, day, tz, agents)
    arrivals: list[datetime] = []
    for hour, volume in HOURLY.items():
        n = round(volume * (0.5 if weekend else 1.0) * rng.uniform(0.8, 1.2))
        arrivals.extend(_at(day, hour + rng.random(), tz) for _ in range(n))
    arrivals.sort()
    shares = [q.share for q in queues]
    waiting: list[datetime] = []  # when each caller ahead leaves the queue (for positions)
    for entered in arrivals:
        if until is not None and entered > until - timedelta(hours=1):
            break
        n = len(calls) + len(facts)
        call_id = f"demo-{day:%Y%m%d}-{n}"
        caller = f"138{rng.randrange(10_000_000, 99_999_999)}"
        customer = rng.choice(customers) if customers and rng.random() < 0.7 else None
        ivr_start = entered - timedelta(seconds=rng.uniform(15, 45))
        roll = rng.random()
        if roll < 0.08:  # served by the IVR: a ticket or order status lookup, then goodbye
            lookup = rng.choice(("ticket_status", "order_status"))
            facts.append(
                IvrSessionFact(
                    call_id,
                    ivr_start,
                    entered,
                    ("welcome", "main", lookup, "goodbye"),
                    "hung-up",
                    caller=caller,
                    dialed="4008123456",
                    customer_id=customer,
                    self_service=True,
                    language="zh",
                )
            )
            continue
        if roll < 0.11:  # hung up in the menu
            facts.append(
                IvrSessionFact(
                    call_id,
                    ivr_start,
                    entered,
                    ("welcome", "main"),
                    "caller-hung-up",
                    caller=caller,
                    dialed="4008123456",
                    customer_id=customer,
                    language="zh",
                )
            )
            continue
        queue = rng.choices(queues, shares)[0]
        facts.append(
            IvrSessionFact(
                call_id,
                ivr_start,
                entered,
                ("welcome", "main", queue.name),
                "queued",
                caller=caller,
                dialed="4008123456",
                customer_id=customer,
                queue=queue.name,
                language="zh",
            )
        )
        waiting = [t for t in waiting if t > entered]
        position = len(waiting) + 1
        shift_ends = {a.spec.login: _at(day, a.spec.shift[1], tz) for a in staff}
        best: tuple[datetime, _Agent] | None = None
        for agent in staff:
            if queue.skill not in agent.spec.skills:
                continue
            free = _free_from(agent, entered, shift_ends[agent.spec.login])
            if free is not None and (best is None or free < best[0]):
                best = (free, agent)
        ring = rng.uniform(2, 6)
        patience = rng.expovariate(1 / (150 if queue.name == "vip" else 100))
        answer_at = best[0] + timedelta(seconds=ring) if best is not None else None
        wait = (answer_at - entered).total_seconds() if answer_at is not None else float("inf")
        if queue.max_wait_s is not None and wait > queue.max_wait_s and patience > queue.max_wait_s:
            left = entered + timedelta(seconds=queue.max_wait_s)
            facts.append(_leg(call_id, queue, entered, left, LegOutcome.CALLBACK, caller, customer, position))
            waiting.append(left)
            continue
        if wait > patience:
            left = entered + timedelta(seconds=patience)
            facts.append(
                _leg(
                    call_id,
                    queue,
                    entered,
                    left,
                    LegOutcome.ABANDONED,
                    caller,
                    customer,
                    max(1, position - 1),
                )
            )
            waiting.append(left)
            continue
        assert best is not None and answer_at is not None
        agent = best[1]
        talk = rng.lognormvariate(0, 0.5) * queue.talk_median_s
        hold = rng.uniform(10, 60) if rng.random() < 0.25 else 0.0
        wrap = rng.uniform(5, 40)
        hung_up = answer_at + timedelta(seconds=talk + hold)
        wrapped = hung_up + timedelta(seconds=wrap)
        agent.free_at = wrapped
        agent.busy += [
            (answer_at - timedelta(seconds=ring), answer_at, "ringing", queue.name, call_id),
            (answer_at, hung_up, "on-call", queue.name, call_id),
            (hung_up, wrapped, "wrap-up", queue.name, call_id),
        ]
        waiting.append(answer_at)
        facts.append(
            QueueLegFact(
                call_id=call_id,
                queue=queue.name,
                entered_at=entered,
                ended_at=hung_up,
                outcome=LegOutcome.ANSWERED,
                caller=caller,
                customer_id=customer,
                agent=agent.spec.login,
                skill=queue.skill,
                wait_s=round(wait),
                ring_s=round(ring),
                talk_s=round(talk),
                hold_s=round(hold),
                wrap_s=round(wrap),
                position=position,
                original_position=position,
                within_sl=round(wait) <= queue.service_level_s,
            )
        )
        calls.append(
            {
                "call_id": call_id,
                "at": hung_up,
                "agent": agent.spec.login,
                "queue": queue.name,
                "customer": customer,
            }
        )
    for agent in staff:
        facts.extend(
            _timeline(agent, _at(day, agent.spec.shift[0], tz), _at(day, agent.spec.shift[1], tz), until)
        )


def _leg(
    call_id: str,
    queue: DemoQueue,
    entered: datetime,
    left: datetime,
    outcome: LegOutcome,
    caller: str,
    customer: int | None,
    position: int,
) -> QueueLegFact:
    return QueueLegFact(
        call_id=call_id,
        queue=queue.name,
        entered_at=entered,
        ended_at=left,
        outcome=outcome,
        caller=caller,
        customer_id=customer,
        skill=queue.skill,
        wait_s=round((left - entered).total_seconds()),
        position=position,
        original_position=position + (1 if position > 1 else 0),
    )


def _timeline(
    agent: _Agent, start: datetime, end: datetime, until: datetime | None
) -> list[AgentIntervalFact]:
    """The agent's day as consecutive states: available between calls and pauses."""
    segments = [*agent.busy, *((s, e, "paused", r, "") for s, e, r in agent.pauses)]
    heapq.heapify(segments)
    out: list[AgentIntervalFact] = []
    cursor = start
    login = agent.spec.login
    limit = min(end, until) if until is not None else end
    while segments:
        s, e, state, detail, call_id = heapq.heappop(segments)
        s = max(s, cursor)
        e = max(e, s)
        if s >= limit:
            break
        if s > cursor:
            out.append(AgentIntervalFact(login, "available", cursor, s))
        if state == "paused":
            out.append(AgentIntervalFact(login, "paused", s, e, reason=detail))
        else:
            out.append(AgentIntervalFact(login, state, s, e, queue=detail, call_id=call_id))
        cursor = e
    if cursor < limit:
        out.append(AgentIntervalFact(login, "available", cursor, limit))
    return out


def _holdbacks(
    rng: random.Random, calls: Sequence[Mapping[str, Any]], marketing: Sequence[int], tz: tzinfo
) -> list[Fact]:
    """The gate holds offers back at busy hours; contact rules hold some for known customers."""
    out: list[Fact] = []
    for call in calls:
        if call["customer"] is None:
            continue
        busy = call["at"].astimezone(tz).hour in (10, 11, 14, 15)
        roll = rng.random()
        if roll < (0.12 if busy else 0.04):
            cause = rng.choice(("threshold-reached", "threshold-reached", "gate-closed"))
            out.append(
                HoldbackFact(
                    call["at"],
                    HoldbackSource.GATE,
                    cause,
                    call_id=call["call_id"],
                    agent=call["agent"],
                    customer_id=call["customer"],
                )
            )
        elif roll < 0.2 and marketing:
            cause = rng.choice(("frequency_cap", "frequency_cap", "quiet_hours", "no_marketing_consent"))
            out.append(
                HoldbackFact(
                    call["at"],
                    HoldbackSource.RULE,
                    cause,
                    call_id=call["call_id"],
                    agent=call["agent"],
                    customer_id=call["customer"],
                    campaign_id=rng.choice(marketing),
                )
            )
    return out


async def _contacts_and_offers(
    db: Database,
    rng: random.Random,
    calls: Sequence[Mapping[str, Any]],
    marketing: Sequence[int],
    surveys: Sequence[int],
    questions: Sequence[Any],
    tz: tzinfo,
) -> int:
    """One contact per answered call of a known customer; an offer or a questionnaire on some."""
    rows = []
    offers: list[tuple[int, int, dict[str, Any]]] = []  # (index of the contact, campaign, presentation)
    for call in calls:
        if call["customer"] is None:
            continue
        campaign = None
        roll = rng.random()
        if roll < 0.15 and marketing:
            campaign = rng.choice(marketing)
        elif roll < 0.25 and surveys:
            campaign = rng.choice(surveys)
        if campaign is not None:
            outcome = rng.choices(
                (OfferOutcome.ACCEPTED, OfferOutcome.DECLINED, OfferOutcome.LATER, OfferOutcome.NOT_SUITABLE),
                (3, 4, 2, 1),
            )[0]
            if campaign in surveys:
                outcome = OfferOutcome.ACCEPTED if rng.random() < 0.7 else OfferOutcome.DECLINED
            offers.append((len(rows), campaign, {"outcome": outcome.value}))
        rows.append(
            {
                "customer_id": call["customer"],
                "channel": Channel.CALL_IN.value,
                "purpose": Purpose.SERVICE.value,
                "at": call["at"],
                "agent": call["agent"],
                "call_id": call["call_id"],
                "queue": call["queue"],
                "campaign_id": None,
                "disposition": rng.choice(_DISPOSITIONS).value,
                "note": "",
            }
        )
    by_campaign: dict[int, list[Any]] = {}
    for question in questions:
        by_campaign.setdefault(question.campaign_id, []).append(question)
    async with db.write() as session:
        connection = await session.connection()
        for start in range(0, len(rows), 5000):
            await connection.execute(insert(Contact), rows[start : start + 5000])
        await upsert_contact_counts(session, count_contacts(rows, tz), is_sqlite=db.is_sqlite)
        if not offers:
            return len(rows)
        ids = {
            (row.call_id): row.id
            for row in await session.execute(
                select(Contact.id, Contact.call_id).where(Contact.call_id.like("demo-%"))
            )
        }
        for index, campaign, presentation in offers:
            row = rows[index]
            presentation.update(
                campaign_id=campaign,
                customer_id=row["customer_id"],
                contact_id=ids.get(row["call_id"]),
                agent=row["agent"],
                channel=Channel.CALL_IN.value,
                presented_at=row["at"] - timedelta(seconds=60),
                outcome_at=row["at"],
            )
        await connection.execute(insert(OfferPresentation), [p for _, _, p in offers])
        answers = []
        survey_rows = await session.execute(
            select(
                OfferPresentation.id,
                OfferPresentation.campaign_id,
                OfferPresentation.customer_id,
                OfferPresentation.outcome_at,
            )
            .where(OfferPresentation.campaign_id.in_(list(surveys) or [0]))
            .where(OfferPresentation.outcome == OfferOutcome.ACCEPTED.value)
        )
        for pid, campaign, customer, at in survey_rows:
            for question in by_campaign.get(campaign, ()):
                answers.append(_answer(rng, pid, question, customer, at))
        if answers:
            await connection.execute(insert(Answer), answers)
    return len(rows)


def _answer(
    rng: random.Random, presentation_id: int, question: Any, customer: int, at: datetime
) -> dict[str, Any]:
    value: dict[str, Any] = {"value_text": None, "value_number": None, "value_choices": None}
    if question.kind == "scale":
        value["value_number"] = rng.choices((1, 2, 3, 4, 5), (1, 1, 3, 6, 8))[0]
    elif question.kind == "multiple":
        value["value_choices"] = rng.sample(["宽带", "电视", "手机"], rng.randrange(1, 3))
    elif question.kind == "single":
        value["value_choices"] = None
        value["value_text"] = "是"
    else:
        value["value_text"] = rng.choice(("", "服务很好", "希望等待时间短一些", "网速还可以"))
    return {
        "presentation_id": presentation_id,
        "question_id": question.id,
        "customer_id": customer,
        "answered_at": at,
        **value,
    }
