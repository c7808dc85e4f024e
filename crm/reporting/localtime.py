"""Local-time buckets (hour, day, week, month) in SQL, the same labels on SQLite and PostgreSQL.

Facts carry a local ``day`` text (and a ``slot``): buckets are string work on it. UTC datetime
columns are shifted to local time in SQL by the zone's UTC offset; where the offset changes
inside the report's range (daylight saving), the shift is a CASE over the instants it changes at,
computed here from the zone database, so every row lands on its true local day. The offsets and
instants are ours, bound as parameters; nothing comes from the report definition but its dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Date, Interval, String, and_, case, cast, func, literal
from sqlalchemy.sql.expression import ColumnElement

from crm.reporting.catalog import Grain, TimeField

_SQLITE_FORMATS = {Grain.HOUR: "%Y-%m-%d %H:00", Grain.DAY: "%Y-%m-%d", Grain.MONTH: "%Y-%m"}
_PG_FORMATS = {Grain.HOUR: "YYYY-MM-DD HH24:00", Grain.DAY: "YYYY-MM-DD", Grain.MONTH: "YYYY-MM"}


def local_midnight_utc(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def offsets(tz: tzinfo, date_from: date, date_to: date) -> list[tuple[datetime | None, int]]:
    """The zone's UTC offsets (minutes) over the range: [(None, first), (instant, next), …]."""
    start = local_midnight_utc(date_from, tz) - timedelta(days=1)
    end = local_midnight_utc(date_to, tz) + timedelta(days=2)

    def minutes(at: datetime) -> int:
        offset = at.astimezone(tz).utcoffset()
        return int(offset.total_seconds() // 60) if offset else 0

    pieces: list[tuple[datetime | None, int]] = [(None, minutes(start))]
    at = start
    while at < end:
        nxt = at + timedelta(hours=1)
        if minutes(nxt) != pieces[-1][1]:
            # Zones change on whole minutes; find the minute within this hour.
            moment = at
            while minutes(moment) == pieces[-1][1]:
                moment += timedelta(minutes=1)
            pieces.append((moment, minutes(nxt)))
        at = nxt
    return pieces


def date_condition(time_field: TimeField, date_from: date, date_to: date, tz: tzinfo) -> ColumnElement[bool]:
    """Rows whose local day is within [date_from, date_to]."""
    if time_field.day is not None:
        return and_(time_field.day >= date_from.isoformat(), time_field.day <= date_to.isoformat())
    assert time_field.utc is not None
    return and_(
        time_field.utc >= local_midnight_utc(date_from, tz),
        time_field.utc < local_midnight_utc(date_to + timedelta(days=1), tz),
    )


def bucket(
    time_field: TimeField, grain: Grain, *, tz: tzinfo, date_from: date, date_to: date, dialect: str
) -> ColumnElement[Any]:
    """The local bucket label of each row: 'YYYY-MM-DD HH:00', 'YYYY-MM-DD' (day, or the Monday of
    the week), 'YYYY-MM'."""
    if time_field.day is not None and (grain is not Grain.HOUR or time_field.slot is not None):
        return day_bucket(time_field.day, time_field.slot, grain, dialect=dialect)
    assert time_field.utc is not None
    column = time_field.utc
    pieces = offsets(tz, date_from, date_to)
    if len(pieces) == 1:
        return _shifted(column, pieces[0][1], grain, dialect)
    whens = [
        (column < pieces[i + 1][0], _shifted(column, minutes, grain, dialect))
        for i, (_, minutes) in enumerate(pieces[:-1])
    ]
    return case(*whens, else_=_shifted(column, pieces[-1][1], grain, dialect))


def day_bucket(day: Any, slot: Any, grain: Grain, *, dialect: str) -> ColumnElement[Any]:
    if grain is Grain.DAY:
        return day
    if grain is Grain.MONTH:
        return func.substr(day, 1, 7)
    if grain is Grain.WEEK:
        if dialect == "sqlite":
            return func.date(day, "weekday 0", "-6 days")
        return func.to_char(func.date_trunc("week", cast(day, Date)), "YYYY-MM-DD")
    hour = slot // 60
    return day.concat(" ").concat(case((hour < 10, "0"), else_="")).concat(cast(hour, String)).concat(":00")


def _shifted(column: Any, minutes: int, grain: Grain, dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        shift = f"{minutes:+d} minutes"
        if grain is Grain.WEEK:
            return func.date(column, shift, "weekday 0", "-6 days")
        return func.strftime(_SQLITE_FORMATS[grain], column, shift)
    local = column + cast(literal(f"{minutes} minutes"), Interval)
    if grain is Grain.WEEK:
        return func.to_char(func.date_trunc("week", local), "YYYY-MM-DD")
    return func.to_char(local, _PG_FORMATS[grain])
