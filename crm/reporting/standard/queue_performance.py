"""Queue performance per queue and period (15 min, hour, day, week, month), from queue_slot_stats.

The summary holds additive sums per local day × 15-minute slot × queue, so every coarser grain is
a SUM of slots: the database groups by day (and slot, for sub-day grains) and the few thousand
grouped rows are rolled up into periods here. Formulas are in docs/reports-standard.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from sqlalchemy import func, select

from crm.db import Database
from crm.reporting.results import ChartKind, ChartSpec, ReportResult, ValueType
from crm.reporting.standard.base import dimension, measure, ratio
from crm.reporting.standard.params import SUB_DAY_GRAINS, Grain, ReportParams, period_of
from crm.reporting.tables import QueueSlotStatsRow as S

NAME = "queue_performance"
TITLE_KEY = "report.title.queue_performance"


@dataclass(slots=True)
class _Sums:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    other: int = 0
    within_sl: int = 0
    wait_answered: float = 0.0
    talk: float = 0.0
    hold: float = 0.0
    wrap: float = 0.0
    max_wait: float = 0.0

    def add(self, row: tuple) -> None:
        self.offered += row.offered
        self.answered += row.answered
        self.abandoned += row.abandoned
        self.other += row.other
        self.within_sl += row.within_sl
        self.wait_answered += row.wait_answered
        self.talk += row.talk
        self.hold += row.hold
        self.wrap += row.wrap
        self.max_wait = max(self.max_wait, row.max_wait)

    def figures(self) -> tuple:
        return (
            self.offered,
            self.answered,
            self.abandoned,
            self.other,
            ratio(self.abandoned, self.offered),
            ratio(self.within_sl, self.offered),
            ratio(self.wait_answered, self.answered),
            ratio(self.talk + self.hold + self.wrap, self.answered),
            self.max_wait,
        )


def _columns(grain: Grain) -> tuple:
    if grain in SUB_DAY_GRAINS:
        period_type = ValueType.DATETIME
    elif grain is Grain.MONTH:
        period_type = ValueType.TEXT
    else:
        period_type = ValueType.DATE
    return (
        dimension("period", period_type),
        dimension("queue"),
        measure("offered"),
        measure("answered"),
        measure("abandoned"),
        measure("other_outcome"),
        measure("abandon_rate", ValueType.PERCENT),
        measure("service_level", ValueType.PERCENT),
        measure("asa", ValueType.SECONDS),
        measure("aht", ValueType.SECONDS),
        measure("longest_wait", ValueType.SECONDS),
    )


async def run(db: Database, params: ReportParams, *, tz: tzinfo) -> ReportResult:
    sub_day = params.grain in SUB_DAY_GRAINS
    keys = [S.day, S.slot, S.queue] if sub_day else [S.day, S.queue]
    query = (
        select(
            *keys,
            func.sum(S.offered).label("offered"),
            func.sum(S.answered).label("answered"),
            func.sum(S.abandoned).label("abandoned"),
            func.sum(S.other).label("other"),
            func.sum(S.answered_within_sl).label("within_sl"),
            func.sum(S.wait_answered_s).label("wait_answered"),
            func.sum(S.talk_s).label("talk"),
            func.sum(S.hold_s).label("hold"),
            func.sum(S.wrap_s).label("wrap"),
            func.max(S.max_wait_s).label("max_wait"),
        )
        .where(S.day.between(params.day_from, params.day_to))
        .group_by(*keys)
    )
    if params.queues:
        query = query.where(S.queue.in_(params.queues))
    async with db.read() as session:
        grouped = (await session.execute(query)).all()

    periods: dict[tuple[str, str], _Sums] = {}
    overall = _Sums()
    for row in grouped:
        slot = row.slot if sub_day else 0
        key = (period_of(row.day, slot, params.grain), row.queue)
        periods.setdefault(key, _Sums()).add(row)
        overall.add(row)
    rows = [(period, queue, *sums.figures()) for (period, queue), sums in sorted(periods.items())]
    return ReportResult(
        columns=_columns(params.grain),
        rows=rows,
        chart=ChartSpec(ChartKind.STACKED_BAR, "period", ("answered", "abandoned"), TITLE_KEY),
        totals=(None, None, *overall.figures()),
        total_rows=len(rows),
    )
