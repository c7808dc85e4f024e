"""What the report routes and pages share: the engine, the center's time zone, and streamed exports."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from agent_api.context import audit
from agent_api.i18n import language_of, translate
from agent_api.reports.errors import InvalidDefinition
from agent_api.reports.ports import DefinitionInvalid, ExportFormat, ReportEngine
from agent_api.reports.schemas import ChartOut, ColumnOut, ResultOut
from agent_api.reports.view import column_label, custom_labels, display
from agent_api.security import Principal
from agent_api.streaming import close_iterator, file_chunks, send_chunks
from crm.reporting.results import ColumnRole, ReportResult, ResultColumn, ValueType

log = logging.getLogger(__name__)

MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


# Reports are aggregates and the catalog holds no names or numbers; a questionnaire's free-text
# answer is the one dimension where a customer may have written something personal.
FREE_TEXT_DIMENSIONS = frozenset({"answer"})


def personal_data(definition: Mapping[str, Any] | None) -> bool:
    """Whether a custom export may carry personal data, for the audit log's data-protection filter."""
    dimensions = (definition or {}).get("dimensions") or []
    return any(
        (d if isinstance(d, str) else d.get("field") if isinstance(d, Mapping) else None)
        in FREE_TEXT_DIMENSIONS
        for d in dimensions
    )


@dataclasses.dataclass(eq=False)
class Reports:
    engine: ReportEngine
    tz: tzinfo
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def today(self) -> date:
        return self.clock().astimezone(self.tz).date()


REPORTS_KEY: web.AppKey[Reports] = web.AppKey("reports", Reports)


def labelled(columns: Iterable[ResultColumn], language: str) -> tuple[ResultColumn, ...]:
    """Columns whose label is the viewer's language, so an export's header reads like the page."""
    return tuple(
        dataclasses.replace(c, label=column_label(c, lambda key: translate(language, key)), label_key="")
        if c.label_key
        else c
        for c in columns
    )


async def _rows_of(result: ReportResult, total_label: str) -> AsyncIterator[tuple[Any, ...]]:
    """The rows, then the totals row named in its first empty text column (a date column cannot
    hold the word)."""
    for row in result.rows:
        yield tuple(row)
    if result.totals is not None:
        totals = list(result.totals)
        for index, column in enumerate(result.columns):
            if column.type is ValueType.TEXT and totals[index] in (None, ""):
                totals[index] = total_label
                break
        yield tuple(totals)


def _disposition(stem: str, extension: str, title: str | None) -> str:
    plain = re.sub(r"[^A-Za-z0-9._-]+", "_", stem)[:120] or "report"
    header = f'attachment; filename="{plain}.{extension}"'
    if title:
        header += f"; filename*=UTF-8''{quote(title[:120] + '.' + extension, safe='')}"
    return header


