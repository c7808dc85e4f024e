"""The messages page: agents and supervisors work the messages callers left."""

from __future__ import annotations

from aiohttp import web

from agent_api.context import services
from agent_api.messages.http import visible_queues
from agent_api.pages.http import _page
from agent_api.security import Role, principal_of


def _context(request: web.Request) -> dict[str, object]:
    principal = principal_of(request)
    seen = visible_queues(request, principal) if principal is not None else frozenset()
    return {"queues": [q for q in sorted(services(request).acd.config.queues) if seen is None or q in seen]}


def add_message_pages(app: web.Application) -> None:
    app.router.add_get(
        "/messages", _page("messages.html", Role.AGENT, Role.SUPERVISOR, Role.ADMIN, extra=_context)
    )
