"""The customer pages: search and create (``/customers``), one customer (``/customers/{id}``);
and how the customer routes join the application."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from agent_api.customers.http import (
    create_customer,
    edit_customer,
    erase_customer,
    export_customer,
    find_customers,
    get_customer,
    get_timeline,
    merge_customer,
    unmask_customer,
)
from agent_api.openapi import Endpoint, add_endpoints
from agent_api.pages.http import forbidden_page, page_context
from agent_api.request_parsing import CENTER_TZ
from agent_api.security import Principal, Role, principal_of
from agent_api.tickets.access import STAFF
from crm.kinds import TicketKind

# The segments of the demo data and the importer's examples; a customer in another keeps it.
SEGMENTS = ("regular", "silver", "gold", "platinum")

ENDPOINTS: list[Endpoint] = [
    find_customers,
    create_customer,
    get_customer,
    edit_customer,
    get_timeline,
    unmask_customer,
    merge_customer,
    export_customer,
    erase_customer,
]


def _staff(request: web.Request) -> Principal | web.StreamResponse:
    principal = principal_of(request)
    if principal is None:
        raise web.HTTPFound("/login")
    if not principal.has(*STAFF):
        return forbidden_page(request, principal)
    return principal


def _context(request: web.Request, me: Principal, page: str) -> dict[str, object]:
    return page_context(request, me, page) | {
        "center_tz": str(request.app[CENTER_TZ]),
        "may_unmask": me.has(Role.SUPERVISOR, Role.ADMIN),
        "may_merge": me.has(Role.SUPERVISOR, Role.ADMIN),
        "may_erase": me.has(Role.ADMIN),
        "ticket_kinds": [k.value for k in TicketKind],
        "segments": SEGMENTS,
    }


async def customers_page(request: web.Request) -> web.StreamResponse:
    me = _staff(request)
    if not isinstance(me, Principal):
        return me
    context = _context(request, me, "customers.html")
    # From the pop of an unknown caller: the create form opens with the caller's number in it.
    context["new_phone"] = request.query.get("phone", "")[:32]
    context["query"] = request.query.get("q", "")[:100]
    return aiohttp_jinja2.render_template("customers.html", request, context)


async def customer_page(request: web.Request) -> web.StreamResponse:
    me = _staff(request)
    if not isinstance(me, Principal):
        return me
    raw = request.match_info["customer_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise web.HTTPNotFound()
    context = _context(request, me, "customer.html")
    context["customer_id"] = int(raw)
    return aiohttp_jinja2.render_template("customer.html", request, context)


def add_customers(app: web.Application) -> None:
    add_endpoints(app, ENDPOINTS)
    app.router.add_get("/customers", customers_page)
    app.router.add_get("/customers/{customer_id}", customer_page)
