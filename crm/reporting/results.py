"""What every report answers with, standard or custom: typed columns, rows, and how to chart them.

Pages render a :class:`ReportResult` as a table and an SVG chart; exports write its rows. Labels
are message-catalog keys (``report.col.offered``) so the page shows them in the viewer's language;
a custom report's columns carry the analyst's own label instead (``label`` set, ``label_key`` empty).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


class ValueType(enum.StrEnum):
    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    SECONDS = "seconds"  # a duration, shown as m:ss
    PERCENT = "percent"  # a ratio 0..1, shown as a percentage
    DATE = "date"  # 'YYYY-MM-DD'
    DATETIME = "datetime"  # ISO 8601, local time


class ColumnRole(enum.StrEnum):
    DIMENSION = "dimension"
    MEASURE = "measure"


@dataclass(frozen=True, slots=True)
class ResultColumn:
    name: str  # stable identifier, used in exports' header and in URLs
    type: ValueType
    role: ColumnRole
    label_key: str = ""  # message-catalog key
    label: str = ""  # a literal label (custom reports), used when label_key is empty


class ChartKind(enum.StrEnum):
    BAR = "bar"
    STACKED_BAR = "stacked-bar"
    LINE = "line"


@dataclass(frozen=True, slots=True)
class ChartSpec:
    kind: ChartKind
    x: str  # the column on the horizontal axis
    series: tuple[str, ...]  # the measure columns drawn
    title_key: str = ""


@dataclass(frozen=True, slots=True)
class ReportResult:
    columns: tuple[ResultColumn, ...]
    rows: Sequence[tuple[Any, ...]]
    chart: ChartSpec | None = None
    totals: tuple[Any, ...] | None = None  # one value per column; None where a total means nothing
    total_rows: int | None = None  # rows in the whole result when ``rows`` is one page of it
    notes: tuple[str, ...] = field(default_factory=tuple)  # message keys: e.g. "report.note.summary"

    def column(self, name: str) -> int:
        for index, column in enumerate(self.columns):
            if column.name == name:
                return index
        raise KeyError(name)
