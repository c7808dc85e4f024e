"""The supervisor's recordings page, and how the service and the page join the application."""

from __future__ import annotations

import json
from collections.abc import Callable

import aiohttp_jinja2
from aiohttp import web

from agent_api.i18n import catalog, language_of
from agent_api.recordings.service import RECORDINGS_KEY, Recordings
from agent_api.request_parsing import CENTER_TZ
from agent_api.security import Role, principal_of


def _catalog(language: str) -> dict[str, str]:
    return catalog(language)  # the one catalog of every page (agent_api/i18n)


def _translator(strings: dict[str, str]) -> Callable[[str], str]:
    return lambda key: strings.get(key, key)


async def recordings_page(request: web.Request) -> web.StreamResponse:
    principal = principal_of(request)
    if principal is None:
        raise web.HTTPFound("/login")
    if not principal.has(Role.SUPERVISOR, Role.ADMIN):
        raise web.HTTPForbidden(text="your roles do not allow this page")
    language = language_of(request)
    strings = _catalog(language)
    context = {
        "lang": language,
        "other_lang": "en" if language == "zh-CN" else "zh-CN",
        "_": _translator(strings),
        "catalog_json": json.dumps(strings, ensure_ascii=False),
        "me": principal,
        "page": "recordings.html",
        "center_tz": str(request.app.get(CENTER_TZ, "") or ""),
        "is_supervisor": True,
        "is_admin": principal.has(Role.ADMIN),
        "is_agent": principal.has(Role.AGENT),
    }
    return aiohttp_jinja2.render_template("recordings.html", request, context)


def add_recordings(app: web.Application, recordings: Recordings) -> None:
    """The service and the page; build_app adds the API endpoints with the others."""
    app[RECORDINGS_KEY] = recordings
    app.router.add_get("/supervisor/recordings", recordings_page)
