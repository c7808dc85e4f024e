"""Saved custom report routes: list, create, change, delete, run and export (audited)."""

from __future__ import annotations

from aiohttp import web

from agent_api.context import require
from agent_api.errors import Forbidden, NotFoundError
from agent_api.openapi import endpoint
from agent_api.reports import access
from agent_api.reports.access import BUILDERS, VIEWERS
from agent_api.reports.errors import InvalidDefinition, InvalidSaved
from agent_api.reports.ports import (
    DefinitionInvalid,
    SavedDraft,
    SavedInvalid,
    SavedReport,
    Schedule,
    UnknownReport,
)
from agent_api.reports.schemas import (
    FormatQuery,
    PageQuery,
    ResultOut,
    SavedIn,
    SavedList,
    SavedOut,
    ScheduleOut,
)
from agent_api.reports.service import check, export_response, reports_of, result_out, run_definition
from agent_api.security import Principal


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
