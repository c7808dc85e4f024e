"""Abandon analysis: when callers give up (hour of day they entered the queue), after how long
(wait bands) and at which place in line, with the short abandons flagged.

One row per hour of the day (all 24, so the shape of the day shows); the columns are the wait
bands and position bands, so the totals row is the distribution over the whole range. The
database counts per 15-minute slot; the 96 slots are folded into hours here.
"""

from __future__ import annotations

from datetime import tzinfo

from sqlalchemy import and_, func, select

from crm.db import Database
from crm.reporting.results import ChartKind, ChartSpec, ReportResult, ValueType
from crm.reporting.standard.base import ABANDONED, count_if, dimension, measure, ratio
from crm.reporting.standard.params import ReportParams
from crm.reporting.tables import QueueLegRow as L

NAME = "abandon_analysis"
TITLE_KEY = "report.title.abandon_analysis"
SHORT_ABANDON_S = 5.0  # gave up before this: likely a misdial or a caller who never meant to wait

# (column, lower bound inclusive, upper bound exclusive or None); seconds of wait.
WAIT_BANDS = (
    ("wait_0_10s", 0, 10),
    ("wait_10_30s", 10, 30),
    ("wait_30_60s", 30, 60),
    ("wait_1_2m", 60, 120),
    ("wait_2_5m", 120, 300),
    ("wait_over_5m", 300, None),
)
# place in line when the caller hung up (1 = next to be served)
POSITION_BANDS = (
    ("position_1", 1, 2),
    ("position_2", 2, 3),
    ("position_3", 3, 4),
    ("position_4_5", 4, 6),
    ("position_6_10", 6, 11),
    ("position_over_10", 11, None),
)


def _band(column: object, low: float, high: float | None) -> object:
    return column >= low if high is None else and_(column >= low, column < high)


async def run(db: Database, params: ReportParams, *, tz: tzinfo) -> ReportResult:
    counts = [
        *(count_if(_band(L.wait_s, low, high)).label(name) for name, low, high in WAIT_BANDS),
        *(count_if(_band(L.position, low, high)).label(name) for name, low, high in POSITION_BANDS),
    ]
    query = (
        select(
            L.slot,
            func.count().label("abandoned"),
            count_if(L.wait_s < SHORT_ABANDON_S).label("short"),
            func.sum(L.wait_s).label("wait"),
            func.max(L.wait_s).label("longest"),
            *counts,
        )
        .where(L.day.between(params.day_from, params.day_to), L.outcome == ABANDONED)
        .group_by(L.slot)
    )
    if params.queues:
        query = query.where(L.queue.in_(params.queues))
    async with db.read() as session:
        grouped = (await session.execute(query)).all()

    bands = [name for name, _, _ in WAIT_BANDS] + [name for name, _, _ in POSITION_BANDS]
    hours = [[0, 0, 0.0, 0.0] + [0] * len(bands) for _ in range(24)]
    for row in grouped:
        hour = hours[row.slot // 60]
        hour[0] += row.abandoned
        hour[1] += row.short
        hour[2] += row.wait or 0.0
        hour[3] = max(hour[3], row.longest or 0.0)
        for i, name in enumerate(bands):
            hour[4 + i] += getattr(row, name)

    def figures(h: list) -> tuple:
        abandoned, short, wait, longest = h[:4]
        return (abandoned, short, ratio(short, abandoned), ratio(wait, abandoned), longest, *h[4:])

    rows = [(f"{hour:02d}:00", *figures(h)) for hour, h in enumerate(hours)]
    overall = [sum(h[i] for h in hours) for i in range(len(hours[0]))]
    overall[3] = max(h[3] for h in hours)
    return ReportResult(
        columns=(
            dimension("hour_of_day"),
            measure("abandoned"),
            measure("short_abandons"),
            measure("short_abandon_rate", ValueType.PERCENT),
            measure("average_wait", ValueType.SECONDS),
            measure("longest_wait", ValueType.SECONDS),
            *(measure(name) for name in bands),
        ),
        rows=rows,
        chart=ChartSpec(ChartKind.STACKED_BAR, "hour_of_day", tuple(n for n, _, _ in WAIT_BANDS), TITLE_KEY),
        totals=(None, *figures(overall)),
        total_rows=len(rows),
    )