async def export_response(
    request: web.Request,
    me: Principal,
    *,
    fmt: ExportFormat,
    stem: str,
    target: str,
    detail: dict[str, Any],
    result: ReportResult | None = None,
    definition: object = None,
    raw_definition: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> web.StreamResponse:
    """Audit the export, then stream it: CSV chunk by chunk as the rows come, XLSX from a temporary
    file (the format is a zip whose directory is written last)."""
    reports = request.app[REPORTS_KEY]
    language = language_of(request)
    columns: Sequence[ResultColumn]
    if result is not None:
        columns = labelled(result.columns, language)
        rows = _rows_of(result, translate(language, "reports.total"))
    else:
        custom_columns, rows = await reports.engine.custom_rows(definition)
        columns = custom_labels(custom_columns, raw_definition or {}, lambda key: translate(language, key))
    rows = _as_shown(rows, columns, lambda key: translate(language, key), fmt)
    await audit(
        request,
        me.username,
        "report-export",
        target,
        **detail,
        personal_data=personal_data(raw_definition) if result is None else False,
    )
    headers = {
        "Content-Disposition": _disposition(stem, fmt.value, title),
        "Cache-Control": "private, no-store",
    }
    response = web.StreamResponse(headers=headers)
    named = {"what": "report-export", "target": target, "user": me.username}
    try:
        if fmt is ExportFormat.CSV:
            response.content_type = "text/csv"
            response.charset = "utf-8"
            chunks = aiter(reports.engine.csv_chunks(columns, rows))
            first = await anext(chunks, b"")  # a failing query fails here, before the 200 is sent
            return await send_chunks(request, response, _after(first, chunks), **named)
        return await _send_xlsx(request, response, reports.engine, columns, rows, named)
    finally:
        await close_iterator(rows)  # the database cursor behind them, if the client left early


async def _as_shown(
    rows: AsyncIterator[tuple[Any, ...]],
    columns: Sequence[ResultColumn],
    tr: Callable[[str], str],
    fmt: ExportFormat,
) -> AsyncIterator[tuple[Any, ...]]:
    """The rows as the page shows them: a code in words (complaint → 投诉); in a CSV, which has
    no cell formats, ratios and decimals rounded as on the screen (85.8%), seconds whole. An
    XLSX keeps its numbers and gives them the screen's formats instead."""
    try:
        async for row in rows:
            shown = []
            for column, value in zip(columns, row, strict=False):
                number = isinstance(value, int | float) and not isinstance(value, bool)
                code = isinstance(value, str) and value and column.role is ColumnRole.DIMENSION
                rounded = fmt is ExportFormat.CSV and number and column.type in ROUNDED_IN_CSV
                if code or rounded:
                    value = display(value, column, tr)
                elif fmt is ExportFormat.CSV and number and column.type is ValueType.SECONDS:
                    value = round(value)
                shown.append(value)
            yield tuple(shown)
    finally:
        await close_iterator(rows)


ROUNDED_IN_CSV = (ValueType.PERCENT, ValueType.FLOAT)


async def _after(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    try:
        yield first
        async for chunk in rest:
            yield chunk
    finally:
        await close_iterator(rest)


async def _send_xlsx(
    request: web.Request,
    response: web.StreamResponse,
    engine: ReportEngine,
    columns: Sequence[ResultColumn],
    rows: AsyncIterator[tuple[Any, ...]],
    named: dict[str, str],
) -> web.StreamResponse:
    """XLSX from a temporary file: the format is a zip whose directory is written last."""
    handle, name = tempfile.mkstemp(prefix="hotline-report-", suffix=".xlsx")
    os.close(handle)
    path = Path(name)
    try:
        await engine.write_xlsx(columns, rows, path)
        response.content_type = MEDIA_TYPES[ExportFormat.XLSX]
        response.content_length = (await asyncio.to_thread(path.stat)).st_size
        return await send_chunks(request, response, file_chunks(path), **named)
    finally:
        with contextlib.suppress(OSError):
            await asyncio.to_thread(path.unlink)


def reports_of(request: web.Request) -> Reports:
    return request.app[REPORTS_KEY]


def result_out(
    request: web.Request, result: ReportResult, *, page: int = 1, page_size: int | None = None
) -> ResultOut:
    language = language_of(request)

    def label(column):  # type: ignore[no-untyped-def]
        return column_label(column, lambda key: translate(language, key))

    def plain(value):  # type: ignore[no-untyped-def]
        return value if value is None or isinstance(value, str | int | float | bool) else str(value)

    return ResultOut(
        columns=[
            ColumnOut(name=c.name, type=c.type.value, role=c.role.value, label=label(c))
            for c in result.columns
        ],
        rows=[[plain(v) for v in row] for row in result.rows],
        totals=None if result.totals is None else [plain(v) for v in result.totals],
        chart=None
        if result.chart is None
        else ChartOut(kind=result.chart.kind.value, x=result.chart.x, series=list(result.chart.series)),
        total_rows=result.total_rows,
        page=page,
        page_size=page_size,
        notes=[translate(language, n) for n in result.notes],
    )


def check(request: web.Request, data: dict) -> object:  # type: ignore[type-arg]
    try:
        return reports_of(request).engine.check_definition(data)
    except DefinitionInvalid as exc:
        raise InvalidDefinition(exc.message, details={"field": exc.field} if exc.field else {}) from None


async def run_definition(
    request: web.Request, raw: Mapping[str, Any], definition: object, page: int, page_size: int
) -> ReportResult:
    """One page of a checked definition, its columns named in the viewer's language."""
    try:
        result = await reports_of(request).engine.run_custom(definition, page=page, page_size=page_size)
    except DefinitionInvalid as exc:
        raise InvalidDefinition(exc.message, details={"field": exc.field} if exc.field else {}) from None
    language = language_of(request)
    columns = custom_labels(result.columns, raw, lambda key: translate(language, key))
    return dataclasses.replace(result, columns=columns)
