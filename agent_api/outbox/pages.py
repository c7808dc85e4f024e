"""The outbox page: supervisors and admins watch mail and SMS notices leave."""

from __future__ import annotations

from aiohttp import web

from agent_api.pages.http import _page
from agent_api.security import Role


def add_outbox_pages(app: web.Application) -> None:
    app.router.add_get("/outbox", _page("outbox.html", Role.SUPERVISOR, Role.ADMIN))
