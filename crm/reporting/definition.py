"""A custom report's definition: plain data, checked against the catalog before anything runs.

The format is in docs/reports-custom.md. :func:`parse_definition` turns the JSON an analyst saved
into a :class:`ReportDefinition` or raises :class:`InvalidReportDefinition` naming the exact place
(``measures[1].field``) and what is wrong with it. Names are looked up in the catalog; values are
type-checked and bounded (crm/reporting/values.py) and later bound as parameters, so no text
from a definition reaches SQL.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from crm.errors import CrmError
from crm.reporting.catalog import SOURCES, Aggregation, Field, Grain, Source
from crm.reporting.results import ValueType
from crm.reporting.values import checked_value, is_whole

MAX_DIMENSIONS = 4
MAX_MEASURES = 12
MAX_FILTERS = 20
MAX_CONDITIONS = 5  # in one measure's ``where``
MAX_LIST_VALUES = 500
MAX_LABEL = 100
MAX_RANGE_DAYS = 366
MAX_LIMIT = 100_000


class InvalidReportDefinition(CrmError):
    """A definition that cannot run; ``path`` says where (``filters[0].value``), ``reason`` why."""

    error_id = "invalid_report_definition"

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


class Operator(enum.StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"
    BETWEEN = "between"  # [low, high], both included
    CONTAINS = "contains"  # text, ignoring ASCII case


TEXT_OPERATORS = frozenset({Operator.EQ, Operator.NE, Operator.IN, Operator.NOT_IN, Operator.CONTAINS})
FLAG_OPERATORS = frozenset({Operator.EQ, Operator.NE})
NUMBER_OPERATORS = frozenset(Operator) - {Operator.CONTAINS}


@dataclass(frozen=True, slots=True)
class Dimension:
    field: str
    grain: Grain | None = None  # the time field only
    name: str = ""  # the result column's name


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: Operator
    value: Any  # a scalar, a tuple for in / not_in / between; flags as bool


@dataclass(frozen=True, slots=True)
class Measure:
    fn: Aggregation
    field: str | None = None
    where: tuple[Condition, ...] = ()  # only rows matching all of these are aggregated (rate: counted)
    label: str = ""
    name: str = ""  # the result column's name


@dataclass(frozen=True, slots=True)
class OrderBy:
    column: str
    desc: bool = False


@dataclass(frozen=True, slots=True)
class ReportDefinition:
    source: str
    date_from: date  # local days, both included
    date_to: date
    dimensions: tuple[Dimension, ...]
    measures: tuple[Measure, ...]
    filters: tuple[Condition, ...] = ()
    order: tuple[OrderBy, ...] = ()
    limit: int | None = None

    @property
    def catalog(self) -> Source:
        return SOURCES[self.source]

    def with_dates(self, date_from: date, date_to: date) -> ReportDefinition:
        data = self.to_dict()
        data["date_from"], data["date_to"] = date_from.isoformat(), date_to.isoformat()
        return parse_definition(data)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, which :func:`parse_definition` reads back to an equal definition."""

        def condition(c: Condition) -> dict[str, Any]:
            value = list(c.value) if isinstance(c.value, tuple) else c.value
            return {"field": c.field, "op": c.op.value, "value": value}

        def measure(m: Measure) -> dict[str, Any]:
            out: dict[str, Any] = {"fn": m.fn.value}
            if m.field is not None:
                out["field"] = m.field
            if m.where:
                out["where"] = [condition(c) for c in m.where]
            if m.label:
                out["label"] = m.label
            return out

        data: dict[str, Any] = {
            "source": self.source,
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "dimensions": [
                {"field": d.field, **({"grain": d.grain.value} if d.grain else {})} for d in self.dimensions
            ],
            "measures": [measure(m) for m in self.measures],
            "filters": [condition(c) for c in self.filters],
            "order": [{"by": o.column, "desc": o.desc} for o in self.order],
        }
        if self.limit is not None:
            data["limit"] = self.limit
        return data


def operators_for(field: Field) -> frozenset[Operator]:
    if field.flag:
        return FLAG_OPERATORS
    return TEXT_OPERATORS if field.type is ValueType.TEXT else NUMBER_OPERATORS


def describe_sources() -> dict[str, Any]:
    """The catalog as JSON for a report builder: per source its time field, grains and fields
    (type, whether a dimension, the aggregations and filter operators allowed)."""
    return {
        source.name: {
            "time_field": source.time_field,
            "grains": [g.value for g in source.time.grains],
            "fields": {
                f.name: {
                    "type": f.type.value,
                    "flag": f.flag,
                    "dimension": f.dimension,
                    "aggregations": sorted(a.value for a in f.aggregations),
                    "operators": sorted(o.value for o in operators_for(f)) if f.filter else [],
                }
                for f in source.fields.values()
            },
        }
        for source in SOURCES.values()
    }


