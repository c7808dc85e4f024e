"""The write side of reports: call facts in, fact rows and summary rows out, in one transaction.

Whoever sees something end (the call log for queue visits and agent states, the IVR for a
caller's path, the screen-pop for the offers a rule held back) hands a fact to
:func:`record_facts`. The fact's start time decides its local ``day`` and 15-minute ``slot`` in
the center's time zone; ``queue_slot_stats`` is updated in the same transaction by adding to
its counts and sums, so a report never waits for a batch job and never sees a leg without its
summary. :func:`rebuild_summaries` recomputes both summaries from the facts and the contacts,
for a repair or after a backfill.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db import Database
from crm.models import Contact
from crm.reporting.tables import (
    NO_CAMPAIGN,
    AgentIntervalRow,
    ContactDayCountRow,
    IvrSessionRow,
    OfferHoldbackRow,
    QueueLegRow,
    QueueSlotStatsRow,
)

SLOT_MINUTES = 15
REBUILD_CHUNK = 50_000


class LegOutcome(enum.StrEnum):
    """How a call's visit to one queue ended (docs/reports-facts.md)."""

    ANSWERED = "answered"  # an agent of this queue answered
    ABANDONED = "abandoned"  # the caller hung up before an agent answered
    OVERFLOWED = "overflowed"  # the ACD moved the call to another queue (a new leg opens there)
    TRANSFERRED = "transferred"  # taken out of the queue unanswered, to another queue or number
    CALLBACK = "callback"  # the caller left the line for a callback (max wait reached)
    TIMEOUT = "timeout"  # the caller waited the maximum and went to a message prompt
    ENDED = "ended"  # anything else: the switch lost the call, or it never ended in sight


class HoldbackSource(enum.StrEnum):
    GATE = "gate"  # the marketing gate (control threshold, load) held every offer of the call
    RULE = "rule"  # a contact rule (frequency cap, quiet hours, …) held one campaign's offer


@dataclass(frozen=True, slots=True)
class QueueLegFact:
    call_id: str
    queue: str
    entered_at: datetime
    ended_at: datetime
    outcome: LegOutcome
    caller: str = ""
    customer_id: int | None = None
    agent: str = ""
    skill: str = ""
    priority: int = 0
    wait_s: float = 0.0
    ring_s: float = 0.0
    talk_s: float = 0.0
    hold_s: float = 0.0
    wrap_s: float = 0.0
    position: int = 0
    original_position: int = 0
    within_sl: bool = False
    transferred: bool = False


@dataclass(frozen=True, slots=True)
class IvrSessionFact:
    call_id: str
    started_at: datetime
    ended_at: datetime
    nodes: tuple[str, ...]
    outcome: str  # ivr.events.IvrOutcome's value
    caller: str = ""
    dialed: str = ""
    customer_id: int | None = None
    self_service: bool = False
    queue: str = ""
    language: str = ""

    @property
    def path(self) -> str:
        return " > ".join(self.nodes)

    @property
    def exit_node(self) -> str:
        return self.nodes[-1] if self.nodes else ""


@dataclass(frozen=True, slots=True)
class AgentIntervalFact:
    agent: str
    state: str  # acd's AgentState value
    started_at: datetime
    ended_at: datetime
    reason: str = ""
    queue: str = ""
    call_id: str = ""


@dataclass(frozen=True, slots=True)
class HoldbackFact:
    at: datetime
    source: HoldbackSource
    cause: str
    call_id: str = ""
    agent: str = ""
    customer_id: int | None = None
    campaign_id: int | None = None  # None: every offer of the call was held (the gate)
    detail: str = ""


Fact = QueueLegFact | IvrSessionFact | AgentIntervalFact | HoldbackFact


def local_day_slot(at: datetime, tz: tzinfo) -> tuple[str, int]:
    """The center's local day ('YYYY-MM-DD') and 15-minute slot (minutes since midnight)."""
    local = at.astimezone(tz)
    return local.strftime("%Y-%m-%d"), local.hour * 60 + local.minute // SLOT_MINUTES * SLOT_MINUTES


