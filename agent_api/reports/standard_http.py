"""Standard report routes: the list, a run with its filters checked and scoped, and the audited export."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from agent_api.context import require
from agent_api.errors import Forbidden, NotFoundError
from agent_api.i18n import language_of, translate
from agent_api.openapi import endpoint
from agent_api.reports import access
from agent_api.reports.access import EVERYONE
from agent_api.reports.errors import InvalidDefinition
from agent_api.reports.ports import DefinitionInvalid, Grain, StandardInfo, StandardQuery, UnknownReport
from agent_api.reports.schemas import (
    ResultOut,
    StandardExportQuery,
    StandardList,
    StandardOut,
    StandardQueryIn,
)
from agent_api.reports.service import export_response, reports_of, result_out
from agent_api.security import Principal
from crm.reporting.results import ReportResult

DEFAULT_DAYS = 7
MAX_DAYS = 366
MAX_SUB_DAY_DAYS = 31  # 15-minute or hourly rows beyond a month are unreadable; use days


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
