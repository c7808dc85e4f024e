"""A report result as the page shows it: labelled columns, formatted cells, a totals row, an SVG chart.

Pure functions of a :class:`ReportResult` and the viewer's message catalog, shared by the standard
report pages and the custom builder's preview, so a figure looks the same wherever it appears.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent_api.pages.charts import Series, bar_chart, line_chart, plain_number
from crm.reporting.results import ChartKind, ColumnRole, ReportResult, ResultColumn, ValueType

Translate = Callable[[str], str]
MAX_SPLIT_SERIES = 8  # a second dimension drawn as series: the largest ones, the rest as "other"
NUMERIC = frozenset({ValueType.INT, ValueType.FLOAT, ValueType.SECONDS, ValueType.PERCENT})


def seconds_text(value: float) -> str:
    """A duration as m:ss, or h:mm:ss from an hour on."""
    total = math.floor(abs(value) + 0.5)  # half up: 12.5 s shows as 0:13
    sign = "-" if value < 0 and total else ""
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{seconds:02d}"
    return f"{sign}{minutes}:{seconds:02d}"


def format_value(value: Any, kind: ValueType) -> str:
    if value is None:
        return ""
    if kind is ValueType.SECONDS:
        return seconds_text(float(value))
    if kind is ValueType.PERCENT:
        return f"{float(value) * 100:.1f}%"
    if kind is ValueType.INT and isinstance(value, int | float):
        return f"{round(value):,}"
    if kind is ValueType.FLOAT and isinstance(value, int | float):
        return f"{float(value):,.2f}"
    if kind is ValueType.DATETIME and isinstance(value, str):
        return value.replace("T", " ")
    return str(value)


def display(value: Any, column: ResultColumn, translate: Translate) -> str:
    """A cell as shown: formatted, and a known code of a dimension (complaint, call_in) in words."""
    text = format_value(value, column.type)
    if column.type is ValueType.TEXT and column.role is ColumnRole.DIMENSION and text:
        key = f"report.value.{text}"
        shown = translate(key)
        if shown != key:
            return shown
    return text


def column_label(column: ResultColumn, translate: Translate) -> str:
    """The catalog's text for the column; a key missing from the catalog shows the column's name."""
    if column.label_key:
        text = translate(column.label_key)
        return column.name.replace("_", " ") if text == column.label_key else text
    return column.label or column.name


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    numeric: bool
    raw: Any  # the unformatted value, for data-* attributes and tests


@dataclass(frozen=True, slots=True)
class TableView:
    headers: tuple[tuple[str, str, bool], ...]  # (name, label, numeric)
    rows: tuple[tuple[Cell, ...], ...]
    totals: tuple[Cell, ...] | None


def table_view(result: ReportResult, translate: Translate) -> TableView:
    def cells(row: Sequence[Any]) -> tuple[Cell, ...]:
        return tuple(
            Cell(display(v, c, translate), c.type in NUMERIC, v)
            for v, c in zip(row, result.columns, strict=False)
        )

    totals = None
    if result.totals is not None:
        totals = cells(result.totals)
        if totals and not totals[0].text:
            totals = (Cell(translate("reports.total"), False, None), *totals[1:])
    return TableView(
        headers=tuple((c.name, column_label(c, translate), c.type in NUMERIC) for c in result.columns),
        rows=tuple(cells(row) for row in result.rows),
        totals=totals,
    )


def _axis_format(kind: ValueType) -> Callable[[float], str]:
    if kind is ValueType.SECONDS:
        return seconds_text
    if kind is ValueType.PERCENT:
        return lambda v: f"{v * 100:g}%"
    return plain_number


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def chart_svg(result: ReportResult, translate: Translate, title: str) -> str:
    """The result's chart; when the x column repeats (day × queue), the second dimension becomes the
    series of the first measure, so each category is one stack instead of overdrawn bars."""
    spec = result.chart
    empty = translate("reports.no_data")
    if spec is None or not result.rows:
        return bar_chart(title, [], [], empty=empty)
    try:
        x = result.column(spec.x)
        measures = [result.column(name) for name in spec.series]
    except KeyError:
        return bar_chart(title, [], [], empty=empty)
    if not measures:
        return bar_chart(title, [], [], empty=empty)
    kind = result.columns[measures[0]].type
    measures = [m for m in measures if result.columns[m].type is kind]  # one value axis, one unit
    fmt = _axis_format(kind)
    x_column = result.columns[x]
    categories: list[str] = []
    for row in result.rows:
        name = display(row[x], x_column, translate)
        if name not in categories:
            categories.append(name)
    split = _splitting_dimension(result, x) if len(categories) < len(result.rows) else None
    if split is not None:
        series = _split_series(result, x, split, measures[0], categories, translate)
        stacked = spec.kind is not ChartKind.LINE and kind not in (ValueType.PERCENT, ValueType.SECONDS)
        title = f"{title} · {column_label(result.columns[measures[0]], translate)}"
    else:
        index = {name: i for i, name in enumerate(categories)}
        series = []
        for m in measures:
            values: list[float | None] = [None] * len(categories)
            for row in result.rows:
                slot = index[display(row[x], x_column, translate)]
                if values[slot] is None:
                    values[slot] = _number(row[m])
            series.append(Series(column_label(result.columns[m], translate), tuple(values)))
        stacked = spec.kind is ChartKind.STACKED_BAR
    common = _common_day(categories)
    if common:
        categories = [name[len(common) :] for name in categories]
        title = f"{title} · {common.strip()}"
    axis = {
        "fmt": fmt,
        "whole": kind is ValueType.INT,
        "durations": kind is ValueType.SECONDS,
        "empty": empty,
    }
    if spec.kind is ChartKind.LINE:
        return line_chart(title, categories, series, **axis)  # type: ignore[arg-type]
    return bar_chart(title, categories, series, stacked=stacked, **axis)  # type: ignore[arg-type]


def _common_day(categories: Sequence[str]) -> str:
    """'2026-11-20 ' when every category is a time of that one day: the axis then shows the times."""
    first = categories[0] if categories else ""
    if len(first) < 12 or first[10] != " " or not first[:4].isdigit():
        return ""
    prefix = first[:11]
    return prefix if all(name.startswith(prefix) for name in categories) else ""


def _splitting_dimension(result: ReportResult, x: int) -> int | None:
    """The dimension that tells apart rows sharing an x value, the one with the fewest values
    (segment rather than agent); a dimension that follows x (a campaign's id) splits nothing."""
    best: tuple[int, int] | None = None
    for i, column in enumerate(result.columns):
        if column.role is not ColumnRole.DIMENSION or i == x:
            continue
        seen: dict[Any, set[Any]] = {}
        for row in result.rows:
            seen.setdefault(row[x], set()).add(row[i])
        if all(len(values) == 1 for values in seen.values()):
            continue
        distinct = len({row[i] for row in result.rows})
        if best is None or distinct < best[1]:
            best = (i, distinct)
    return best[0] if best is not None else None


def _split_series(
    result: ReportResult, x: int, split: int, measure: int, categories: list[str], translate: Translate
) -> list[Series]:
    x_column, split_column = result.columns[x], result.columns[split]
    index = {name: i for i, name in enumerate(categories)}
    by_split: dict[str, list[float | None]] = {}
    for row in result.rows:
        key = display(row[split], split_column, translate) or "—"
        values = by_split.setdefault(key, [None] * len(categories))
        value = _number(row[measure])
        if value is not None:
            slot = index[display(row[x], x_column, translate)]
            values[slot] = (values[slot] or 0.0) + value
    ranked = sorted(by_split.items(), key=lambda item: -sum(v or 0.0 for v in item[1]))
    kept = ranked[: MAX_SPLIT_SERIES - 1] if len(ranked) > MAX_SPLIT_SERIES else ranked
    series = [Series(name, tuple(values)) for name, values in kept]
    if len(ranked) > len(kept):
        rest: list[float | None] = [None] * len(categories)
        for _, values in ranked[len(kept) :]:
            rest = [
                None if a is None and b is None else (a or 0.0) + (b or 0.0)
                for a, b in zip(rest, values, strict=True)
            ]
        series.append(Series("…", tuple(rest)))
    return series


def custom_labels(
    columns: Sequence[ResultColumn], definition: Mapping[str, Any], translate: Translate
) -> tuple[ResultColumn, ...]:
    """A custom report's columns named in the viewer's language ("平均 等待时长" for avg_wait_s),
    except where the analyst wrote a label of their own. Columns follow the definition: its
    dimensions, then its measures."""

    def field(name: Any) -> str:
        key = f"report.field.{name}"
        text = translate(key)
        return str(name) if text == key else text

    names: list[str] = []
    for dimension in definition.get("dimensions") or []:
        item = {"field": dimension} if isinstance(dimension, str) else dimension
        grain = item.get("grain")
        names.append(
            field(item.get("field")) + (f" ({translate('reports.grain.' + grain)})" if grain else "")
        )
    for measure in definition.get("measures") or []:
        label = translate(f"reports.fn.{measure.get('fn')}")
        if measure.get("field"):
            label += " " + field(measure["field"])
        if measure.get("where"):
            condition = measure["where"][0]
            label += f" ({field(condition.get('field'))} = {condition.get('value')})"
        names.append(label)
    if len(names) != len(columns):
        return tuple(columns)
    return tuple(
        dataclasses.replace(c, label=name) if c.label == c.name and not c.label_key else c
        for c, name in zip(columns, names, strict=True)
    )
