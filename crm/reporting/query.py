"""Running a custom report: one page of it (with the row count and totals), or every row streamed.

Built with SQLAlchemy Core from a checked :class:`ReportDefinition`; the aggregate navigator
(:mod:`crm.reporting.navigator`) reads a summary table instead of the raw rows when it can. Pages
are ordered by the requested order and then by every dimension, so paging is stable. Floating
figures are rounded to 6 decimals, so the summary and the raw rows print the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, literal, select
from sqlalchemy.sql.expression import ColumnElement

from crm.db import Database
from crm.reporting.definition import InvalidReportDefinition, ReportDefinition
from crm.reporting.navigator import summary_plan
from crm.reporting.plans import Plan, raw_plan, result_columns
from crm.reporting.results import ChartKind, ChartSpec, ReportResult, ResultColumn, ValueType

MAX_PAGE_SIZE = 10_000
STREAM_BATCH = 2_000
SUMMARY_NOTE = "report.note.summary"


def plan_for(definition: ReportDefinition, *, tz: tzinfo, dialect: str, use_summaries: bool = True) -> Plan:
    if use_summaries:
        plan = summary_plan(definition, tz=tz, dialect=dialect)
        if plan is not None:
            return plan
    return raw_plan(definition, tz=tz, dialect=dialect)


@dataclass(frozen=True, slots=True)
class _Statements:
    grouped: Select[Any]  # one row per group, columns d0…, m0…
    totals: Select[Any]  # the measures over every row
    order: tuple[tuple[str, bool], ...]  # (column label, descending), dimensions last

    def order_on(self, columns: Any) -> list[ColumnElement[Any]]:
        return [
            columns[name].desc().nulls_last() if desc else columns[name].asc().nulls_first()
            for name, desc in self.order
        ]


def _statements(definition: ReportDefinition, plan: Plan) -> _Statements:
    inner_columns: list[Any] = [d.label(f"d{i}") for i, d in enumerate(plan.dimensions)]
    for i, m in enumerate(plan.measures):
        inner_columns += [e.label(f"m{i}_{j}") for j, e in enumerate(m.inner)]
    if not inner_columns:
        inner_columns = [literal(1).label("one")]
    rows = select(*inner_columns).select_from(plan.from_).where(*plan.where).subquery("report_rows")
    dims = [rows.c[f"d{i}"] for i in range(len(plan.dimensions))]
    aggregates = [
        m.outer([rows.c[f"m{i}_{j}"] for j in range(len(m.inner))]).label(f"m{i}")
        for i, m in enumerate(plan.measures)
    ]
    dim_labels = [d.label(f"d{i}") for i, d in enumerate(dims)]
    grouped = select(*dim_labels, *aggregates).select_from(rows).group_by(*dims)
    by_name = {d.name: dim_labels[i] for i, d in enumerate(definition.dimensions)}
    by_name |= {m.name: aggregates[i] for i, m in enumerate(definition.measures)}
    order = [(by_name[o.column].name, o.desc) for o in definition.order]
    used = {o.column for o in definition.order}
    order += [(f"d{i}", False) for i, d in enumerate(definition.dimensions) if d.name not in used]
    return _Statements(grouped, select(*aggregates).select_from(rows), tuple(order))


def _ordered(s: _Statements, definition: ReportDefinition) -> Select[Any]:
    labels = {c.name: c for c in s.grouped.selected_columns}
    statement = s.grouped.order_by(*s.order_on(labels))
    return statement.limit(definition.limit) if definition.limit is not None else statement


def _convert(columns: Sequence[ResultColumn], row: Sequence[Any]) -> tuple[Any, ...]:
    out = []
    for column, value in zip(columns, row, strict=True):
        if value is None:
            out.append(None)
        elif column.type is ValueType.INT:
            out.append(int(value))
        elif column.type in (ValueType.FLOAT, ValueType.SECONDS, ValueType.PERCENT):
            out.append(round(float(value), 6))
        elif isinstance(value, Decimal):
            out.append(str(value))
        else:
            out.append(value if isinstance(value, str) else str(value))
    return tuple(out)


def _chart(definition: ReportDefinition, columns: Sequence[ResultColumn]) -> ChartSpec | None:
    if not definition.dimensions:
        return None
    first = definition.dimensions[0]
    measures = tuple(c.name for c in columns if c.role == "measure")[:4]
    kind = ChartKind.LINE if first.grain is not None else ChartKind.BAR
    return ChartSpec(kind, first.name, measures)


async def run_report(
    db: Database,
    definition: ReportDefinition,
    *,
    tz: tzinfo,
    page: int = 1,
    page_size: int = 100,
    use_summaries: bool = True,
) -> ReportResult:
    """One page of the report, with ``total_rows`` (the whole result) and totals over all rows
    the filters keep (before ``limit``)."""
    if page < 1:
        raise InvalidReportDefinition("page", f"pages start at 1, not {page}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidReportDefinition("page_size", f"from 1 to {MAX_PAGE_SIZE}, not {page_size}")
    dialect = "sqlite" if db.is_sqlite else "postgresql"
    plan = plan_for(definition, tz=tz, dialect=dialect, use_summaries=use_summaries)
    statements = _statements(definition, plan)
    columns = result_columns(definition)
    ordered = _ordered(statements, definition)
    offset = (page - 1) * page_size
    if definition.limit is not None:
        top = ordered.subquery("top_rows")
        page_query = select(top).order_by(*statements.order_on(top.c)).limit(page_size).offset(offset)
    else:
        page_query = ordered.limit(page_size).offset(offset)
    count_query = select(func.count()).select_from(ordered.subquery("counted"))
    async with db.read() as session:
        total_rows = int((await session.execute(count_query)).scalar_one())
        rows = (await session.execute(page_query)).all()
        totals_row = (await session.execute(statements.totals)).one()
    n_dims = len(definition.dimensions)
    totals = (None,) * n_dims + _convert(columns[n_dims:], totals_row)
    return ReportResult(
        columns=columns,
        rows=[_convert(columns, r) for r in rows],
        chart=_chart(definition, columns),
        totals=totals,
        total_rows=total_rows,
        notes=(SUMMARY_NOTE,) if plan.from_summary else (),
    )


async def stream_rows(
    db: Database, definition: ReportDefinition, *, tz: tzinfo, use_summaries: bool = True
) -> AsyncIterator[tuple[Any, ...]]:
    """Every row of the report in order, fetched in batches from a server-side cursor."""
    dialect = "sqlite" if db.is_sqlite else "postgresql"
    plan = plan_for(definition, tz=tz, dialect=dialect, use_summaries=use_summaries)
    statement = _ordered(_statements(definition, plan), definition)
    columns = result_columns(definition)
    async with db.read() as session:
        result = await session.stream(statement.execution_options(yield_per=STREAM_BATCH))
        async for partition in result.partitions(STREAM_BATCH):
            for row in partition:
                yield _convert(columns, row)
