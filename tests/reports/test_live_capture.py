"""The whole demo system writes report facts as calls flow: legs, IVR sessions, agent states."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crm.db import Database
from crm.reporting.tables import AgentIntervalRow, IvrSessionRow, QueueLegRow, QueueSlotStatsRow
from cti.events import CallEnded
from hotline import demo_mode
from hotline.app import Hotline
from tests.hotline.test_app import tmp_settings


async def counts(db: Database) -> dict[str, int]:
    found = {}
    async with db.read() as session:
        for table in (QueueLegRow, IvrSessionRow, AgentIntervalRow, QueueSlotStatsRow):
            found[table.__tablename__] = await session.scalar(select(func.count()).select_from(table))
    return found


async def test_demo_calls_become_report_facts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_mode, "DEMO_CUSTOMERS", 30)
    monkeypatch.setattr(demo_mode, "DEMO_RATE", 3.0)
    monkeypatch.setattr(demo_mode, "DEMO_STAY_S", (2.0, 4.0))
    monkeypatch.setattr(demo_mode, "DEMO_HISTORY_DAYS", 0)
    hotline = Hotline(tmp_settings(tmp_path), demo=True)
    ended = hotline.bus.subscribe("test-ended", CallEnded)
    try:
        await hotline.start()
        async with asyncio.timeout(20):
            for _ in range(3):
                await ended.get()
        before = await counts(hotline.db)
    finally:
        await hotline.stop()
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
    try:
        after = await counts(db)
        async with db.read() as session:
            legs = (await session.execute(select(QueueLegRow.outcome, QueueLegRow.agent))).all()
    finally:
        await db.dispose()
    assert before["ivr_sessions"] >= 1  # written while the system runs, not only at stop
    assert after["queue_legs"] >= 3 and after["queue_slot_stats"] >= 1
    assert after["ivr_sessions"] >= 3 and after["agent_intervals"] >= 1
    answered = [agent for outcome, agent in legs if outcome == "answered"]
    assert answered and all(agent.startswith("robot") for agent in answered), legs  # logins, not phones
