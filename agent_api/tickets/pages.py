"""The ticket pages: the list (``/tickets``), one ticket (``/tickets/{id}``) and the technician's
phone-sized page (``/field``); and how the ticket and team routes join the application."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from agent_api.openapi import Endpoint, add_endpoints
from agent_api.pages.http import forbidden_page, page_context
from agent_api.request_parsing import CENTER_TZ
from agent_api.security import Principal, Role, principal_of
from agent_api.tickets import http, teams_http
from agent_api.tickets.access import STAFF, field_only
from agent_api.tickets.schemas import View
from crm.kinds import TicketKind, TicketStatus

ENDPOINTS: list[Endpoint] = [
    http.search_tickets,
    http.create_ticket,
    teams_http.list_teams,
    teams_http.save_team,
    teams_http.delete_team,
    http.get_ticket,
    http.dispatch_ticket,
    http.start_ticket,
    http.note_ticket,
    http.resolve_ticket,
    http.follow_up_ticket,
    http.close_ticket,
    http.reopen_ticket,
]


def _viewer(request: web.Request) -> Principal:
    principal = principal_of(request)
    if principal is None:
        raise web.HTTPFound("/login")
    return principal


def _context(request: web.Request, me: Principal, page: str) -> dict[str, object]:
    return page_context(request, me, page) | {
        "center_tz": str(request.app[CENTER_TZ]),
        "nodes": [s.value for s in TicketStatus],
        "ticket_kinds": [k.value for k in TicketKind],
        "views": [v.value for v in View],
        "may_keep_teams": me.has(Role.SUPERVISOR, Role.ADMIN),
        # Supervisors land on the escalated tickets, an agent on theirs.
        "default_view": View.ESCALATED.value if me.has(Role.SUPERVISOR, Role.ADMIN) else View.MINE.value,
    }


async def tickets_page(request: web.Request) -> web.StreamResponse:
    me = _viewer(request)
    if field_only(me):
        raise web.HTTPFound("/field")
    if not me.has(*STAFF):
        return forbidden_page(request, me)
    return aiohttp_jinja2.render_template("tickets.html", request, _context(request, me, "tickets.html"))


async def ticket_page(request: web.Request) -> web.StreamResponse:
    me = _viewer(request)
    raw = request.match_info["ticket_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise web.HTTPNotFound()
    if field_only(me):
        raise web.HTTPFound(f"/field#{raw}")
    if not me.has(*STAFF):
        return forbidden_page(request, me)
    context = _context(request, me, "ticket.html") | {"ticket_id": int(raw)}
    return aiohttp_jinja2.render_template("ticket.html", request, context)


async def field_page(request: web.Request) -> web.StreamResponse:
    me = _viewer(request)
    if not me.has(Role.TECHNICIAN, *STAFF):
        return forbidden_page(request, me)
    return aiohttp_jinja2.render_template("field.html", request, _context(request, me, "field.html"))


def add_tickets(app: web.Application) -> None:
    add_endpoints(app, ENDPOINTS)
    app.router.add_get("/tickets", tickets_page)
    app.router.add_get("/tickets/{ticket_id}", ticket_page)
    app.router.add_get("/field", field_page)