_TOP_KEYS = {"source", "date_from", "date_to", "dimensions", "measures", "filters", "order", "limit"}


def parse_definition(data: Mapping[str, Any]) -> ReportDefinition:
    if not isinstance(data, Mapping):
        raise InvalidReportDefinition("", "a report definition is a JSON object")
    _no_extra_keys(data, _TOP_KEYS, "")
    source_name = data.get("source")
    if not isinstance(source_name, str) or source_name not in SOURCES:
        raise InvalidReportDefinition(
            "source", f"unknown source {source_name!r}; one of {', '.join(sorted(SOURCES))}"
        )
    source = SOURCES[source_name]
    date_from = _date(data.get("date_from"), "date_from")
    date_to = _date(data.get("date_to"), "date_to")
    if date_to < date_from:
        raise InvalidReportDefinition("date_to", f"{date_to} is before date_from {date_from}")
    if (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
        raise InvalidReportDefinition("date_to", f"the date range may span at most {MAX_RANGE_DAYS} days")

    dimensions = tuple(
        _dimension(source, item, f"dimensions[{i}]")
        for i, item in enumerate(_list(data.get("dimensions", []), "dimensions", MAX_DIMENSIONS))
    )
    names = [d.name for d in dimensions]
    if len(set(names)) != len(names):
        raise InvalidReportDefinition("dimensions", "the same dimension is listed twice")
    raw_measures = _list(data.get("measures"), "measures", MAX_MEASURES)
    if not raw_measures:
        raise InvalidReportDefinition("measures", 'at least one measure is needed (e.g. {"fn": "count"})')
    measures: list[Measure] = []
    for i, item in enumerate(raw_measures):
        measure = _measure(source, item, f"measures[{i}]")
        base, n = measure.name, 2
        while measure.name in names:
            measure = _replace_name(measure, f"{base}_{n}")
            n += 1
        names.append(measure.name)
        measures.append(measure)
    filters = tuple(
        _condition(source, item, f"filters[{i}]")
        for i, item in enumerate(_list(data.get("filters", []), "filters", MAX_FILTERS))
    )
    order = tuple(
        _order(item, names, f"order[{i}]")
        for i, item in enumerate(_list(data.get("order", []), "order", len(names)))
    )
    limit = data.get("limit")
    if limit is not None and (not is_whole(limit) or not 1 <= limit <= MAX_LIMIT):
        raise InvalidReportDefinition("limit", f"a whole number from 1 to {MAX_LIMIT}, not {limit!r}")
    return ReportDefinition(
        source.name, date_from, date_to, dimensions, tuple(measures), filters, order, limit
    )


def _replace_name(m: Measure, name: str) -> Measure:
    return Measure(m.fn, m.field, m.where, m.label, name)


def _no_extra_keys(data: Mapping[str, Any], allowed: set[str], path: str) -> None:
    extra = sorted(str(k) for k in data if k not in allowed)
    if extra:
        where = f"{path}.{extra[0]}" if path else extra[0]
        raise InvalidReportDefinition(where, f"unknown key; allowed: {', '.join(sorted(allowed))}")


def _list(value: Any, path: str, most: int) -> Sequence[Any]:
    if not isinstance(value, list):
        raise InvalidReportDefinition(path, "a list is expected")
    if len(value) > most:
        raise InvalidReportDefinition(path, f"at most {most} allowed, got {len(value)}")
    return value


def _object(value: Any, path: str, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidReportDefinition(path, "an object is expected")
    _no_extra_keys(value, allowed, path)
    return value


def _date(value: Any, path: str) -> date:
    if not isinstance(value, str):
        raise InvalidReportDefinition(path, "a date 'YYYY-MM-DD' is required")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidReportDefinition(path, f"not a date 'YYYY-MM-DD': {value[:40]!r}") from None


def _field(source: Source, name: Any, path: str) -> Field:
    if not isinstance(name, str) or name not in source.fields:
        shown = name[:40] if isinstance(name, str) else name
        raise InvalidReportDefinition(
            path, f"source {source.name} has no field {shown!r}; fields: {', '.join(source.fields)}"
        )
    return source.fields[name]


def _dimension(source: Source, item: Any, path: str) -> Dimension:
    if isinstance(item, str):
        item = {"field": item}
    item = _object(item, path, {"field", "grain"})
    name = item.get("field")
    grain_text = item.get("grain")
    if name == source.time_field:
        grain_text = grain_text or Grain.DAY.value
        if grain_text not in {g.value for g in source.time.grains}:
            grains = ", ".join(g.value for g in source.time.grains)
            raise InvalidReportDefinition(f"{path}.grain", f"unknown grain {grain_text!r}; one of {grains}")
        grain = Grain(grain_text)
        return Dimension(name, grain, name if grain is Grain.DAY else f"{name}_{grain.value}")
    field = _field(source, name, f"{path}.field")
    if not field.dimension:
        raise InvalidReportDefinition(f"{path}.field", f"{field.name} cannot be a dimension")
    if grain_text is not None:
        raise InvalidReportDefinition(f"{path}.grain", f"only the time field {source.time_field} has a grain")
    return Dimension(field.name, None, field.name)


def _measure(source: Source, item: Any, path: str) -> Measure:
    item = _object(item, path, {"fn", "field", "where", "label"})
    fn_text = item.get("fn")
    if fn_text not in {a.value for a in Aggregation}:
        raise InvalidReportDefinition(
            f"{path}.fn", f"unknown aggregation {fn_text!r}; one of {', '.join(a.value for a in Aggregation)}"
        )
    fn = Aggregation(fn_text)
    where = tuple(
        _condition(source, c, f"{path}.where[{i}]")
        for i, c in enumerate(_list(item.get("where", []), f"{path}.where", MAX_CONDITIONS))
    )
    label = item.get("label", "")
    if not isinstance(label, str) or len(label) > MAX_LABEL or any(ord(ch) < 32 for ch in label):
        raise InvalidReportDefinition(f"{path}.label", f"a label is text of at most {MAX_LABEL} characters")
    field_name = item.get("field")
    if fn in (Aggregation.COUNT, Aggregation.RATE):
        if field_name is not None:
            raise InvalidReportDefinition(f"{path}.field", f"{fn.value} counts rows and takes no field")
        if fn is Aggregation.RATE and not where:
            raise InvalidReportDefinition(
                f"{path}.where", "rate needs a where: the condition whose share of the rows it gives"
            )
        name = fn.value
    else:
        field = _field(source, field_name, f"{path}.field")
        if fn not in field.aggregations:
            allowed = ", ".join(sorted(a.value for a in field.aggregations)) or "none"
            raise InvalidReportDefinition(
                f"{path}.fn",
                f"{fn.value} is not allowed on {field.name} ({field.type.value}); allowed: {allowed}",
            )
        name = f"{fn.value}_{field.name}"
    if where:
        name += "_where"
    return Measure(fn, field_name, where, label, name)


def _condition(source: Source, item: Any, path: str) -> Condition:
    item = _object(item, path, {"field", "op", "value"})
    field = _field(source, item.get("field"), f"{path}.field")
    if not field.filter:
        raise InvalidReportDefinition(f"{path}.field", f"{field.name} cannot be filtered on")
    op_text = item.get("op")
    allowed = (
        FLAG_OPERATORS if field.flag else TEXT_OPERATORS if field.type is ValueType.TEXT else NUMBER_OPERATORS
    )
    if op_text not in {o.value for o in allowed}:
        raise InvalidReportDefinition(
            f"{path}.op",
            f"operator {str(op_text)[:20]!r} does not apply to {field.name}; one of "
            + ", ".join(sorted(o.value for o in allowed)),
        )
    op = Operator(op_text)
    if "value" not in item:
        raise InvalidReportDefinition(f"{path}.value", "a value is required")
    raw = item["value"]
    vpath = f"{path}.value"
    if op in (Operator.IN, Operator.NOT_IN):
        values = _list(raw, vpath, MAX_LIST_VALUES)
        if not values:
            raise InvalidReportDefinition(vpath, f"{op.value} needs at least one value")
        value: Any = tuple(_scalar(field, v, f"{vpath}[{i}]") for i, v in enumerate(values))
    elif op is Operator.BETWEEN:
        if not isinstance(raw, list) or len(raw) != 2:
            raise InvalidReportDefinition(vpath, "between takes [low, high]")
        value = (_scalar(field, raw[0], f"{vpath}[0]"), _scalar(field, raw[1], f"{vpath}[1]"))
        if value[0] > value[1]:
            raise InvalidReportDefinition(vpath, "between's low is above its high")
    else:
        value = _scalar(field, raw, vpath)
        if op is Operator.CONTAINS and not value:
            raise InvalidReportDefinition(vpath, "contains needs some text")
    return Condition(field.name, op, value)


def _scalar(field: Field, value: Any, path: str) -> Any:
    try:
        return checked_value(field, value)
    except ValueError as exc:
        raise InvalidReportDefinition(path, str(exc)) from None


def _order(item: Any, names: list[str], path: str) -> OrderBy:
    item = _object(item, path, {"by", "desc"})
    by = item.get("by")
    if by not in names:
        raise InvalidReportDefinition(f"{path}.by", f"not a column of this report; one of {', '.join(names)}")
    desc = item.get("desc", False)
    if not isinstance(desc, bool):
        raise InvalidReportDefinition(f"{path}.desc", "true or false")
    return OrderBy(by, desc)
