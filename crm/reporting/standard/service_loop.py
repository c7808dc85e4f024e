"""Service closed loop (服务闭环): tickets opened in the range, by kind and assignee — how many
were closed, closed within 3 working days of opening, overdue, and the customers' satisfaction.

"Within 3 working days" is measured on the mainland working-day calendar (crm.sla), whatever
SLA a site configured for ``due_at``: the deadline depends only on the local day a ticket was
opened, so it is worked out once per day of the range and handed to the database as one CASE.
"Overdue" is against each ticket's own ``due_at``. See docs/reports-standard.md.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo

from sqlalchemy import and_, case, func, literal, or_, select

from crm.db import Database, utcnow
from crm.models import Ticket, UtcDateTime
from crm.reporting.results import ChartKind, ChartSpec, ReportResult, ValueType
from crm.reporting.standard.base import count_if, dimension, measure, ratio
from crm.reporting.standard.params import ReportParams
from crm.sla import ChinaWorkCalendar, WorkCalendar, due_date

NAME = "service_loop"
TITLE_KEY = "report.title.service_loop"
CLOSE_WITHIN_WORKING_DAYS = 3


async def run(db: Database, params: ReportParams, *, tz: tzinfo) -> ReportResult:
    return await service_loop(db, params, tz=tz, now=utcnow(), calendar=ChinaWorkCalendar())


async def service_loop(
    db: Database, params: ReportParams, *, tz: tzinfo, now: datetime, calendar: WorkCalendar
) -> ReportResult:
    start, end = params.utc_bounds(tz)
    closed = Ticket.closed_at.is_not(None)
    overdue = or_(
        and_(Ticket.closed_at.is_(None), Ticket.due_at < now),
        Ticket.closed_at > Ticket.due_at,
    )
    query = (
        select(
            Ticket.kind,
            Ticket.assignee,
            func.count().label("opened"),
            count_if(closed).label("closed"),
            count_if(Ticket.closed_at <= _deadlines(params, tz, calendar)).label("closed_in_time"),
            count_if(overdue).label("overdue"),
            func.sum(Ticket.satisfaction).label("satisfaction_sum"),
            func.count(Ticket.satisfaction).label("evaluated"),
        )
        .where(Ticket.opened_at >= start, Ticket.opened_at < end)
        .group_by(Ticket.kind, Ticket.assignee)
    )
    if params.agents:
        query = query.where(Ticket.assignee.in_(params.agents))
    async with db.read() as session:
        grouped = (await session.execute(query)).all()

    def figures(opened: int, closed_: int, in_time: int, late: int, score: float, evaluated: int) -> tuple:
        return (
            opened,
            closed_,
            in_time,
            ratio(in_time, opened),
            late,
            ratio(late, opened),
            ratio(score, evaluated),
            evaluated,
        )

    # No assignee (NULL) and an empty one are the same row.
    groups: dict[tuple[str, str], list[float]] = {}
    for r in grouped:
        sums = groups.setdefault((r.kind, r.assignee or ""), [0] * len(_SUMMED))
        for i, name in enumerate(_SUMMED):
            sums[i] += getattr(r, name) or 0
    rows = [(kind, assignee, *figures(*sums)) for (kind, assignee), sums in sorted(groups.items())]
    overall = [sum(s[i] for s in groups.values()) for i in range(len(_SUMMED))]
    return ReportResult(
        columns=(
            dimension("ticket_kind"),
            dimension("assignee"),
            measure("opened"),
            measure("closed"),
            measure("closed_in_3_working_days"),
            measure("closed_in_3_working_days_rate", ValueType.PERCENT),
            measure("overdue"),
            measure("overdue_rate", ValueType.PERCENT),
            measure("satisfaction", ValueType.FLOAT),
            measure("evaluated"),
        ),
        rows=rows,
        chart=ChartSpec(ChartKind.BAR, "ticket_kind", ("opened", "closed_in_3_working_days"), TITLE_KEY),
        totals=(None, None, *figures(*overall)),
        total_rows=len(rows),
    )


_SUMMED = ("opened", "closed", "closed_in_time", "overdue", "satisfaction_sum", "evaluated")


def _deadlines(params: ReportParams, tz: tzinfo, calendar: WorkCalendar) -> object:
    """Per local opening day of the range, the end of the 3rd working day after it."""
    whens = []
    day = params.date_from
    while day <= params.date_to:
        day_start = datetime.combine(day, time(0, 0), tzinfo=tz)
        next_start = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz)
        deadline = due_date(day_start, CLOSE_WITHIN_WORKING_DAYS, calendar, tz).at
        whens.append((Ticket.opened_at < next_start, literal(deadline, UtcDateTime())))
        day += timedelta(days=1)
    return case(*whens, else_=None)
