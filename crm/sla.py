"""The SLA clock: due dates in working days on the mainland China calendar. Pure: no I/O, no clock.

A service request closes within N working days (三个工作日内封闭). The opening day never
counts: a request is due at the end (local midnight) of the Nth working day after the day it was
opened, so one opened on Friday morning or on Saturday with N = 3 is due at the end of Wednesday.
Statutory holidays do not count and make-up workdays (调休 Saturdays) do.

The calendar comes from the chinesecalendar package, whose data covers the years the State
Council has announced (2004–2026 in chinesecalendar 1.11). Outside those years the clock does
not fail: it counts Monday–Friday minus the fixed-date holidays (1 January, 1 May, 1–3 October)
and marks the result ``estimated`` so the page can say so; lunar holidays and make-up days are
only known once announced, and a newer chinesecalendar release picks them up. See
docs/crm-sla-calendar.md.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
_FIXED_HOLIDAYS = frozenset({(1, 1), (5, 1), (10, 1), (10, 2), (10, 3)})
_MAX_DAYS_SCANNED = 3660


class WorkCalendar(Protocol):
    def is_workday(self, day: date) -> bool: ...

    def covers(self, day: date) -> bool: ...


class ChinaWorkCalendar:
    """Mainland working days from chinesecalendar, with a weekday estimate outside its years."""

    def is_workday(self, day: date) -> bool:
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return day.weekday() < 5 and (day.month, day.day) not in _FIXED_HOLIDAYS

    def covers(self, day: date) -> bool:
        try:
            chinese_calendar.is_workday(day)
        except NotImplementedError:
            return False
        return True


class SlaState(enum.StrEnum):
    ON_TIME = "on_time"
    DUE_SOON = "due_soon"  # less than a day left
    OVERDUE = "overdue"
    MET = "met"  # closed before it was due
    MISSED = "missed"  # closed after it was due


@dataclass(frozen=True, slots=True)
class DueDate:
    at: datetime
    estimated: bool  # some day counted lies outside the calendar's announced years


def due_date(
    opened_at: datetime, working_days: int, calendar: WorkCalendar, tz: tzinfo = SHANGHAI
) -> DueDate:
    """When a request opened at ``opened_at`` must be closed: end of the Nth working day after."""
    if opened_at.tzinfo is None:
        raise ValueError("opened_at must carry a time zone")
    if working_days < 1:
        raise ValueError(f"working_days must be at least 1, got {working_days}")
    day = opened_at.astimezone(tz).date()
    counted = 0
    estimated = False
    for _ in range(_MAX_DAYS_SCANNED):
        day += timedelta(days=1)
        estimated = estimated or not calendar.covers(day)
        if calendar.is_workday(day):
            counted += 1
            if counted == working_days:
                end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz)
                return DueDate(end, estimated)
    raise ValueError("the calendar has no working days")


def sla_state(due_at: datetime, now: datetime, closed_at: datetime | None = None) -> SlaState:
    if closed_at is not None:
        return SlaState.MET if closed_at <= due_at else SlaState.MISSED
    if now >= due_at:
        return SlaState.OVERDUE
    if due_at - now <= timedelta(days=1):
        return SlaState.DUE_SOON
    return SlaState.ON_TIME


def escalation_level(due_at: datetime, now: datetime, calendar: WorkCalendar, tz: tzinfo = SHANGHAI) -> int:
    """0 before the due time; 1 once overdue; one more for each working day that ends overdue."""
    if now < due_at:
        return 0
    level = 1
    day = due_at.astimezone(tz).date()
    today = now.astimezone(tz).date()
    while day < today and level < 100:
        if calendar.is_workday(day):
            level += 1
        day += timedelta(days=1)
    return level


@dataclass(frozen=True, slots=True)
class Escalation:
    """What the SLA clock asks of one open ticket now: a warning before the deadline (level 0),
    or the escalation level it has reached since."""

    level: int
    warning: bool


def escalation_due(
    due_at: datetime,
    now: datetime,
    *,
    level: int,
    warned: bool,
    calendar: WorkCalendar,
    tz: tzinfo = SHANGHAI,
    warn_before: timedelta = timedelta(days=1),
) -> Escalation | None:
    """None when nothing is due: not yet in the warning window, warned already, or at the level
    it was already raised to. The warning window is the one the pages call ``due_soon``."""
    reached = escalation_level(due_at, now, calendar, tz)
    if reached > level:
        return Escalation(reached, warning=False)
    if reached == 0 and not warned and due_at - now <= warn_before:
        return Escalation(0, warning=True)
    return None
