"""Working days of mainland China: weekends, public holidays and make-up workdays (调休).

The data comes from the chinesecalendar package, which covers the years the State Council has
published (2004–2026 in chinesecalendar 1.11). For a later year it has no data: the
calendar then counts Monday–Friday as workdays and says the answer is an estimate, so the
menu still opens on ordinary weekdays; a menu's ``calendar:`` block lists the holidays and
make-up workdays of such a year as soon as they are announced, and those entries win over
everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import chinese_calendar

from ivr.nodes import CalendarOverrides


@dataclass(frozen=True, slots=True)
class DayVerdict:
    workday: bool
    estimated: bool  # the year is outside the packaged data and not in the overrides


def covered_years() -> range:
    years = sorted({day.year for day in chinese_calendar.constants.holidays})
    return range(years[0], years[-1] + 1)


class WorkCalendar:
    def __init__(self, overrides: CalendarOverrides | None = None) -> None:
        self._overrides = overrides or CalendarOverrides()
        self._covered = covered_years()

    def verdict(self, day: date) -> DayVerdict:
        if day in self._overrides.workdays:
            return DayVerdict(True, False)
        if day in self._overrides.holidays:
            return DayVerdict(False, False)
        if day.year in self._covered:
            return DayVerdict(chinese_calendar.is_workday(day), False)
        return DayVerdict(day.weekday() < 5, True)
