"""Scheduled reports: the due period runs and is e-mailed through the outbox, once per period."""

from __future__ import annotations

import csv
import io
import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select, update

from crm.db import Database
from crm.kinds import Channel
from crm.models import OutboxMessage
from crm.notices import LogSender, deliver_due
from crm.reporting.saved import SavedReportRow, Schedule, create_report, get_report, update_report
from crm.reporting.schedule import latest_due, send_due_reports
from crm.reporting.tables import QueueLegRow
from tests.reports.custom.seed import SHANGHAI, seed

DEFINITION: dict[str, Any] = {
    "source": "calls",
    "date_from": "2026-11-01",
    "date_to": "2026-11-01",
    "dimensions": ["queue"],
    "measures": [{"fn": "count", "label": "进线"}],
}
CREATED = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def outbox(db: Database) -> list[OutboxMessage]:
    async with db.read() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def test_daily_report_is_sent_once_per_day_to_each_recipient(db: Database) -> None:
    await seed(db)
    report = await create_report(
        db,
        owner="lin",
        name="进线日报",
        definition=DEFINITION,
        schedule="daily",
        hour=8,
        recipients=["lead@example.cn", "ops@example.com"],
        now=CREATED,
    )
    # 07:59 on Nov 11: the report of Nov 9 fell due yesterday at 08:00.
    assert await send_due_reports(db, now=local("2026-11-11T07:59"), tz=SHANGHAI) == 2
    assert (await get_report(db, report.id)).last_sent_period == "2026-11-09"
    # Again, and after a restart: nothing new.
    assert await send_due_reports(db, now=local("2026-11-11T07:59"), tz=SHANGHAI) == 0
    assert await send_due_reports(db, now=local("2026-11-11T07:59:30"), tz=SHANGHAI) == 0
    # 08:00: Nov 10 is due.
    assert await send_due_reports(db, now=local("2026-11-11T08:00"), tz=SHANGHAI) == 2
    assert await send_due_reports(db, now=local("2026-11-11T23:00"), tz=SHANGHAI) == 0
    messages = await outbox(db)
    assert [(m.address, m.dedupe_key.rsplit(":", 1)[0]) for m in messages] == [
        ("lead@example.cn", f"report:{report.id}:2026-11-09"),
        ("ops@example.com", f"report:{report.id}:2026-11-09"),
        ("lead@example.cn", f"report:{report.id}:2026-11-10"),
        ("ops@example.com", f"report:{report.id}:2026-11-10"),
    ]
    mail = messages[-1]
    assert (
        mail.channel == Channel.EMAIL and mail.topic == "reports" and mail.subject == "进线日报 (2026-11-10)"
    )
    table = list(csv.reader(io.StringIO(mail.body[mail.body.index("queue,") :])))
    assert table[0] == ["queue", "进线"]
    # The figures are those of Nov 10 (local), read straight from the legs.
    async with db.read() as session:
        legs = (await session.scalars(select(QueueLegRow.queue).where(QueueLegRow.day == "2026-11-10"))).all()
    assert {r[0]: int(r[1]) for r in table[1:]} == {q: legs.count(q) for q in set(legs)}
    # The outbox delivers them like any other notice.
    sender = LogSender()
    report_sent = await deliver_due(db, {Channel.EMAIL: sender}, now=local("2026-11-11T08:01"))
    assert report_sent.sent == 4 and sender.sent[0].address == "lead@example.cn"


async def test_weekly_report_covers_the_previous_week(sqlite_db: Database) -> None:
    await seed(sqlite_db)
    report = await create_report(
        sqlite_db,
        owner="lin",
        name="周报",
        definition=DEFINITION,
        schedule="weekly",
        weekday=0,
        hour=9,
        recipients=["lead@example.cn"],
        now=CREATED,
    )
    # Wednesday Nov 18: last due Monday Nov 16 09:00, for Nov 9–15 (ISO week 46).
    assert await send_due_reports(sqlite_db, now=local("2026-11-18T12:00"), tz=SHANGHAI) == 1
    assert await send_due_reports(sqlite_db, now=local("2026-11-23T08:59"), tz=SHANGHAI) == 0
    assert await send_due_reports(sqlite_db, now=local("2026-11-23T09:00"), tz=SHANGHAI) == 1
    first, second = await outbox(sqlite_db)
    assert first.dedupe_key.startswith(f"report:{report.id}:2026-W46:")
    assert first.subject == "周报 (2026-11-09 – 2026-11-15)"
    assert second.dedupe_key.startswith(f"report:{report.id}:2026-W47:")
    table = csv.reader(io.StringIO(first.body[first.body.index("queue,") :]))
    body_total = sum(int(r[1]) for r in list(table)[1:])
    async with sqlite_db.read() as session:
        legs = await session.scalar(
            select(func.count()).where(QueueLegRow.day.between("2026-11-09", "2026-11-15"))
        )
    assert body_total == legs > 200


