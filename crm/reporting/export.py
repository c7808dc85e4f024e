"""Report exports, written as the rows arrive: CSV (UTF-8 with BOM) and XLSX (typed cells).

Both writers take the rows as an async iterator and never hold more than a chunk of them, so a
million-row export costs the memory of one chunk. Text cells that a spreadsheet would run as a
formula (starting with = + - @, or a tab / carriage return) are written with a leading apostrophe,
the usual defence against formula injection; numbers stay numbers.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from crm.reporting.results import ResultColumn, ValueType

BOM = "\ufeff"
CHUNK_BYTES = 64 * 1024
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def header(columns: Sequence[ResultColumn], labels: Sequence[str] | None = None) -> list[str]:
    """Column headers: the labels given (a page translates label keys), else each column's label or name."""
    if labels is not None:
        return [safe_text(label) for label in labels]
    return [safe_text(c.label or c.name) for c in columns]


def csv_cell(column: ResultColumn, value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_text(value)
    return value


def csv_text(
    columns: Sequence[ResultColumn], rows: Iterable[Sequence[Any]], labels: Sequence[str] | None = None
) -> str:
    """A whole CSV as text, without BOM (for an e-mail body); rows already in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header(columns, labels))
    for row in rows:
        writer.writerow([csv_cell(c, v) for c, v in zip(columns, row, strict=True)])
    return buffer.getvalue()


async def csv_chunks(
    columns: Sequence[ResultColumn],
    rows: AsyncIterator[Sequence[Any]],
    *,
    labels: Sequence[str] | None = None,
) -> AsyncIterator[bytes]:
    """The CSV in chunks of about 64 KiB: a BOM (Excel then reads UTF-8 Chinese), header, rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(header(columns, labels))
    async for row in rows:
        writer.writerow([csv_cell(c, v) for c, v in zip(columns, row, strict=True)])
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


_NUMBER_FORMATS = {
    ValueType.INT: "0",
    ValueType.FLOAT: "0.00",
    ValueType.SECONDS: "[h]:mm:ss",
    ValueType.PERCENT: "0.0%",
    ValueType.DATE: "yyyy-mm-dd",
}


def _xlsx_value(column: ResultColumn, value: Any) -> Any:
    if value is None:
        return None
    match column.type:
        case ValueType.INT | ValueType.FLOAT | ValueType.PERCENT:
            return value
        case ValueType.SECONDS:
            return value / 86400  # a spreadsheet duration is a fraction of a day
        case ValueType.DATE:
            return date.fromisoformat(value) if isinstance(value, str) else value
    return safe_text(str(value))


XLSX_BATCH = 2_000  # rows formatted and appended per trip to a worker thread


async def write_xlsx(
    columns: Sequence[ResultColumn],
    rows: AsyncIterator[Sequence[Any]],
    path: Path | str,
    *,
    labels: Sequence[str] | None = None,
    sheet_title: str = "report",
) -> int:
    """Write the rows to ``path`` with openpyxl's write-only mode (rows go to disk as they come);
    returns the number of data rows. openpyxl is pure Python and slow per cell, so the cells are
    built and written in a worker thread, a batch at a time, never on the event loop."""
    sheet_holder = await asyncio.to_thread(_new_workbook, sheet_title, header(columns, labels))
    count = 0
    batch: list[Sequence[Any]] = []
    async for row in rows:
        batch.append(row)
        if len(batch) >= XLSX_BATCH:
            await asyncio.to_thread(_append_rows, sheet_holder[1], columns, batch)
            count += len(batch)
            batch = []
    if batch:
        await asyncio.to_thread(_append_rows, sheet_holder[1], columns, batch)
        count += len(batch)
    await asyncio.to_thread(sheet_holder[0].save, str(path))
    return count


def _new_workbook(sheet_title: str, header_row: list[str]) -> tuple[Any, Any]:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31] or "report")
    sheet.append(header_row)
    return workbook, sheet


def _append_rows(sheet: Any, columns: Sequence[ResultColumn], rows: Sequence[Sequence[Any]]) -> None:
    from openpyxl.cell import WriteOnlyCell

    for row in rows:
        cells = []
        for column, value in zip(columns, row, strict=True):
            cell = WriteOnlyCell(sheet, value=_xlsx_value(column, value))
            if cell.data_type == "f":  # openpyxl reads a leading '=' as a formula; never write one
                cell = WriteOnlyCell(sheet, value=safe_text(str(value)))
            number_format = _NUMBER_FORMATS.get(column.type)
            if number_format and value is not None:
                cell.number_format = number_format
            cells.append(cell)
        sheet.append(cells)
