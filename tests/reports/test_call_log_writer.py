"""The call log's shell: bus events end up as rows; a failing write is retried, never blocks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

import acd.call_log_writer as writer_module
from acd.call_log_writer import CallLogWriter
from crm.db import Database
from crm.reporting.facts import IvrSessionFact
from crm.reporting.tables import IvrSessionRow, QueueLegRow, QueueSlotStatsRow
from cti.bus import EventBus
from cti.events import CallAbandoned, CallAnswered, CallEnded, CallQueued, EndCause

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def count(db: Database, table: type) -> int:
    async with db.read() as session:
        return await session.scalar(select(func.count()).select_from(table))  # type: ignore[return-value]


async def test_events_on_the_bus_become_legs_and_summaries(sqlite_db: Database) -> None:
    bus = EventBus()
    writer = CallLogWriter(bus, sqlite_db, tz=SHANGHAI, clock=lambda: t(60), write_every_s=0.05)
    await writer.start()
    bus.publish(CallQueued(t(0), "c1", "support", 1))
    bus.publish(CallAbandoned(t(9), "c1", "support", wait_seconds=9.0, position=1))
    await writer.drained()
    async with sqlite_db.read() as session:
        leg = (await session.scalars(select(QueueLegRow))).one()
        stats = (await session.scalars(select(QueueSlotStatsRow))).one()
    assert (leg.call_id, leg.outcome, leg.wait_s) == ("c1", "abandoned", 9.0)
    assert (stats.offered, stats.abandoned, stats.wait_abandoned_s) == (1, 1, 9.0)
    # An answered call nobody wraps up is written as it stands when the writer stops.
    bus.publish(CallQueued(t(20), "c2", "support", 1))
    bus.publish(CallAnswered(t(25), "c2", "PJSIP/1001", "support", wait_seconds=5.0))
    bus.publish(CallEnded(t(55), "c2", EndCause.NORMAL, talk_seconds=30.0))
    await writer.stop()
    assert await count(sqlite_db, QueueLegRow) == 2
    assert writer.written == 2 and writer.lost == 0


async def test_translators_add_facts_for_other_events(sqlite_db: Database) -> None:
    bus = EventBus()

    def session_of(event: object) -> list[IvrSessionFact]:
        assert isinstance(event, str)
        return [IvrSessionFact("c9", t(0), t(5), ("welcome",), "hung-up")]

    writer = CallLogWriter(
        bus, sqlite_db, tz=SHANGHAI, clock=lambda: t(0), write_every_s=0.05, translators={str: session_of}
    )
    await writer.start()
    bus.publish("an IVR event")
    await writer.drained()
    await writer.stop()
    assert await count(sqlite_db, IvrSessionRow) == 1


async def test_a_failed_write_is_retried_then_given_up(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = writer_module.record_facts

    async def flaky(db: Database, facts: object, *, tz: object) -> None:
        calls.append(1)
        if len(calls) < 3:
            raise OSError("disk full")
        await real(db, facts, tz=tz)  # type: ignore[arg-type]

    monkeypatch.setattr(writer_module, "record_facts", flaky)
    bus = EventBus()
    writer = CallLogWriter(
        bus, sqlite_db, tz=SHANGHAI, clock=lambda: t(0), write_every_s=0.05, retry_after_s=(0.0, 0.0)
    )
    await writer.start()
    bus.publish(CallQueued(t(0), "c1", "support", 1))
    bus.publish(CallAbandoned(t(3), "c1", "support", wait_seconds=3.0, position=1))
    await writer.drained()
    assert len(calls) == 3 and writer.written == 1
    assert await count(sqlite_db, QueueLegRow) == 1

    async def broken(db: Database, facts: object, *, tz: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(writer_module, "record_facts", broken)
    bus.publish(CallQueued(t(10), "c2", "support", 1))
    bus.publish(CallAbandoned(t(13), "c2", "support", wait_seconds=3.0, position=1))
    await writer.drained()
    await writer.stop()
    assert writer.lost == 1


async def test_a_leg_waiting_for_a_wrap_up_is_written_when_the_limit_passes(sqlite_db: Database) -> None:
    now = [t(60)]
    bus = EventBus()
    writer = CallLogWriter(bus, sqlite_db, tz=SHANGHAI, clock=lambda: now[0], write_every_s=0.02)
    await writer.start()
    bus.publish(CallQueued(t(0), "c1", "support", 1))
    bus.publish(CallAnswered(t(5), "c1", "PJSIP/1001", "support", wait_seconds=5.0))
    bus.publish(CallEnded(t(50), "c1", EndCause.NORMAL, talk_seconds=45.0))
    await writer.drained()
    assert await count(sqlite_db, QueueLegRow) == 0  # the agent may still wrap up
    now[0] = t(50 + 900)
    for _ in range(250):  # the writer checks its time limits every interval
        if writer.written:
            break
        await asyncio.sleep(0.02)
    assert await count(sqlite_db, QueueLegRow) == 1
    await writer.stop()
    assert writer.call_log.calls_followed == 0
