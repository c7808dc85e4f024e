"""The admin's page of dispositions and pause reasons."""

from __future__ import annotations

from aiohttp import web

from agent_api.context import services
from agent_api.pages.http import _page
from agent_api.security import Role


def _context(request: web.Request) -> dict[str, object]:
    return {"queues": sorted(services(request).acd.config.queues)}


def add_desk_code_pages(app: web.Application) -> None:
    app.router.add_get("/admin/desk-codes", _page("desk_codes.html", Role.ADMIN, extra=_context))