async def test_nothing_due_before_the_report_existed_and_unscheduled_never(sqlite_db: Database) -> None:
    created = local("2026-11-11T10:00")
    report = await create_report(
        sqlite_db,
        owner="lin",
        name="r",
        definition=DEFINITION,
        schedule="daily",
        hour=8,
        recipients=["a@example.cn"],
        now=created,
    )
    assert await send_due_reports(sqlite_db, now=created + timedelta(hours=1), tz=SHANGHAI) == 0
    assert await send_due_reports(sqlite_db, now=local("2026-11-12T08:00"), tz=SHANGHAI) == 1
    await update_report(sqlite_db, report.id, schedule="none", recipients=[])
    assert await send_due_reports(sqlite_db, now=local("2026-11-20T08:00"), tz=SHANGHAI) == 0


def test_latest_due_periods() -> None:
    report = SimpleNamespace(schedule=Schedule.WEEKLY, weekday=6, hour=0)
    period = latest_due(report, local("2026-11-22T00:00"), SHANGHAI)  # type: ignore[arg-type]
    assert period is not None and (period.key, str(period.first), str(period.last)) == (
        "2026-W46",
        "2026-11-09",
        "2026-11-15",
    )


async def test_a_long_report_mails_its_first_rows_and_says_so(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("crm.reporting.schedule.MAX_MAIL_ROWS", 2)
    await seed(sqlite_db)
    await create_report(
        sqlite_db,
        owner="lin",
        name="r",
        definition=DEFINITION,
        schedule="daily",
        hour=8,
        recipients=["a@example.cn"],
        now=CREATED,
    )
    assert await send_due_reports(sqlite_db, now=local("2026-11-11T08:00"), tz=SHANGHAI) == 1
    [mail] = await outbox(sqlite_db)
    assert "the first 2 rows" in mail.body
    assert len(list(csv.reader(io.StringIO(mail.body[mail.body.index("queue,") :])))) == 3


async def test_a_stored_definition_that_no_longer_passes_is_skipped_and_logged_not_run(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await seed(sqlite_db, days=3)
    good = await create_report(
        sqlite_db,
        owner="lin",
        name="good",
        definition=DEFINITION,
        schedule="daily",
        recipients=["a@example.cn"],
        now=CREATED,
    )
    broken = await create_report(
        sqlite_db,
        owner="lin",
        name="broken",
        definition=DEFINITION,
        schedule="daily",
        recipients=["a@example.cn"],
        now=CREATED,
    )
    # Saved before whole numbers were bounded: a value past 64 bits, which no database binds.
    huge = {**DEFINITION, "filters": [{"field": "priority", "op": "gt", "value": 2**70}]}
    async with sqlite_db.write() as session:
        await session.execute(
            update(SavedReportRow).where(SavedReportRow.id == broken.id).values(definition=huge)
        )
    caplog.set_level(logging.INFO, logger="crm.reporting.schedule")
    assert await send_due_reports(sqlite_db, now=local("2026-11-03T08:00"), tz=SHANGHAI) == 1
    assert (await get_report(sqlite_db, good.id)).last_sent_period == "2026-11-02"
    assert (await get_report(sqlite_db, broken.id)).last_sent_period is None
    [skipped] = [r for r in caplog.records if r.getMessage() == "scheduled_report_invalid"]
    assert skipped.levelno == logging.WARNING and skipped.exc_info is None
    assert skipped.kv["id"] == broken.id and "filters[0].value" in skipped.kv["problem"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