def local_day(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d")


# --- writing facts -------------------------------------------------------------------------


async def record_facts(db: Database, facts: Iterable[Fact], *, tz: tzinfo) -> None:
    """Store the facts and update the summaries they count, all in one transaction."""
    legs: list[dict[str, Any]] = []
    sessions: list[dict[str, Any]] = []
    intervals: list[dict[str, Any]] = []
    holdbacks: list[dict[str, Any]] = []
    for fact in facts:
        if isinstance(fact, QueueLegFact):
            legs.append(leg_row(fact, tz))
        elif isinstance(fact, AgentIntervalFact):
            intervals.extend(interval_rows(fact, tz))
        elif isinstance(fact, IvrSessionFact):
            sessions.append(session_row(fact, tz))
        elif isinstance(fact, HoldbackFact):
            holdbacks.append(holdback_row(fact, tz))
        else:
            raise TypeError(f"not a report fact: {type(fact).__name__}")
    if not (legs or sessions or intervals or holdbacks):
        return
    async with db.write() as session:
        for table, rows in (
            (QueueLegRow, legs),
            (IvrSessionRow, sessions),
            (AgentIntervalRow, intervals),
            (OfferHoldbackRow, holdbacks),
        ):
            if rows:
                await session.execute(insert(table), rows)
        if legs:
            await upsert_slot_stats(session, slot_stats(legs), is_sqlite=db.is_sqlite)


def leg_row(fact: QueueLegFact, tz: tzinfo) -> dict[str, Any]:
    day, slot = local_day_slot(fact.entered_at, tz)
    return {
        "call_id": fact.call_id,
        "queue": fact.queue,
        "day": day,
        "slot": slot,
        "entered_at": fact.entered_at,
        "ended_at": fact.ended_at,
        "caller": fact.caller,
        "customer_id": fact.customer_id,
        "outcome": LegOutcome(fact.outcome).value,
        "agent": fact.agent,
        "skill": fact.skill,
        "priority": fact.priority,
        "wait_s": fact.wait_s,
        "ring_s": fact.ring_s,
        "talk_s": fact.talk_s,
        "hold_s": fact.hold_s,
        "wrap_s": fact.wrap_s,
        "position": fact.position,
        "original_position": fact.original_position,
        "within_sl": fact.within_sl,
        "transferred": fact.transferred,
    }


def session_row(fact: IvrSessionFact, tz: tzinfo) -> dict[str, Any]:
    day, slot = local_day_slot(fact.started_at, tz)
    return {
        "call_id": fact.call_id,
        "day": day,
        "slot": slot,
        "started_at": fact.started_at,
        "ended_at": fact.ended_at,
        "caller": fact.caller,
        "dialed": fact.dialed,
        "customer_id": fact.customer_id,
        "nodes": list(fact.nodes),
        "path": fact.path[:500],
        "exit_node": fact.exit_node,
        "outcome": fact.outcome,
        "self_service": fact.self_service,
        "queue": fact.queue,
        "language": fact.language,
    }


def interval_rows(fact: AgentIntervalFact, tz: tzinfo) -> list[dict[str, Any]]:
    """One row per local day the interval touches: a pause across midnight counts on both days."""
    rows = []
    start = fact.started_at
    end = max(fact.ended_at, start)
    while True:
        local = start.astimezone(tz)
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        piece_end = min(end, midnight.astimezone(end.tzinfo))
        rows.append(
            {
                "agent": fact.agent,
                "state": str(fact.state),
                "reason": fact.reason,
                "day": local.strftime("%Y-%m-%d"),
                "started_at": start,
                "ended_at": piece_end,
                "seconds": (piece_end - start).total_seconds(),
                "queue": fact.queue,
                "call_id": fact.call_id,
            }
        )
        if piece_end >= end:
            return rows
        start = piece_end


def holdback_row(fact: HoldbackFact, tz: tzinfo) -> dict[str, Any]:
    return {
        "at": fact.at,
        "day": local_day(fact.at, tz),
        "call_id": fact.call_id,
        "agent": fact.agent,
        "customer_id": fact.customer_id,
        "campaign_id": fact.campaign_id,
        "source": HoldbackSource(fact.source).value,
        "cause": fact.cause[:40],
        "detail": fact.detail,
    }


# --- queue_slot_stats ----------------------------------------------------------------------

_SUMMED = (
    "offered",
    "answered",
    "abandoned",
    "other",
    "answered_within_sl",
    "wait_answered_s",
    "wait_abandoned_s",
    "talk_s",
    "hold_s",
    "wrap_s",
    "transferred",
)


def slot_stats(legs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The summary increments of some leg rows, one per (day, slot, queue)."""
    stats: dict[tuple[str, int, str], dict[str, Any]] = {}
    for leg in legs:
        key = (leg["day"], leg["slot"], leg["queue"])
        row = stats.get(key)
        if row is None:
            row = stats[key] = {"day": key[0], "slot": key[1], "queue": key[2], "max_wait_s": 0.0}
            row.update(dict.fromkeys(_SUMMED, 0))
        outcome = leg["outcome"]
        row["offered"] += 1
        if outcome == LegOutcome.ANSWERED:
            row["answered"] += 1
            row["wait_answered_s"] += leg["wait_s"]
            row["answered_within_sl"] += 1 if leg["within_sl"] else 0
        elif outcome == LegOutcome.ABANDONED:
            row["abandoned"] += 1
            row["wait_abandoned_s"] += leg["wait_s"]
        else:
            row["other"] += 1
        row["talk_s"] += leg["talk_s"]
        row["hold_s"] += leg["hold_s"]
        row["wrap_s"] += leg["wrap_s"]
        row["transferred"] += 1 if leg["transferred"] else 0
        row["max_wait_s"] = max(row["max_wait_s"], leg["wait_s"])
    return list(stats.values())


async def upsert_slot_stats(session: AsyncSession, rows: list[dict[str, Any]], *, is_sqlite: bool) -> None:
    if not rows:
        return
    table = QueueSlotStatsRow.__table__
    statement = (sqlite.insert if is_sqlite else postgresql.insert)(table)
    excluded = statement.excluded
    updates: dict[str, Any] = {name: table.c[name] + excluded[name] for name in _SUMMED}
    updates["max_wait_s"] = case(
        (excluded.max_wait_s > table.c.max_wait_s, excluded.max_wait_s), else_=table.c.max_wait_s
    )
    statement = statement.on_conflict_do_update(index_elements=["day", "slot", "queue"], set_=updates)
    await session.execute(statement, rows)


# --- contact_day_counts --------------------------------------------------------------------

ContactKey = tuple[str, str, str, str, str, int, str]


def contact_key(contact: Mapping[str, Any], tz: tzinfo) -> ContactKey:
    """The summary row a contact counts in: (day, queue, channel, purpose, agent, campaign,
    disposition); no agent is '' and no campaign is NO_CAMPAIGN, so every key column has a value."""
    campaign = contact.get("campaign_id")
    return (
        local_day(contact["at"], tz),
        contact.get("queue") or "",
        contact["channel"],
        contact.get("purpose") or "service",
        contact.get("agent") or "",
        NO_CAMPAIGN if campaign is None else campaign,
        contact.get("disposition") or "",
    )


def count_contacts(contacts: Iterable[Mapping[str, Any]], tz: tzinfo) -> dict[ContactKey, int]:
    counts: dict[ContactKey, int] = {}
    # The local day of every quarter hour met, worked out once: a large import's rows share a
    # few thousand of them, and every time zone's offset is a multiple of 15 minutes.
    days: dict[int, str] = {}
    for contact in contacts:
        at = contact["at"]
        quarter = int(at.timestamp()) // 900
        day = days.get(quarter)
        if day is None:
            day = days[quarter] = local_day(at, tz)
        campaign = contact.get("campaign_id")
        key = (
            day,
            contact.get("queue") or "",
            contact["channel"],
            contact.get("purpose") or "service",
            contact.get("agent") or "",
            NO_CAMPAIGN if campaign is None else campaign,
            contact.get("disposition") or "",
        )
        counts[key] = counts.get(key, 0) + 1
    return counts


_CONTACT_KEY_COLUMNS = ("day", "queue", "channel", "purpose", "agent", "campaign_id", "disposition")


async def upsert_contact_counts(
    session: AsyncSession, counts: Mapping[ContactKey, int], *, is_sqlite: bool
) -> None:
    """Add contacts to ``contact_day_counts`` (inside the caller's transaction)."""
    if not counts:
        return
    table = ContactDayCountRow.__table__
    statement = (sqlite.insert if is_sqlite else postgresql.insert)(table)
    statement = statement.on_conflict_do_update(
        index_elements=list(_CONTACT_KEY_COLUMNS),
        set_={"contacts": table.c.contacts + statement.excluded.contacts},
    )
    rows = [{**dict(zip(_CONTACT_KEY_COLUMNS, key, strict=True)), "contacts": n} for key, n in counts.items()]
    await session.execute(statement, rows)


# --- repair --------------------------------------------------------------------------------


async def rebuild_summaries(db: Database, *, tz: tzinfo) -> None:
    """Recompute ``queue_slot_stats`` from ``queue_legs`` and ``contact_day_counts`` from
    ``contacts`` (each contact's local day in ``tz``), replacing what was there, in one transaction."""
    legs = QueueLegRow.__table__.c
    answered = legs.outcome == LegOutcome.ANSWERED.value
    abandoned = legs.outcome == LegOutcome.ABANDONED.value
    zero = 0.0

    def count_if(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    def sum_if(condition: Any, column: Any) -> Any:
        return func.coalesce(func.sum(case((condition, column), else_=zero)), zero)

    stats = select(
        legs.day,
        legs.slot,
        legs.queue,
        func.count(),
        count_if(answered),
        count_if(abandoned),
        count_if(~answered & ~abandoned),
        count_if(answered & legs.within_sl),
        sum_if(answered, legs.wait_s),
        sum_if(abandoned, legs.wait_s),
        func.coalesce(func.sum(legs.talk_s), zero),
        func.coalesce(func.sum(legs.hold_s), zero),
        func.coalesce(func.sum(legs.wrap_s), zero),
        func.coalesce(func.max(legs.wait_s), zero),
        count_if(legs.transferred),
    ).group_by(legs.day, legs.slot, legs.queue)
    target = QueueSlotStatsRow.__table__
    columns = ["day", "slot", "queue", *_SUMMED[:-1], "max_wait_s", "transferred"]
    async with db.write() as session:
        await session.execute(delete(target))
        await session.execute(insert(target).from_select(columns, stats))
        await session.execute(delete(ContactDayCountRow.__table__))
        c = Contact.__table__.c
        query = select(c.at, c.queue, c.channel, c.purpose, c.agent, c.campaign_id, c.disposition)
        counts: dict[ContactKey, int] = {}
        result = await session.stream(query.execution_options(yield_per=REBUILD_CHUNK))
        async for chunk in result.mappings().partitions(REBUILD_CHUNK):
            for key, n in count_contacts(chunk, tz).items():
                counts[key] = counts.get(key, 0) + n
        keys = list(counts)
        for start in range(0, len(keys), REBUILD_CHUNK):
            part = {key: counts[key] for key in keys[start : start + REBUILD_CHUNK]}
            await upsert_contact_counts(session, part, is_sqlite=db.is_sqlite)
