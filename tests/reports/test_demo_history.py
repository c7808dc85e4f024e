"""Demo history: two weeks of report data written through the live write API, once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from crm.db import Database
from crm.demo import load_demo_data
from crm.reporting.demo_history import DemoAgent, DemoQueue, seed_history
from crm.reporting.facts import rebuild_summaries
from crm.reporting.standard import STANDARD_REPORTS, Grain, ReportParams
from crm.reporting.tables import AgentIntervalRow, ContactDayCountRow, QueueLegRow, QueueSlotStatsRow

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 18, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai
QUEUES = [
    DemoQueue("support", "support", 0.6, 20, 150, max_wait_s=600),
    DemoQueue("sales", "sales", 0.4, 30, 200, max_wait_s=300),
]
AGENTS = [
    DemoAgent("alice", frozenset({"support", "sales"}), (8, 17)),
    DemoAgent("bob", frozenset({"support"}), (9, 18)),
    DemoAgent("carol", frozenset({"sales"}), (12, 21)),
]


async def snapshot(db: Database) -> tuple:
    async with db.read() as session:
        stats = (
            await session.execute(
                select(
                    func.sum(QueueSlotStatsRow.offered),
                    func.sum(QueueSlotStatsRow.answered),
                    func.sum(QueueSlotStatsRow.talk_s),
                )
            )
        ).one()
        contacts = await session.scalar(select(func.sum(ContactDayCountRow.contacts)))
    return (*stats, contacts)


async def test_history_fills_every_standard_report_and_is_seeded_once(db: Database) -> None:
    await load_demo_data(db, 120, now=NOW)
    history = await seed_history(db, queues=QUEUES, agents=AGENTS, tz=SHANGHAI, now=NOW, days=14)
    assert history is not None and history.calls > 1000
    assert await seed_history(db, queues=QUEUES, agents=AGENTS, tz=SHANGHAI, now=NOW, days=14) is None

    async with db.read() as session:
        legs = await session.scalar(select(func.count()).select_from(QueueLegRow))
        latest = await session.scalar(select(func.max(QueueLegRow.entered_at)))
        pauses = (
            await session.scalars(
                select(AgentIntervalRow.reason).where(AgentIntervalRow.state == "paused").distinct()
            )
        ).all()
        day_hours = (
            await session.execute(
                select(AgentIntervalRow.agent, AgentIntervalRow.day, func.sum(AgentIntervalRow.seconds))
                .group_by(AgentIntervalRow.agent, AgentIntervalRow.day)
                .where(AgentIntervalRow.day < "2026-11-18")
            )
        ).all()
    assert legs > 1000 and latest < NOW - timedelta(hours=1)  # today only up to the last full hour
    assert {"break", "lunch"} <= set(pauses)
    shifts = {"alice": 9 * 3600, "bob": 9 * 3600, "carol": 9 * 3600}
    # The whole shift is accounted for; a call taken just before its end runs over a little.
    off = [(a, d, s) for a, d, s in day_hours if not shifts[a] - 1 < s < shifts[a] + 1800]
    assert off == []

    # The summaries were kept with the facts: rebuilding them from the rows changes nothing.
    before = await snapshot(db)
    await rebuild_summaries(db, tz=SHANGHAI)
    assert await snapshot(db) == before

    params = ReportParams(date(2026, 11, 4), date(2026, 11, 18), grain=Grain.DAY)
    for name, report in STANDARD_REPORTS.items():
        result = await report.run(db, params, tz=SHANGHAI)
        assert result.rows, f"{name} has no rows"


async def test_demo_tickets_make_a_whole_service_loop(db: Database) -> None:
    await load_demo_data(db, 2000, now=NOW)
    params = ReportParams(date(2026, 11, 4), date(2026, 11, 18), grain=Grain.DAY)
    result = await STANDARD_REPORTS["service_loop"].run(db, params, tz=SHANGHAI)
    totals = dict(zip((c.name for c in result.columns), result.totals or (), strict=True))
    assert totals["opened"] == 40
    assert 0 < totals["closed_in_3_working_days"] < totals["closed"] < totals["opened"]
    assert 1 <= totals["satisfaction"] <= 5
