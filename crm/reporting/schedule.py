"""Scheduled custom reports: each due period is run and e-mailed through the outbox, once.

A daily report is due at its ``hour`` (local) for the previous day; a weekly one on its
``weekday`` at its ``hour`` for the previous Monday–Sunday week. Only the latest due period is
sent (a server down for a week sends last week's report, not seven daily ones), and not one that
fell due before the report was saved. The outbox rows and the report's ``last_sent_period`` are
written in one transaction, and every row carries the dedupe key ``report:{id}:{period}:…`` — so
a period is sent at most once, across restarts and several schedulers alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import select, update

from crm.db import Database, utcnow
from crm.kinds import Channel, NoticeTopic, OutboxStatus
from crm.models import OutboxMessage
from crm.reporting.export import csv_text
from crm.reporting.query import result_columns, stream_rows
from crm.reporting.saved import SavedReport, SavedReportRow, Schedule, list_scheduled

log = logging.getLogger(__name__)

MAX_MAIL_ROWS = 5_000  # rows in one e-mail; a bigger result says where to get the rest


@dataclass(frozen=True, slots=True)
class Period:
    key: str  # '2026-11-22' or '2026-W47'
    first: date
    last: date
    due_at: datetime  # when it became due (aware, local)


def latest_due(report: SavedReport, now: datetime, tz: tzinfo) -> Period | None:
    """The most recent period of ``report`` that is due at ``now``."""
    local = now.astimezone(tz)
    if report.schedule is Schedule.DAILY:
        moment = datetime.combine(local.date(), time(report.hour), tzinfo=tz)
        if moment > local:
            moment -= timedelta(days=1)
        day = moment.date() - timedelta(days=1)
        return Period(day.isoformat(), day, day, moment)
    if report.schedule is Schedule.WEEKLY and report.weekday is not None:
        moment = datetime.combine(local.date(), time(report.hour), tzinfo=tz)
        while moment.weekday() != report.weekday or moment > local:
            moment -= timedelta(days=1)
        monday = moment.date() - timedelta(days=moment.weekday() + 7)
        year, week, _ = monday.isocalendar()
        return Period(f"{year}-W{week:02d}", monday, monday + timedelta(days=6), moment)
    return None


def _newer(key: str, last: str | None) -> bool:
    if last is None:
        return True
    if ("W" in key) != ("W" in last):  # the schedule changed kind: a new series starts
        return True
    return key > last


async def send_due_reports(db: Database, *, now: datetime | None = None, tz: tzinfo) -> int:
    """Queue the e-mails of every scheduled report whose latest period is due and unsent;
    returns the number of e-mails queued. A report that fails is logged and the others still go."""
    now = now or utcnow()
    queued = 0
    for report in await list_scheduled(db):
        period = latest_due(report, now, tz)
        if (
            period is None
            or period.due_at < report.created_at
            or not _newer(period.key, report.last_sent_period)
        ):
            continue
        if report.definition is None:
            log.warning(
                "scheduled_report_invalid", extra={"kv": {"id": report.id, "problem": report.problem}}
            )
            continue
        try:
            queued += await _send(db, report, period, now, tz)
        except Exception:
            log.exception("scheduled_report_failed", extra={"kv": {"id": report.id, "period": period.key}})
    return queued


async def _send(db: Database, report: SavedReport, period: Period, now: datetime, tz: tzinfo) -> int:
    assert report.definition is not None
    definition = report.definition.with_dates(period.first, period.last)
    columns = result_columns(definition)
    rows = []
    more = False
    # aclosing: leaving the loop early closes the cursor and its session at once.
    async with contextlib.aclosing(stream_rows(db, definition, tz=tz)) as stream:
        async for row in stream:
            if len(rows) == MAX_MAIL_ROWS:
                more = True
                break
            rows.append(row)
    span = period.first.isoformat() if period.first == period.last else f"{period.first} – {period.last}"
    subject = f"{report.name} ({span})"
    note = f"\n(the first {MAX_MAIL_ROWS} rows; run the report in Hotline for all of them)\n" if more else ""
    body = f"{report.name}\n{span}\n{len(rows)} rows{note}\n\n{csv_text(columns, rows)}"
    async with db.write() as session:
        claimed = await session.execute(
            update(SavedReportRow)
            .where(
                SavedReportRow.id == report.id,
                SavedReportRow.last_sent_period.is_(None)
                if report.last_sent_period is None
                else SavedReportRow.last_sent_period == report.last_sent_period,
            )
            .values(last_sent_period=period.key)
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            return 0  # another scheduler sent it a moment ago
        added = 0
        for address in report.recipients:
            digest = hashlib.sha256(address.lower().encode()).hexdigest()[:16]
            key = f"report:{report.id}:{period.key}:{digest}"
            if await session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)):
                continue
            session.add(
                OutboxMessage(
                    dedupe_key=key,
                    customer_id=None,
                    channel=Channel.EMAIL.value,
                    address=address,
                    topic=NoticeTopic.REPORTS.value,
                    subject=subject[:300],
                    body=body,
                    status=OutboxStatus.PENDING.value,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            added += 1
    log.info(
        "scheduled_report_queued", extra={"kv": {"id": report.id, "period": period.key, "emails": added}}
    )
    return added


async def run_report_schedule(
    db: Database, tz: tzinfo, stop: asyncio.Event, *, interval_s: float = 60.0
) -> None:
    """Send due reports every ``interval_s`` until ``stop`` is set."""
    while not stop.is_set():
        try:
            await send_due_reports(db, tz=tz)
        except Exception:
            log.exception("report_schedule_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
