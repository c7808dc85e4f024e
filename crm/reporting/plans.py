"""How a custom report becomes SQL: a :class:`Plan` (rows to read, dimension expressions, measures).

A plan reads its rows in an inner SELECT (dimensions as ``d0…``, measure inputs as ``m0_0…``) and
aggregates them in an outer one grouped by the dimensions. The same shape serves the raw tables
(:func:`raw_plan`) and the summaries (:mod:`crm.reporting.navigator`): only the inner part and
the aggregate of each measure differ, so both give the same columns in the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from sqlalchemy import Float, and_, case, cast, func, null
from sqlalchemy.sql.expression import ColumnElement, FromClause

from crm.reporting.catalog import GRAIN_TYPES, Aggregation, Field
from crm.reporting.definition import Condition, Measure, Operator, ReportDefinition
from crm.reporting.localtime import bucket, date_condition
from crm.reporting.results import ColumnRole, ResultColumn, ValueType

Outer = Callable[[Sequence[ColumnElement[Any]]], ColumnElement[Any]]


@dataclass(frozen=True, slots=True)
class Compiled:
    """A measure: the inputs read per row, and their aggregate over a group."""

    inner: tuple[ColumnElement[Any], ...]
    outer: Outer


@dataclass(frozen=True, slots=True)
class Plan:
    from_: FromClause
    where: tuple[ColumnElement[bool], ...]
    dimensions: tuple[ColumnElement[Any], ...]
    measures: tuple[Compiled, ...]
    from_summary: bool = False


def condition(column: ColumnElement[Any], c: Condition) -> ColumnElement[bool]:
    value = c.value
    if isinstance(value, bool):
        value = int(value)  # flags are read as 1 / 0
    match c.op:
        case Operator.EQ:
            return column == value
        case Operator.NE:
            return column != value
        case Operator.IN:
            return column.in_([int(v) if isinstance(v, bool) else v for v in value])
        case Operator.NOT_IN:
            return column.not_in([int(v) if isinstance(v, bool) else v for v in value])
        case Operator.GT:
            return column > value
        case Operator.GE:
            return column >= value
        case Operator.LT:
            return column < value
        case Operator.LE:
            return column <= value
        case Operator.BETWEEN:
            return column.between(value[0], value[1])
        case Operator.CONTAINS:
            return func.lower(column).contains(value.lower(), autoescape=True)
    raise AssertionError(c.op)


def all_of(columns: Mapping[str, ColumnElement[Any]], conditions: Sequence[Condition]) -> ColumnElement[bool]:
    return and_(*(condition(columns[c.field], c) for c in conditions))


def ratio(numerator: ColumnElement[Any], denominator: ColumnElement[Any]) -> ColumnElement[Any]:
    return cast(numerator, Float) / func.nullif(denominator, 0)


def _raw_measure(definition: ReportDefinition, measure: Measure) -> Compiled:
    fields = definition.catalog.fields
    columns = {name: f.column for name, f in fields.items()}
    cond = all_of(columns, measure.where) if measure.where else None
    fn = measure.fn
    if fn is Aggregation.COUNT:
        if cond is None:
            return Compiled((), lambda _: func.count())
        return Compiled((case((cond, 1), else_=0),), lambda c: func.sum(c[0]))
    if fn is Aggregation.RATE:
        assert cond is not None
        return Compiled((case((cond, 1), else_=0),), lambda c: ratio(func.sum(c[0]), func.count()))
    assert measure.field is not None
    value = fields[measure.field].column
    if cond is not None:
        value = case((cond, value), else_=0 if fn is Aggregation.SUM else null())
    aggregate: Outer = {
        Aggregation.SUM: lambda c: func.sum(c[0]),
        Aggregation.AVG: lambda c: func.avg(c[0]),
        Aggregation.MIN: lambda c: func.min(c[0]),
        Aggregation.MAX: lambda c: func.max(c[0]),
        Aggregation.COUNT_DISTINCT: lambda c: func.count(c[0].distinct()),
    }[fn]
    return Compiled((value,), aggregate)


def raw_plan(definition: ReportDefinition, *, tz: tzinfo, dialect: str) -> Plan:
    source = definition.catalog
    columns = {name: f.column for name, f in source.fields.items()}
    where = [date_condition(source.time, definition.date_from, definition.date_to, tz)]
    where += [condition(columns[c.field], c) for c in definition.filters]
    dims = tuple(
        bucket(
            source.time,
            d.grain,
            tz=tz,
            date_from=definition.date_from,
            date_to=definition.date_to,
            dialect=dialect,
        )
        if d.grain is not None
        else columns[d.field]
        for d in definition.dimensions
    )
    measures = tuple(_raw_measure(definition, m) for m in definition.measures)
    return Plan(source.from_, tuple(where), dims, measures)


def measure_type(field: Field | None, fn: Aggregation) -> ValueType:
    if fn in (Aggregation.COUNT, Aggregation.COUNT_DISTINCT):
        return ValueType.INT
    if fn is Aggregation.RATE:
        return ValueType.PERCENT
    assert field is not None
    if fn is Aggregation.AVG:
        if field.flag:
            return ValueType.PERCENT
        return ValueType.FLOAT if field.type is ValueType.INT else field.type
    return field.type


def result_columns(definition: ReportDefinition) -> tuple[ResultColumn, ...]:
    source = definition.catalog
    columns = [
        ResultColumn(
            d.name,
            GRAIN_TYPES[d.grain] if d.grain is not None else source.fields[d.field].type,
            ColumnRole.DIMENSION,
            label=d.name,
        )
        for d in definition.dimensions
    ]
    for m in definition.measures:
        field = source.fields[m.field] if m.field is not None else None
        columns.append(
            ResultColumn(m.name, measure_type(field, m.fn), ColumnRole.MEASURE, label=m.label or m.name)
        )
    return tuple(columns)
