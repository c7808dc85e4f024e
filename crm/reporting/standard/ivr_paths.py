"""IVR paths: the ways callers took through the menus, where they left, and how many were served
without an agent — one row per path and outcome, most travelled first.

A path ends at its exit node, so grouping by path and outcome also shows where callers leave;
the totals give the self-service completion rate over every session in the range.
"""

from __future__ import annotations

from datetime import tzinfo

from sqlalchemy import func, select

from crm.db import Database
from crm.reporting.results import ChartKind, ChartSpec, ReportResult, ValueType
from crm.reporting.standard.base import count_if, dimension, measure, ratio
from crm.reporting.standard.params import ReportParams
from crm.reporting.tables import IvrSessionRow as V

NAME = "ivr_paths"
TITLE_KEY = "report.title.ivr_paths"


async def run(db: Database, params: ReportParams, *, tz: tzinfo) -> ReportResult:
    sessions = func.count().label("sessions")
    query = (
        select(
            V.path,
            V.exit_node,
            V.outcome,
            sessions,
            count_if(V.self_service.is_(True)).label("self_served"),
        )
        .where(V.day.between(params.day_from, params.day_to))
        .group_by(V.path, V.exit_node, V.outcome)
        .order_by(sessions.desc(), V.path, V.outcome)
    )
    if params.queues:
        query = query.where(V.queue.in_(params.queues))
    async with db.read() as session:
        grouped = (await session.execute(query)).all()
    total = sum(r.sessions for r in grouped)
    self_served = sum(r.self_served for r in grouped)
    rows = [
        (
            r.path,
            r.exit_node,
            r.outcome,
            r.sessions,
            ratio(r.sessions, total),
            r.self_served,
            ratio(r.self_served, r.sessions),
        )
        for r in grouped
    ]
    return ReportResult(
        columns=(
            dimension("ivr_path"),
            dimension("exit_node"),
            dimension("ivr_outcome"),
            measure("sessions"),
            measure("share", ValueType.PERCENT),
            measure("self_served"),
            measure("self_service_rate", ValueType.PERCENT),
        ),
        rows=rows,
        chart=ChartSpec(ChartKind.BAR, "ivr_path", ("sessions", "self_served"), TITLE_KEY),
        totals=(None, None, None, total, ratio(total, total), self_served, ratio(self_served, total)),
        total_rows=len(rows),
    )
