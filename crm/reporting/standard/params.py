"""What a standard report is asked for: a range of local days, a time grain and a few filters."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from crm.errors import CrmError

MAX_DAYS = 366  # the longest range one report covers


class InvalidReportParams(CrmError):
    error_id = "invalid_report_params"


class Grain(enum.StrEnum):
    SLOT15 = "slot15"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"  # ISO weeks, Monday first, labelled by their Monday
    MONTH = "month"


SUB_DAY_GRAINS = frozenset({Grain.SLOT15, Grain.HOUR})
# A sub-day grain over a long range makes thousands of rows nobody reads and a chart nobody can:
# a week of quarter hours or a month of hours is the most a page shows (about 700 periods).
MAX_DAYS_AT_GRAIN = {Grain.SLOT15: 7, Grain.HOUR: 31}


@dataclass(frozen=True, slots=True)
class ReportParams:
    date_from: date
    date_to: date  # inclusive
    grain: Grain = Grain.DAY
    queues: tuple[str, ...] = ()  # empty: every queue
    agents: tuple[str, ...] = ()  # empty: every agent
    campaign_ids: tuple[int, ...] = ()  # empty: every campaign

    def __post_init__(self) -> None:
        if self.date_to < self.date_from:
            raise InvalidReportParams(f"the range ends ({self.date_to}) before it starts ({self.date_from})")
        days = (self.date_to - self.date_from).days + 1
        if days > MAX_DAYS:
            raise InvalidReportParams(f"the range covers {days} days; at most {MAX_DAYS} are allowed")
        try:
            object.__setattr__(self, "grain", Grain(self.grain))
        except ValueError:
            grains = ", ".join(g.value for g in Grain)
            raise InvalidReportParams(f"unknown grain {self.grain!r} (grains: {grains})") from None
        longest = MAX_DAYS_AT_GRAIN.get(self.grain)
        if longest is not None and days > longest:
            raise InvalidReportParams(
                f"the {self.grain.value} grain covers at most {longest} days ({days} asked):"
                " choose a coarser grain or a shorter range"
            )
        for name in ("queues", "agents", "campaign_ids"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def day_from(self) -> str:
        return self.date_from.isoformat()

    @property
    def day_to(self) -> str:
        return self.date_to.isoformat()

    def utc_bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """The range as instants: from local midnight of the first day to local midnight after the
        last (half-open), for tables that store UTC times rather than local days."""
        start = datetime.combine(self.date_from, time(0, 0), tzinfo=tz)
        end = datetime.combine(self.date_to + timedelta(days=1), time(0, 0), tzinfo=tz)
        return start, end


def period_of(day: str, slot: int, grain: Grain) -> str:
    """The label of the period a local day and 15-minute slot fall in; labels of one grain sort
    in time order as text."""
    if grain is Grain.SLOT15:
        return f"{day}T{slot // 60:02d}:{slot % 60:02d}"
    if grain is Grain.HOUR:
        return f"{day}T{slot // 60:02d}:00"
    if grain is Grain.DAY:
        return day
    if grain is Grain.WEEK:
        d = date.fromisoformat(day)
        return (d - timedelta(days=d.weekday())).isoformat()
    return day[:7]
