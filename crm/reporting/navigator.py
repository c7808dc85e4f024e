"""The aggregate navigator: answer a custom report from a summary table when the summary holds it.

``contact_day_counts`` answers contacts reports whose dimensions and filters are among its key
columns, at day grain or coarser, with count and rate measures (a SUM of ``contacts``).
``queue_slot_stats`` answers calls reports by queue and time (any grain: it is per 15 minutes)
whose measures it keeps: counts of all / answered / abandoned / answered-within-SL / transferred
legs, sums of talk, hold and wrap time and of answered / abandoned waits, the longest wait, and
averages and rates made of those (sum / count). Anything else reads the raw rows.

The summaries are kept in the same transaction as the rows they count (crm/reporting/facts.py),
so both ways give the same figures; tests run definitions both ways and compare.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from sqlalchemy import case, func
from sqlalchemy.sql.expression import ColumnElement

from crm.reporting.catalog import Aggregation, Grain
from crm.reporting.definition import Condition, Measure, Operator, ReportDefinition
from crm.reporting.localtime import day_bucket
from crm.reporting.plans import Compiled, Plan, all_of, condition, ratio
from crm.reporting.tables import ContactDayCountRow, QueueSlotStatsRow

_counts = ContactDayCountRow.__table__
_slots = QueueSlotStatsRow.__table__

_CONTACT_COLUMNS: Mapping[str, ColumnElement[Any]] = {
    name: _counts.c[name] for name in ("queue", "channel", "purpose", "agent", "campaign_id", "disposition")
}

# A measure's ``where``, as a set of (field, op, value), mapped to the slot column counting it.
Where = frozenset[tuple[str, str, Any]]
_ANSWERED: Where = frozenset({("outcome", "eq", "answered")})
_ABANDONED: Where = frozenset({("outcome", "eq", "abandoned")})
_SLOT_COUNTS: Mapping[Where, str] = {
    frozenset(): "offered",
    _ANSWERED: "answered",
    _ABANDONED: "abandoned",
    _ANSWERED | {("within_sl", "eq", True)}: "answered_within_sl",
    frozenset({("transferred", "eq", True)}): "transferred",
}
_SLOT_SUMS: Mapping[tuple[str, Where], str] = {
    ("talk_s", frozenset()): "talk_s",
    ("hold_s", frozenset()): "hold_s",
    ("wrap_s", frozenset()): "wrap_s",
    ("wait_s", _ANSWERED): "wait_answered_s",
    ("wait_s", _ABANDONED): "wait_abandoned_s",
    ("transferred", frozenset()): "transferred",
}


def summary_plan(definition: ReportDefinition, *, tz: tzinfo, dialect: str) -> Plan | None:
    """A plan reading a summary, or None when the summary cannot answer this definition."""
    if definition.source == "contacts":
        return _contacts_plan(definition, dialect)
    if definition.source == "calls":
        return _calls_plan(definition, dialect)
    return None


def _dimensions(
    definition: ReportDefinition,
    columns: Mapping[str, ColumnElement[Any]],
    slot: Any,
    dialect: str,
    table: Any,
) -> tuple[ColumnElement[Any], ...] | None:
    dims = []
    for d in definition.dimensions:
        if d.grain is not None:
            if d.grain is Grain.HOUR and slot is None:
                return None
            dims.append(day_bucket(table.c.day, slot, d.grain, dialect=dialect))
        elif d.field in columns:
            dims.append(columns[d.field])
        else:
            return None
    return tuple(dims)


def _where(
    definition: ReportDefinition, columns: Mapping[str, ColumnElement[Any]], table: Any
) -> tuple[Any, ...]:
    return (
        table.c.day >= definition.date_from.isoformat(),
        table.c.day <= definition.date_to.isoformat(),
        *(condition(columns[c.field], c) for c in definition.filters),
    )


def _contacts_plan(definition: ReportDefinition, dialect: str) -> Plan | None:
    if any(c.field not in _CONTACT_COLUMNS for c in definition.filters):
        return None
    dims = _dimensions(definition, _CONTACT_COLUMNS, None, dialect, _counts)
    if dims is None:
        return None
    weight = _counts.c.contacts
    measures = []
    for m in definition.measures:
        if m.fn not in (Aggregation.COUNT, Aggregation.RATE):
            return None
        if any(c.field not in _CONTACT_COLUMNS for c in m.where):
            return None
        if not m.where:
            measures.append(Compiled((weight,), lambda c: func.sum(c[0])))
            continue
        counted = case((all_of(_CONTACT_COLUMNS, m.where), weight), else_=0)
        if m.fn is Aggregation.COUNT:
            measures.append(Compiled((counted,), lambda c: func.sum(c[0])))
        else:
            measures.append(Compiled((counted, weight), lambda c: ratio(func.sum(c[0]), func.sum(c[1]))))
    return Plan(_counts, _where(definition, _CONTACT_COLUMNS, _counts), dims, tuple(measures), True)


def _key(conditions: tuple[Condition, ...]) -> Where | None:
    if any(c.op not in (Operator.EQ,) for c in conditions):
        return None
    return frozenset((c.field, c.op.value, c.value) for c in conditions)


def _calls_plan(definition: ReportDefinition, dialect: str) -> Plan | None:
    columns = {"queue": _slots.c.queue}
    if any(c.field not in columns for c in definition.filters):
        return None
    dims = _dimensions(definition, columns, _slots.c.slot, dialect, _slots)
    if dims is None:
        return None
    measures = []
    for m in definition.measures:
        compiled = _slot_measure(m)
        if compiled is None:
            return None
        measures.append(compiled)
    return Plan(_slots, _where(definition, columns, _slots), dims, tuple(measures), True)


def _slot_measure(m: Measure) -> Compiled | None:
    where = _key(m.where)
    if where is None:
        return None
    count = _SLOT_COUNTS.get(where)
    match m.fn:
        case Aggregation.COUNT if count:
            return Compiled((_slots.c[count],), lambda c: func.sum(c[0]))
        case Aggregation.RATE if count:
            return Compiled(
                (_slots.c[count], _slots.c.offered), lambda c: ratio(func.sum(c[0]), func.sum(c[1]))
            )
        case Aggregation.SUM if m.field and (m.field, where) in _SLOT_SUMS:
            return Compiled((_slots.c[_SLOT_SUMS[m.field, where]],), lambda c: func.sum(c[0]))
        case Aggregation.AVG if count and m.field and (m.field, where) in _SLOT_SUMS:
            return Compiled(
                (_slots.c[_SLOT_SUMS[m.field, where]], _slots.c[count]),
                lambda c: ratio(func.sum(c[0]), func.sum(c[1])),
            )
        case Aggregation.MAX if m.field == "wait_s" and not where:
            return Compiled((_slots.c.max_wait_s,), lambda c: func.max(c[0]))
    return None
