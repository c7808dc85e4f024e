"""The report pages: the index, one page per standard report, and the custom report builder.

Standard report pages are plain GET forms rendered on the server (table, totals, SVG chart), so
they work without scripts; the builder's script asks the server for the same rendered table and
chart (``POST /reports/custom/preview``) so a figure is formatted in one place only.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from pydantic import ValidationError

from agent_api.context import services
from agent_api.errors import ApiError
from agent_api.i18n import language_of, translate
from agent_api.i18n.errors import localized
from agent_api.openapi import error_response
from agent_api.pages.http import forbidden_page, page_context
from agent_api.reports import access
from agent_api.reports.schemas import RunBody, StandardQueryIn
from agent_api.reports.service import REPORTS_KEY, Reports, check, reports_of, run_definition
from agent_api.reports.standard_http import run_standard, title_of
from agent_api.reports.view import chart_svg, table_view
from agent_api.request_parsing import parse_body
from agent_api.security import CSRF_HEADER, Principal, principal_of, same_token
from crm.reporting.results import ReportResult


def _context(request: web.Request, principal: Principal, page: str) -> dict[str, Any]:
    return page_context(request, principal, page) | {
        "sees_all": access.sees_all(principal),
        "may_build": access.may_build(principal),
    }


def _viewer(request: web.Request) -> Principal:
    principal = principal_of(request)
    if principal is None:
        raise web.HTTPFound("/login")
    return principal


def result_context(request: web.Request, result: ReportResult, title: str) -> dict[str, Any]:
    language = language_of(request)

    def tr(key: str) -> str:
        return translate(language, key)

    return {"table": table_view(result, tr), "chart": chart_svg(result, tr, title), "notes": result.notes}


async def index_page(request: web.Request) -> web.StreamResponse:
    me = _viewer(request)
    reports = reports_of(request)
    context = _context(request, me, "reports.html")
    language = language_of(request)
    context["standard"] = [
        (r, title_of(language, r))
        for r in reports.engine.standard_reports()
        if access.may_open_standard(me, r.name)
    ]
    saved = []
    if access.sees_all(me):
        found = await reports.engine.list_saved(me.username, frozenset(r.value for r in me.roles))
        saved = [r for r in found if access.may_view_saved(me, r)]
    context["saved"] = saved
    return aiohttp_jinja2.render_template("reports.html", request, context)


async def standard_page(request: web.Request) -> web.StreamResponse:
    me = _viewer(request)
    name = request.match_info["name"]
    infos = {r.name: r for r in reports_of(request).engine.standard_reports()}
    if name not in infos:
        raise web.HTTPNotFound(text=f"no standard report {name!r}")
    if not access.may_open_standard(me, name):
        return forbidden_page(request, me)
    info = infos[name]
    context = _context(request, me, "reports_standard.html")
    title = title_of(language_of(request), info)
    context |= {"info": info, "title": title, "error": "", "table": None, "chart": "", "notes": ()}
    raw = {k: v for k, v in request.query.items() if v != ""}
    page_text = raw.pop("page", "1")
    page_no = int(page_text) if page_text.isdigit() and len(page_text) < 6 else 1
    language = language_of(request)
    context |= _pickers(request)
    try:
        query_in = StandardQueryIn.model_validate(raw)
        scoped, result = await run_standard(request, me, name, query_in)
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        labels = "、".join(translate(language, f"reports.filter.{f}") for f in fields)
        context["error"] = translate(language, "reports.bad_filters").replace("{fields}", labels)
        context["filters"] = raw
        return aiohttp_jinja2.render_template("reports_standard.html", request, context)
    except ApiError as exc:
        context["error"] = localized(language, exc.message, exc.error_id)
        context["filters"] = raw
        return aiohttp_jinja2.render_template("reports_standard.html", request, context)
    context["filters"] = {
        "from": scoped.date_from.isoformat(),
        "to": scoped.date_to.isoformat(),
        "grain": scoped.grain.value,
        "queue": ",".join(scoped.queues),
        "agent": ",".join(scoped.agents),
        "campaign": ",".join(str(i) for i in scoped.campaign_ids),
    }
    context["export_query"] = urlencode({k: v for k, v in context["filters"].items() if v})
    context |= result_context(request, result, title)
    # A long report reads a page at a time (an hourly report over two weeks is hundreds of rows);
    # the chart and the totals cover the whole of it, and the exports hold every row.
    table = context["table"]
    pages = max(1, -(-len(table.rows) // STANDARD_PAGE_ROWS))
    page_no = min(page_no, pages)
    if pages > 1:
        start = (page_no - 1) * STANDARD_PAGE_ROWS
        context["table"] = dataclasses.replace(table, rows=table.rows[start : start + STANDARD_PAGE_ROWS])
        context |= {"std_pages": pages, "std_page": page_no, "std_rows": len(table.rows)}
    return aiohttp_jinja2.render_template("reports_standard.html", request, context)


STANDARD_PAGE_ROWS = 100


def _pickers(request: web.Request) -> dict[str, Any]:
    """The queues and agents a filter may name, to pick from rather than type."""
    config = services(request).acd.config
    agents = sorted((p.agent, p.name or p.agent) for p in config.agents.values())
    return {"queue_choices": sorted(config.queues), "agent_choices": agents}


async def custom_page(request: web.Request) -> web.StreamResponse:
    me = _viewer(request)
    if not access.sees_all(me):
        return forbidden_page(request, me)
    context = _context(request, me, "reports_custom.html")
    raw_id = request.query.get("saved", "")
    context["saved_id"] = int(raw_id) if raw_id.isdigit() and len(raw_id) < 12 else None
    context["today"] = reports_of(request).today().isoformat()
    return aiohttp_jinja2.render_template("reports_custom.html", request, context)


async def custom_preview(request: web.Request) -> web.StreamResponse:
    """The table and chart of one page of an ad-hoc definition, rendered like the standard pages."""
    me = principal_of(request)
    if me is None:
        raise web.HTTPUnauthorized(text="log in first")
    if not access.sees_all(me):
        raise web.HTTPForbidden(text="your roles do not allow this")
    if not same_token(request.headers.get(CSRF_HEADER, ""), me.csrf_token):
        raise web.HTTPForbidden(text=f"missing or wrong {CSRF_HEADER} header; reload the page")
    try:
        body = await parse_body(request, RunBody)
        result = await run_definition(
            request, body.definition, check(request, body.definition), body.page, body.page_size
        )
    except ApiError as exc:
        return error_response(exc)
    context = _context(request, me, "reports_result.html")
    context |= result_context(request, result, translate(language_of(request), "reports.custom.title"))
    context["page_no"] = body.page
    context["page_size"] = body.page_size
    context["total_rows"] = result.total_rows if result.total_rows is not None else len(result.rows)
    context["pages"] = max(1, -(-context["total_rows"] // body.page_size))
    return aiohttp_jinja2.render_template("reports_result.html", request, context)


def add_reports(app: web.Application, reports: Reports) -> None:
    """The engine for the routes, and the pages; build_app adds the API endpoints with the others."""
    app[REPORTS_KEY] = reports
    app.router.add_get("/reports", index_page)
    app.router.add_get("/reports/custom", custom_page)
    app.router.add_post("/reports/custom/preview", custom_preview)
    app.router.add_get("/reports/{name}", standard_page)
