"""record_facts: fact rows and their summaries in one transaction; rebuild_summaries agrees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crm.contacts import NewContact, record_contact
from crm.db import Database
from crm.kinds import Channel
from crm.reporting.facts import (
    AgentIntervalFact,
    HoldbackFact,
    HoldbackSource,
    IvrSessionFact,
    LegOutcome,
    QueueLegFact,
    local_day_slot,
    rebuild_summaries,
    record_facts,
)
from crm.reporting.tables import (
    AgentIntervalRow,
    ContactDayCountRow,
    IvrSessionRow,
    OfferHoldbackRow,
    QueueLegRow,
    QueueSlotStatsRow,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 10:07 local on a Wednesday: slot 600 of 2026-11-18.
AT = datetime(2026, 11, 18, 2, 7, tzinfo=UTC)


def leg(outcome: LegOutcome, *, call: str, wait: float, at: datetime = AT, **kw: object) -> QueueLegFact:
    return QueueLegFact(
        call_id=call,
        queue=kw.pop("queue", "support"),  # type: ignore[arg-type]
        entered_at=at,
        ended_at=at + timedelta(seconds=wait + 60),
        outcome=outcome,
        wait_s=wait,
        **kw,  # type: ignore[arg-type]
    )


async def stats(db: Database) -> dict[tuple[str, int, str], QueueSlotStatsRow]:
    async with db.read() as session:
        rows = (await session.scalars(select(QueueSlotStatsRow))).all()
    return {(r.day, r.slot, r.queue): r for r in rows}


def figures(row: QueueSlotStatsRow) -> tuple:
    return (
        row.offered,
        row.answered,
        row.abandoned,
        row.other,
        row.answered_within_sl,
        row.wait_answered_s,
        row.wait_abandoned_s,
        row.talk_s,
        row.hold_s,
        row.wrap_s,
        row.max_wait_s,
        row.transferred,
    )


def test_local_day_and_slot() -> None:
    assert local_day_slot(AT, SHANGHAI) == ("2026-11-18", 600)
    # 23:59 local is the last slot of the day; 16:00 UTC is already tomorrow in Shanghai.
    assert local_day_slot(datetime(2026, 11, 18, 15, 59, tzinfo=UTC), SHANGHAI) == ("2026-11-18", 1425)
    assert local_day_slot(datetime(2026, 11, 18, 16, 0, tzinfo=UTC), SHANGHAI) == ("2026-11-19", 0)


async def test_legs_add_up_in_their_slot_across_batches(db: Database) -> None:
    await record_facts(
        db,
        [
            leg(LegOutcome.ANSWERED, call="c1", wait=5, within_sl=True, talk_s=100, hold_s=10, wrap_s=20),
            leg(LegOutcome.ABANDONED, call="c2", wait=40, position=2),
        ],
        tz=SHANGHAI,
    )
    await record_facts(
        db,
        [
            leg(LegOutcome.ANSWERED, call="c3", wait=25, talk_s=50, transferred=True),
            leg(LegOutcome.OVERFLOWED, call="c4", wait=60),
            leg(LegOutcome.ANSWERED, call="c5", wait=3, within_sl=True, queue="sales", talk_s=7),
            # 10:15 local: the next slot
            leg(LegOutcome.ANSWERED, call="c6", wait=1, at=AT + timedelta(minutes=8), within_sl=True),
        ],
        tz=SHANGHAI,
    )
    found = await stats(db)
    assert set(found) == {
        ("2026-11-18", 600, "support"),
        ("2026-11-18", 600, "sales"),
        ("2026-11-18", 615, "support"),
    }
    assert figures(found["2026-11-18", 600, "support"]) == (
        4,
        2,
        1,
        1,
        1,
        30.0,
        40.0,
        150.0,
        10.0,
        20.0,
        60.0,
        1,
    )
    assert figures(found["2026-11-18", 600, "sales"]) == (1, 1, 0, 0, 1, 3.0, 0.0, 7.0, 0.0, 0.0, 3.0, 0)
    async with db.read() as session:
        legs = (await session.scalars(select(QueueLegRow).order_by(QueueLegRow.call_id))).all()
    assert [(r.call_id, r.outcome, r.day, r.slot) for r in legs][:2] == [
        ("c1", "answered", "2026-11-18", 600),
        ("c2", "abandoned", "2026-11-18", 600),
    ]
    assert legs[1].position == 2 and legs[0].talk_s == 100.0


async def test_other_facts_are_stored_with_their_local_day(db: Database) -> None:
    evening = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)  # 23:30 local
    await record_facts(
        db,
        [
            IvrSessionFact(
                call_id="c1",
                started_at=AT,
                ended_at=AT + timedelta(seconds=30),
                nodes=("welcome", "main", "ticket_status"),
                outcome="hung-up",
                self_service=True,
                caller="13800131000",
            ),
            # a lunch pause from 23:30 to 00:30 local counts half on each day
            AgentIntervalFact("alice", "paused", evening, evening + timedelta(hours=1), reason="lunch"),
            HoldbackFact(AT, HoldbackSource.GATE, "threshold-reached", call_id="c1", agent="alice"),
        ],
        tz=SHANGHAI,
    )
    async with db.read() as session:
        ivr = (await session.scalars(select(IvrSessionRow))).one()
        intervals = (
            await session.scalars(select(AgentIntervalRow).order_by(AgentIntervalRow.started_at))
        ).all()
        holdback = (await session.scalars(select(OfferHoldbackRow))).one()
        assert (await session.scalars(select(QueueSlotStatsRow))).all() == []
    assert (ivr.path, ivr.exit_node, ivr.nodes, ivr.day, ivr.slot) == (
        "welcome > main > ticket_status",
        "ticket_status",
        ["welcome", "main", "ticket_status"],
        "2026-11-18",
        600,
    )
    assert ivr.self_service is True
    assert [(i.day, i.seconds, i.reason) for i in intervals] == [
        ("2026-11-18", 1800.0, "lunch"),
        ("2026-11-19", 1800.0, "lunch"),
    ]
    assert (holdback.source, holdback.cause, holdback.day, holdback.campaign_id) == (
        "gate",
        "threshold-reached",
        "2026-11-18",
        None,
    )


async def test_a_failed_batch_leaves_nothing_behind(db: Database) -> None:
    with pytest.raises(TypeError):
        await record_facts(db, [leg(LegOutcome.ANSWERED, call="c1", wait=1), object()], tz=SHANGHAI)  # type: ignore[list-item]
    assert await stats(db) == {}


async def test_rebuild_summaries_matches_the_incremental_upkeep(db: Database) -> None:
    await record_facts(
        db,
        [
            leg(LegOutcome.ANSWERED, call="c1", wait=5, within_sl=True, talk_s=100, hold_s=10, wrap_s=20),
            leg(LegOutcome.ABANDONED, call="c2", wait=40),
            leg(LegOutcome.CALLBACK, call="c3", wait=300, transferred=True),
            leg(LegOutcome.ANSWERED, call="c4", wait=2, queue="sales", at=AT + timedelta(hours=3)),
        ],
        tz=SHANGHAI,
    )
    for n in range(3):
        await record_contact(
            db,
            NewContact(
                customer_id=None,
                channel=Channel.CALL_IN,
                at=AT + timedelta(minutes=n),
                agent="alice" if n else None,
                queue="support",
                disposition="resolved",
            ),
            tz=SHANGHAI,
        )
    before = {key: figures(row) for key, row in (await stats(db)).items()}
    counts_before = await contact_counts(db)
    await rebuild_summaries(db, tz=SHANGHAI)
    assert {key: figures(row) for key, row in (await stats(db)).items()} == before
    assert await contact_counts(db) == counts_before
    assert counts_before == {
        ("2026-11-18", "support", "call_in", "service", "alice", 0, "resolved"): 2,
        ("2026-11-18", "support", "call_in", "service", "", 0, "resolved"): 1,
    }


async def contact_counts(db: Database) -> dict[tuple, int]:
    async with db.read() as session:
        rows = (await session.scalars(select(ContactDayCountRow))).all()
    return {
        (r.day, r.queue, r.channel, r.purpose, r.agent, r.campaign_id, r.disposition): r.contacts
        for r in rows
    }


def test_the_rebuild_command_recomputes_the_summaries(
    sqlite_template, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    import shutil

    from hotline.cli import main

    path = tmp_path / "hotline.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"

    async def seed_then_drop_summary() -> None:
        db = Database(url)
        await record_facts(db, [leg(LegOutcome.ANSWERED, call="c1", wait=5, talk_s=30)], tz=SHANGHAI)
        async with db.write() as session:
            await session.execute(QueueSlotStatsRow.__table__.delete())
        await db.dispose()

    async def summary() -> list[tuple]:
        db = Database(url)
        found = [figures(row) for row in (await stats(db)).values()]
        await db.dispose()
        return found

    asyncio.run(seed_then_drop_summary())
    monkeypatch.setenv("HOTLINE_DB_URL", url)
    assert main(["reports", "rebuild"]) == 0
    assert "rebuilt" in capsys.readouterr().out
    assert asyncio.run(summary()) == [(1, 1, 0, 0, 0, 5.0, 0.0, 30.0, 0.0, 0.0, 5.0, 0)]


async def test_imported_contacts_carry_their_queue_and_are_counted(db: Database, tmp_path) -> None:
    from crm.importer import import_contacts
    from crm.models import Contact, Customer

    async with db.write() as session:
        session.add(Customer(id=7, name="王芳", created_at=AT, updated_at=AT))
    csv = tmp_path / "contacts.csv"
    csv.write_text(
        "customer_id,channel,at,agent,queue,disposition\n"
        "7,call_in,2026-11-18T10:00:00,alice,support,resolved\n"
        "7,call_in,2026-11-18T10:05:00,alice,support,resolved\n"
        "7,sms,2026-11-18T23:59:00,,,\n",
        encoding="utf-8",
    )
    report = await import_contacts(db, csv, tz=SHANGHAI)
    assert report.imported == 3
    async with db.read() as session:
        queues = sorted((await session.scalars(select(Contact.queue))).all())
    assert queues == ["", "support", "support"]
    assert await contact_counts(db) == {
        ("2026-11-18", "support", "call_in", "service", "alice", 0, "resolved"): 2,
        ("2026-11-18", "", "sms", "service", "", 0, ""): 1,
    }
