"""The campaigns page (analysts and admins)."""

from __future__ import annotations

from aiohttp import web

from agent_api.pages.http import _page
from agent_api.security import Role
from crm.kinds import CampaignKind, Channel, Purpose, QuestionKind


def _context(request: web.Request) -> dict[str, object]:
    return {
        "kinds": [k.value for k in CampaignKind],
        "channels": [c.value for c in Channel],
        "purposes": [p.value for p in Purpose],
        "question_kinds": [q.value for q in QuestionKind],
    }


def add_campaign_pages(app: web.Application) -> None:
    app.router.add_get("/campaigns", _page("campaigns.html", Role.ANALYST, Role.ADMIN, extra=_context))
