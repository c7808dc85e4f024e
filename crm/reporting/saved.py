"""Saved custom reports: a definition with an owner, the roles it is shared with, and a schedule.

A report is visible to its owner and to every user holding one of its ``shared_roles``. A
schedule sends it by e-mail (crm/reporting/schedule.py): ``daily`` at ``hour`` (local) for the
previous day, ``weekly`` on ``weekday`` (0 = Monday) at ``hour`` for the previous Monday–Sunday
week. ``last_sent_period`` ('2026-11-22' or '2026-W47') is the last period sent, so a period is
sent once however often the scheduler wakes or restarts.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Database, utcnow
from crm.errors import CrmError, NotFound
from crm.kinds import Role
from crm.models import Base, UtcDateTime
from crm.reporting.definition import InvalidReportDefinition, ReportDefinition, parse_definition

MAX_RECIPIENTS = 20
# One address: something@domain.tld, no spaces, commas or angle brackets (no display names).
_EMAIL = re.compile(
    r"^[^@\s,;<>\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$"
)


class Schedule(enum.StrEnum):
    NONE = "none"
    DAILY = "daily"
    WEEKLY = "weekly"


class InvalidSavedReport(CrmError):
    error_id = "invalid_saved_report"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class SavedReportRow(Base):
    __tablename__ = "saved_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(64), index=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    shared_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    schedule: Mapped[str] = mapped_column(String(10), default=Schedule.NONE.value)
    weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday, weekly schedules only
    hour: Mapped[int] = mapped_column(Integer, default=8)  # local hour the schedule sends at
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_sent_period: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("owner", "name"),)


@dataclass(frozen=True, slots=True)
class SavedReport:
    id: int
    name: str
    owner: str
    definition: ReportDefinition | None  # None when the stored one no longer passes the checks
    shared_roles: tuple[Role, ...]
    schedule: Schedule
    weekday: int | None
    hour: int
    recipients: tuple[str, ...]
    last_sent_period: str | None
    created_at: datetime
    updated_at: datetime
    problem: str = ""  # why ``definition`` is None: the catalog changed under a saved report

    def visible_to(self, username: str, roles: Iterable[str]) -> bool:
        return self.owner == username or bool(set(self.shared_roles) & set(roles))


def _saved(row: SavedReportRow) -> SavedReport:
    try:
        definition: ReportDefinition | None = parse_definition(row.definition)
        problem = ""
    except InvalidReportDefinition as exc:
        definition, problem = None, str(exc)
    return SavedReport(
        id=row.id,
        name=row.name,
        owner=row.owner,
        definition=definition,
        problem=problem,
        shared_roles=tuple(Role(r) for r in row.shared_roles),
        schedule=Schedule(row.schedule),
        weekday=row.weekday,
        hour=row.hour,
        recipients=tuple(row.recipients),
        last_sent_period=row.last_sent_period,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InvalidSavedReport("name", "a name of 1 to 200 characters is required")
    return value.strip()


def _roles(values: Sequence[str]) -> list[str]:
    known = {r.value for r in Role}
    out = []
    for value in values:
        if value not in known:
            raise InvalidSavedReport(
                "shared_roles", f"unknown role {str(value)[:40]!r}; one of {', '.join(known)}"
            )
        if value not in out:
            out.append(value)
    return out


def _recipients(values: Sequence[str]) -> list[str]:
    if len(values) > MAX_RECIPIENTS:
        raise InvalidSavedReport("recipients", f"at most {MAX_RECIPIENTS} addresses")
    out = []
    for value in values:
        address = value.strip() if isinstance(value, str) else ""
        if len(address) > 254 or not _EMAIL.match(address):
            raise InvalidSavedReport("recipients", f"not an e-mail address: {str(value)[:60]!r}")
        if address.lower() not in (a.lower() for a in out):
            out.append(address)
    return out


def _check_schedule(schedule: Any, weekday: Any, hour: Any, recipients: list[str]) -> Schedule:
    if schedule not in {s.value for s in Schedule}:
        raise InvalidSavedReport("schedule", f"one of none, daily, weekly, not {str(schedule)[:20]!r}")
    kind = Schedule(schedule)
    if not isinstance(hour, int) or isinstance(hour, bool) or not 0 <= hour <= 23:
        raise InvalidSavedReport("hour", "a local hour from 0 to 23")
    if kind is Schedule.WEEKLY and (
        not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6
    ):
        raise InvalidSavedReport("weekday", "a weekly report needs a weekday from 0 (Monday) to 6 (Sunday)")
    if kind is not Schedule.NONE and not recipients:
        raise InvalidSavedReport("recipients", "a scheduled report needs at least one address")
    return kind


async def create_report(
    db: Database,
    *,
    owner: str,
    name: str,
    definition: Mapping[str, Any],
    shared_roles: Sequence[str] = (),
    schedule: str = Schedule.NONE.value,
    weekday: int | None = None,
    hour: int = 8,
    recipients: Sequence[str] = (),
    now: datetime | None = None,
) -> SavedReport:
    """Check everything, then store; the definition is stored in its normalized JSON form."""
    now = now or utcnow()
    checked = parse_definition(definition)
    addresses = _recipients(recipients)
    kind = _check_schedule(schedule, weekday, hour, addresses)
    row = SavedReportRow(
        name=_name(name),
        owner=owner,
        definition=checked.to_dict(),
        shared_roles=_roles(shared_roles),
        schedule=kind.value,
        weekday=weekday if kind is Schedule.WEEKLY else None,
        hour=hour,
        recipients=addresses,
        last_sent_period=None,
        created_at=now,
        updated_at=now,
    )
    try:
        async with db.write() as session:
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise InvalidSavedReport("name", f"{owner} already has a report named {row.name!r}") from None
    return _saved(row)


_UPDATABLE = {"name", "definition", "shared_roles", "schedule", "weekday", "hour", "recipients"}


async def update_report(
    db: Database, report_id: int, *, now: datetime | None = None, **changes: Any
) -> SavedReport:
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise InvalidSavedReport(sorted(unknown)[0], "cannot be changed")
    try:
        async with db.write() as session:
            row = await session.get(SavedReportRow, report_id)
            if row is None:
                raise NotFound("saved report", report_id)
            if "name" in changes:
                row.name = _name(changes["name"])
            if "definition" in changes:
                row.definition = parse_definition(changes["definition"]).to_dict()
            if "shared_roles" in changes:
                row.shared_roles = _roles(changes["shared_roles"])
            recipients = _recipients(changes.get("recipients", row.recipients))
            kind = _check_schedule(
                changes.get("schedule", row.schedule),
                changes.get("weekday", row.weekday),
                changes.get("hour", row.hour),
                recipients,
            )
            row.recipients = recipients
            row.schedule = kind.value
            row.weekday = changes.get("weekday", row.weekday) if kind is Schedule.WEEKLY else None
            row.hour = changes.get("hour", row.hour)
            row.updated_at = now or utcnow()
            await session.flush()
            return _saved(row)
    except IntegrityError:
        raise InvalidSavedReport("name", f"a report named {changes.get('name')!r} exists already") from None


async def delete_report(db: Database, report_id: int) -> None:
    async with db.write() as session:
        row = await session.get(SavedReportRow, report_id)
        if row is None:
            raise NotFound("saved report", report_id)
        await session.delete(row)


async def get_report(db: Database, report_id: int) -> SavedReport:
    async with db.read() as session:
        row = await session.get(SavedReportRow, report_id)
    if row is None:
        raise NotFound("saved report", report_id)
    return _saved(row)


async def list_visible(db: Database, username: str, roles: Iterable[str]) -> list[SavedReport]:
    """The user's own reports and those shared with one of their roles, by name."""
    roles = set(roles)
    async with db.read() as session:
        rows = (
            await session.scalars(select(SavedReportRow).order_by(SavedReportRow.name, SavedReportRow.id))
        ).all()
    # Sharing is a JSON list (portable across SQLite and PostgreSQL); a center has few saved
    # reports, so the check runs here rather than in SQL.
    return [_saved(r) for r in rows if r.owner == username or roles & set(r.shared_roles)]


async def list_scheduled(db: Database) -> list[SavedReport]:
    async with db.read() as session:
        rows = (
            await session.scalars(
                select(SavedReportRow)
                .where(SavedReportRow.schedule != Schedule.NONE.value)
                .order_by(SavedReportRow.id)
            )
        ).all()
    return [_saved(r) for r in rows]
