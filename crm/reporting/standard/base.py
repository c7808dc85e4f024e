"""What every standard report shares: its registry entry, column helpers and safe ratios."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func

from crm.reporting.facts import LegOutcome
from crm.reporting.results import ColumnRole, ReportResult, ResultColumn, ValueType
from crm.reporting.standard.params import Grain

Runner = Callable[..., Awaitable[ReportResult]]

ANSWERED = LegOutcome.ANSWERED.value
ABANDONED = LegOutcome.ABANDONED.value


@dataclass(frozen=True, slots=True)
class StandardReport:
    name: str
    title_key: str
    run: Runner  # async (db, params, *, tz) -> ReportResult
    grains: tuple[Grain, ...] = (Grain.DAY,)  # the grains the report honours; others are ignored
    filters: frozenset[str] = frozenset()  # which of queues / agents / campaign_ids it honours


def dimension(name: str, type_: ValueType = ValueType.TEXT, *, label: str = "") -> ResultColumn:
    return ResultColumn(name, type_, ColumnRole.DIMENSION, "" if label else f"report.col.{name}", label)


def measure(name: str, type_: ValueType = ValueType.INT, *, key: str = "", label: str = "") -> ResultColumn:
    label_key = "" if label else (key or f"report.col.{name}")
    return ResultColumn(name, type_, ColumnRole.MEASURE, label_key, label)


def ratio(part: float, whole: float) -> float | None:
    """part / whole, or None (shown empty) when there is nothing to divide by."""
    return part / whole if whole else None


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
