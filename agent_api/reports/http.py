"""The reports API: standard reports, the custom report catalog, ad-hoc runs, saved reports, exports.

Who may do what is in ``access.py``; every export, standard or custom, CSV or XLSX, is written to
the audit log before its first byte leaves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from aiohttp import web

from agent_api.context import require
from agent_api.errors import ApiError, Forbidden, NotFoundError
from agent_api.i18n import language_of, translate
from agent_api.openapi import Endpoint, endpoint
from agent_api.reports import access
from agent_api.reports.access import BUILDERS, EVERYONE, VIEWERS
from agent_api.reports.ports import (
    DefinitionInvalid,
    Grain,
    SavedDraft,
    SavedInvalid,
    SavedReport,
    Schedule,
    StandardInfo,
    StandardQuery,
    UnknownReport,
)
from agent_api.reports.schemas import (
    CatalogOut,
    ChartOut,
    ColumnOut,
    ExportBody,
    FieldOut,
    FormatQuery,
    PageQuery,
    ResultOut,
    RunBody,
    SavedIn,
    SavedList,
    SavedOut,
    ScheduleOut,
    SourceOut,
    StandardExportQuery,
    StandardList,
    StandardOut,
    StandardQueryIn,
)
from agent_api.reports.service import REPORTS_KEY, Reports, export_response
from agent_api.reports.view import column_label, custom_labels
from agent_api.security import Principal
from crm.reporting.results import ReportResult

DEFAULT_DAYS = 7
MAX_DAYS = 366
MAX_SUB_DAY_DAYS = 31  # 15-minute or hourly rows beyond a month are unreadable; use days


class InvalidDefinition(ApiError):
    status = 422
    error_id = "invalid_definition"


class InvalidSaved(ApiError):
    status = 422
    error_id = "invalid_saved_report"


def reports_of(request: web.Request) -> Reports:
    return request.app[REPORTS_KEY]


def _standard(request: web.Request, me: Principal, name: str) -> StandardInfo:
    known = {r.name: r for r in reports_of(request).engine.standard_reports()}
    if name not in known:
        raise NotFoundError(f"no standard report {name!r}", details={"reports": sorted(known)})
    if not access.may_open_standard(me, name):
        raise Forbidden(f"agents may open only their own {access.AGENT_REPORT} report")
    return known[name]


def title_of(language: str, info: StandardInfo) -> str:
    text = translate(language, info.title_key)
    return info.name.replace("_", " ") if text == info.title_key else text


def _names(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


def standard_query(
    request: web.Request, me: Principal, info: StandardInfo, q: StandardQueryIn
) -> StandardQuery:
    """The filters as the engine takes them: defaults filled in, ranges checked, the agent scoped."""
    today = reports_of(request).today()
    date_to = q.to or (q.date_from + timedelta(days=DEFAULT_DAYS - 1) if q.date_from else today)
    date_from = q.date_from or date_to - timedelta(days=DEFAULT_DAYS - 1)
    if date_to < date_from:
        raise InvalidDefinition(f"'to' ({date_to}) is before 'from' ({date_from})")
    days = (date_to - date_from).days + 1
    if days > MAX_DAYS:
        raise InvalidDefinition(f"the range covers {days} days; at most {MAX_DAYS} are allowed")
    grain = q.grain or (Grain.DAY if Grain.DAY in info.grains or not info.grains else info.grains[0])
    if info.grains and grain not in info.grains:
        grain = info.grains[0]
    if grain in (Grain.SLOT15, Grain.HOUR) and days > MAX_SUB_DAY_DAYS:
        raise InvalidDefinition(
            f"{grain} rows are limited to {MAX_SUB_DAY_DAYS} days; choose a day grain for {days} days"
        )
    query = StandardQuery(
        date_from=date_from,
        date_to=date_to,
        grain=grain,
        queues=_names(q.queue),
        agents=_names(q.agent),
        campaign_ids=tuple(int(i) for i in _names(q.campaign)),
    )
    return access.scoped(me, query)


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


async def run_standard(
    request: web.Request, me: Principal, name: str, q: StandardQueryIn
) -> tuple[StandardQuery, ReportResult]:
    info = _standard(request, me, name)
    query = standard_query(request, me, info, q)
    try:
        return query, await reports_of(request).engine.run_standard(name, query)
    except UnknownReport as exc:
        raise NotFoundError(str(exc)) from None
    except DefinitionInvalid as exc:
        raise InvalidDefinition(exc.message) from None


@endpoint(
    "GET",
    "/api/reports/standard",
    summary="The standard reports this user may open",
    roles=EVERYONE,
    response=StandardList,
    tag="reports",
)
async def list_standard(request: web.Request, principal: Principal | None) -> StandardList:
    me = require(principal)
    language = language_of(request)
    return StandardList(
        reports=[
            StandardOut(
                name=r.name, title=translate(language, r.title_key), grains=[g.value for g in r.grains]
            )
            for r in reports_of(request).engine.standard_reports()
            if access.may_open_standard(me, r.name)
        ]
    )


@endpoint(
    "GET",
    "/api/reports/standard/{name}",
    summary="Run a standard report (an agent may run only the agent assessment, for themself)",
    roles=EVERYONE,
    query=StandardQueryIn,
    response=ResultOut,
    tag="reports",
)
async def standard_report(
    request: web.Request, principal: Principal | None, name: str, query: StandardQueryIn
) -> ResultOut:
    _, result = await run_standard(request, require(principal), name, query)
    return result_out(request, result)


@endpoint(
    "GET",
    "/api/reports/standard/{name}/export",
    summary="Export a standard report as CSV or XLSX (audited)",
    roles=EVERYONE,
    query=StandardExportQuery,
    tag="reports",
    produces="text/csv",
)
async def export_standard(
    request: web.Request, principal: Principal | None, name: str, query: StandardExportQuery
) -> web.StreamResponse:
    me = require(principal)
    scoped, result = await run_standard(request, me, name, query)
    stem = f"{name}-{scoped.date_from}-{scoped.date_to}"
    detail = {
        "format": query.format.value,
        "from": str(scoped.date_from),
        "to": str(scoped.date_to),
        "grain": scoped.grain.value,
        "queues": list(scoped.queues),
        "agents": list(scoped.agents),
        "campaigns": list(scoped.campaign_ids),
        "rows": len(result.rows),
    }
    return await export_response(
        request, me, result=result, fmt=query.format, stem=stem, target=f"standard:{name}", detail=detail
    )


@endpoint(
    "GET",
    "/api/reports/catalog",
    summary="What a custom report may use: sources, their fields, aggregations, operators and grains",
    roles=VIEWERS,
    response=CatalogOut,
    tag="reports",
)
async def report_catalog(request: web.Request, principal: Principal | None) -> CatalogOut:
    language = language_of(request)
    return CatalogOut(
        sources=[
            SourceOut(
                name=s.name,
                label=_label(language, s.label, s.name),
                time_field=s.time_field,
                grains=list(s.grains),
                fields=[
                    FieldOut(
                        name=f.name,
                        type=f.type,
                        label=_label(language, f.label, f.name),
                        dimension=f.dimension,
                        measure=f.measure,
                        filter=f.filter,
                        aggregations=list(f.aggregations),
                        operators=list(f.operators),
                    )
                    for f in s.fields
                ],
            )
            for s in reports_of(request).engine.catalog()
        ]
    )


def _label(language: str, key: str, fallback: str) -> str:
    text = translate(language, key)
    return fallback if text == key else text


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


@endpoint(
    "POST",
    "/api/reports/custom/run",
    summary="Validate and run an ad-hoc custom report definition, one page of rows",
    roles=VIEWERS,
    body=RunBody,
    response=ResultOut,
    tag="reports",
)
async def run_custom(request: web.Request, principal: Principal | None, body: RunBody) -> ResultOut:
    definition = check(request, body.definition)
    result = await run_definition(request, body.definition, definition, body.page, body.page_size)
    return result_out(request, result, page=body.page, page_size=body.page_size)


@endpoint(
    "POST",
    "/api/reports/custom/export",
    summary="Export an ad-hoc custom report, every row, streamed as CSV or XLSX (audited)",
    roles=VIEWERS,
    body=ExportBody,
    tag="reports",
    produces="text/csv",
)
async def export_custom(
    request: web.Request, principal: Principal | None, body: ExportBody
) -> web.StreamResponse:
    me = require(principal)
    definition = check(request, body.definition)
    source = str(body.definition.get("source", "custom"))[:40]
    return await export_response(
        request,
        me,
        definition=definition,
        raw_definition=body.definition,
        fmt=body.format,
        stem=f"custom-{source}",
        target=f"custom:{source}",
        detail={"format": body.format.value, "definition": body.definition},
    )


def saved_out(report: SavedReport, me: Principal) -> SavedOut:
    return SavedOut(
        id=report.id,
        owner=report.owner,
        name=report.name,
        definition=dict(report.definition),
        shared_roles=list(report.shared_roles),
        schedule=ScheduleOut(
            kind=report.schedule.kind.value,
            weekday=report.schedule.weekday,
            hour=report.schedule.hour,
            recipients=list(report.schedule.recipients),
        ),
        created_at=report.created_at,
        updated_at=report.updated_at,
        may_change=access.may_change_saved(me, report),
        problem=report.problem,
    )


async def visible_saved(request: web.Request, me: Principal, report_id: int) -> SavedReport:
    report = await reports_of(request).engine.get_saved(report_id)
    if report is None or not access.may_view_saved(me, report):
        raise NotFoundError(f"no saved report {report_id} shared with you")
    return report


def draft_of(request: web.Request, body: SavedIn) -> SavedDraft:
    check(request, body.definition)
    return SavedDraft(
        name=body.name.strip() or body.name,
        definition=body.definition,
        shared_roles=tuple(sorted({r.value for r in body.shared_roles})),
        schedule=Schedule(
            kind=body.schedule.kind,
            weekday=body.schedule.weekday,
            hour=body.schedule.hour,
            recipients=tuple(body.schedule.recipients),
        ),
    )


@endpoint(
    "GET",
    "/api/reports/saved",
    summary="Saved custom reports: my own and those shared with my roles",
    roles=VIEWERS,
    response=SavedList,
    tag="reports",
)
async def list_saved(request: web.Request, principal: Principal | None) -> SavedList:
    me = require(principal)
    found = await reports_of(request).engine.list_saved(me.username, frozenset(r.value for r in me.roles))
    return SavedList(reports=[saved_out(r, me) for r in found if access.may_view_saved(me, r)])


@endpoint(
    "POST",
    "/api/reports/saved",
    summary="Save a custom report definition, with its sharing and schedule",
    roles=BUILDERS,
    body=SavedIn,
    response=SavedOut,
    tag="reports",
)
async def create_saved(request: web.Request, principal: Principal | None, body: SavedIn) -> SavedOut:
    me = require(principal)
    draft = draft_of(request, body)
    try:
        created = await reports_of(request).engine.create_saved(me.username, draft)
    except SavedInvalid as exc:
        raise InvalidSaved(exc.message, details={"field": exc.field}) from None
    except DefinitionInvalid as exc:
        raise InvalidDefinition(exc.message, details={"field": exc.field}) from None
    return saved_out(created, me)


@endpoint(
    "GET",
    "/api/reports/saved/{report_id}",
    summary="One saved custom report",
    roles=VIEWERS,
    response=SavedOut,
    tag="reports",
    path_types={"report_id": "integer"},
)
async def get_saved(request: web.Request, principal: Principal | None, report_id: int) -> SavedOut:
    me = require(principal)
    return saved_out(await visible_saved(request, me, report_id), me)


@endpoint(
    "PUT",
    "/api/reports/saved/{report_id}",
    summary="Change a saved custom report (its owner or an administrator)",
    roles=BUILDERS,
    body=SavedIn,
    response=SavedOut,
    tag="reports",
    path_types={"report_id": "integer"},
)
async def update_saved(
    request: web.Request, principal: Principal | None, report_id: int, body: SavedIn
) -> SavedOut:
    me = require(principal)
    report = await visible_saved(request, me, report_id)
    if not access.may_change_saved(me, report):
        raise Forbidden("only its owner or an administrator may change a saved report")
    draft = draft_of(request, body)
    try:
        updated = await reports_of(request).engine.update_saved(report_id, draft)
    except SavedInvalid as exc:
        raise InvalidSaved(exc.message, details={"field": exc.field}) from None
    except DefinitionInvalid as exc:
        raise InvalidDefinition(exc.message, details={"field": exc.field}) from None
    except UnknownReport as exc:
        raise NotFoundError(str(exc)) from None
    return saved_out(updated, me)


@endpoint(
    "DELETE",
    "/api/reports/saved/{report_id}",
    summary="Delete a saved custom report (its owner or an administrator)",
    roles=BUILDERS,
    tag="reports",
    path_types={"report_id": "integer"},
)
async def delete_saved(request: web.Request, principal: Principal | None, report_id: int) -> None:
    me = require(principal)
    report = await visible_saved(request, me, report_id)
    if not access.may_change_saved(me, report):
        raise Forbidden("only its owner or an administrator may delete a saved report")
    try:
        await reports_of(request).engine.delete_saved(report_id)
    except UnknownReport as exc:
        raise NotFoundError(str(exc)) from None


def _stored_definition(request: web.Request, report: SavedReport) -> object:
    if report.problem:
        raise InvalidDefinition(
            f"saved report {report.id} no longer fits the catalog: {report.problem}; edit and save it again"
        )
    try:
        return reports_of(request).engine.check_definition(report.definition)
    except DefinitionInvalid as exc:
        raise InvalidDefinition(
            f"saved report {report.id} no longer fits the catalog: {exc.message}; edit and save it again",
            details={"field": exc.field} if exc.field else {},
        ) from None


@endpoint(
    "GET",
    "/api/reports/saved/{report_id}/run",
    summary="Run a saved custom report, one page of rows",
    roles=VIEWERS,
    query=PageQuery,
    response=ResultOut,
    tag="reports",
    path_types={"report_id": "integer"},
)
async def run_saved(
    request: web.Request, principal: Principal | None, report_id: int, query: PageQuery
) -> ResultOut:
    report = await visible_saved(request, require(principal), report_id)
    result = await run_definition(
        request, report.definition, _stored_definition(request, report), query.page, query.page_size
    )
    return result_out(request, result, page=query.page, page_size=query.page_size)


@endpoint(
    "GET",
    "/api/reports/saved/{report_id}/export",
    summary="Export a saved custom report, every row, streamed as CSV or XLSX (audited)",
    roles=VIEWERS,
    query=FormatQuery,
    tag="reports",
    produces="text/csv",
    path_types={"report_id": "integer"},
)
async def export_saved(
    request: web.Request, principal: Principal | None, report_id: int, query: FormatQuery
) -> web.StreamResponse:
    me = require(principal)
    report = await visible_saved(request, me, report_id)
    return await export_response(
        request,
        me,
        definition=_stored_definition(request, report),
        raw_definition=report.definition,
        fmt=query.format,
        stem=f"report-{report.id}",
        target=f"saved:{report.id}",
        detail={"format": query.format.value, "name": report.name},
        title=report.name,
    )


# Literal paths before the parameterized ones.
ENDPOINTS: list[Endpoint] = [
    list_standard,
    report_catalog,
    run_custom,
    export_custom,
    list_saved,
    create_saved,
    standard_report,
    export_standard,
    get_saved,
    update_saved,
    delete_saved,
    run_saved,
    export_saved,
]
