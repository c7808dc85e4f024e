"""The callback queue page: supervisors watch and cancel, agents take one now."""

from __future__ import annotations

from aiohttp import web

from agent_api.pages.http import _page
from agent_api.security import Role


def add_callback_pages(app: web.Application) -> None:
    app.router.add_get("/callbacks", _page("callbacks.html", Role.AGENT, Role.SUPERVISOR, Role.ADMIN))
