"""Known data for the custom report tests: a seeded random month of calls, contacts, offers,
tickets, agent states and answers, written as rows, with the summaries rebuilt by the product."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from crm.db import Database
from crm.models import Answer, Campaign, Contact, Customer, OfferPresentation, Question, Ticket
from crm.reporting.facts import local_day_slot, rebuild_summaries
from crm.reporting.tables import AgentIntervalRow, QueueLegRow

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # 2026-11-01 00:00 in Shanghai
QUEUES = ("sales", "support", "vip")
AGENTS = ("1001", "1002", "1003", "1004")
SEGMENTS = ("regular", "silver", "gold")
OUTCOMES = ("answered", "answered", "answered", "abandoned", "overflowed", "timeout")
CHANNELS = ("call_in", "call_out", "sms", "web")
DISPOSITIONS = ("", "resolved", "callback", "sale")


@dataclass(frozen=True, slots=True)
class Seeded:
    customers: int
    legs: int
    contacts: int


def local(text: str) -> datetime:
    """An instant given in Shanghai local time: '2026-11-08T08:00'."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def quarter(rng: random.Random, most: int) -> float:
    """Seconds in quarter steps: exact in binary, so sums in any order are equal."""
    return rng.randrange(0, most * 4) / 4


async def seed(db: Database, *, days: int = 30, per_day: int = 40, seed_value: int = 7) -> Seeded:
    rng = random.Random(seed_value)
    now = START
    customers = [
        {
            "id": i,
            "name": f"客户{i}",
            "segment": rng.choice(SEGMENTS),
            "vip_level": rng.randrange(3),
            "created_at": now,
            "updated_at": now,
        }
        for i in range(1, 31)
    ]
    campaigns = [
        {
            "id": i,
            "name": f"活动{i}",
            "kind": "marketing",
            "status": "online",
            "created_at": now,
            "updated_at": now,
        }
        for i in (1, 2)
    ]
    questions = [
        {
            "id": 1,
            "campaign_id": 2,
            "position": 1,
            "text": "满意吗",
            "kind": "single",
            "choices": ["是", "否"],
        },
        {"id": 2, "campaign_id": 2, "position": 2, "text": "打分", "kind": "scale", "choices": []},
    ]
    legs: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    offers: list[dict[str, Any]] = []
    tickets: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    intervals: list[dict[str, Any]] = []
    for n in range(days * per_day):
        at = START + timedelta(seconds=rng.randrange(days * 86400))
        day, slot = local_day_slot(at, SHANGHAI)
        outcome = rng.choice(OUTCOMES)
        answered = outcome == "answered"
        customer = rng.choice([None, *range(1, 31)])
        agent = rng.choice(AGENTS) if answered else ""
        queue = rng.choice(QUEUES)
        legs.append(
            {
                "call_id": f"c{n}",
                "queue": queue,
                "day": day,
                "slot": slot,
                "entered_at": at,
                "ended_at": at + timedelta(minutes=5),
                "customer_id": customer,
                "outcome": outcome,
                "agent": agent,
                "skill": "",
                "priority": rng.randrange(2),
                "wait_s": quarter(rng, 120),
                "talk_s": quarter(rng, 600) if answered else 0.0,
                "hold_s": quarter(rng, 30) if answered else 0.0,
                "wrap_s": quarter(rng, 60) if answered else 0.0,
                "position": rng.randrange(1, 6),
                "original_position": rng.randrange(1, 6),
                "within_sl": answered and rng.random() < 0.7,
                "transferred": rng.random() < 0.1,
            }
        )
        contacts.append(
            {
                "customer_id": customer,
                "channel": rng.choice(CHANNELS),
                "purpose": rng.choice(("service", "marketing")),
                "at": at,
                "agent": agent or None,
                "call_id": f"c{n}",
                "queue": queue,
                "campaign_id": rng.choice((None, 1, 2)),
                "disposition": rng.choice(DISPOSITIONS),
            }
        )
        intervals.append(
            {
                "agent": rng.choice(AGENTS),
                "state": rng.choice(("available", "on_call", "paused", "wrap_up")),
                "reason": rng.choice(("", "lunch", "training")),
                "day": day,
                "started_at": at,
                "ended_at": at + timedelta(minutes=3),
                "seconds": quarter(rng, 900),
                "queue": queue,
                "call_id": "",
            }
        )
        if customer is not None and n % 3 == 0:
            offers.append(
                {
                    "id": len(offers) + 1,
                    "campaign_id": rng.choice((1, 2)),
                    "customer_id": customer,
                    "agent": agent or None,
                    "channel": "call_in",
                    "presented_at": at,
                    "outcome": rng.choice((None, "accepted", "declined", "later")),
                }
            )
            if offers[-1]["campaign_id"] == 2:
                answers.append(
                    {
                        "presentation_id": offers[-1]["id"],
                        "question_id": 1,
                        "customer_id": customer,
                        "value_text": rng.choice(("是", "否")),
                        "answered_at": at,
                    }
                )
                answers.append(
                    {
                        "presentation_id": offers[-1]["id"],
                        "question_id": 2,
                        "customer_id": customer,
                        "value_number": rng.randrange(1, 6),
                        "answered_at": at,
                    }
                )
        if customer is not None and n % 5 == 0:
            closed = at + timedelta(days=rng.randrange(5)) if rng.random() < 0.6 else None
            tickets.append(
                {
                    "kind": rng.choice(("complaint", "consultation")),
                    "status": "closed" if closed else "open",
                    "customer_id": customer,
                    "subject": "s",
                    "assignee": rng.choice((None, *AGENTS)),
                    "opened_by": rng.choice(AGENTS),
                    "opened_at": at,
                    "due_at": at + timedelta(days=3),
                    "closed_at": closed,
                    "satisfaction": rng.randrange(1, 6) if closed else None,
                }
            )
    async with db.write() as session:
        for table, rows in (
            (Customer, customers),
            (Campaign, campaigns),
            (Question, questions),
            (QueueLegRow, legs),
            (Contact, contacts),
            (OfferPresentation, offers),
            (Answer, answers),
            (Ticket, tickets),
            (AgentIntervalRow, intervals),
        ):
            if rows:
                await session.execute(insert(table), rows)
    await rebuild_summaries(db, tz=SHANGHAI)
    return Seeded(len(customers), len(legs), len(contacts))
