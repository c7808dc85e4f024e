"""Server-rendered pages (aiohttp-jinja2) and the language switch."""

from __future__ import annotations

import json

import aiohttp_jinja2
from aiohttp import web

from agent_api.context import services
from agent_api.desk_codes.service import DESK_CODES_KEY
from agent_api.i18n import COOKIE, LANGUAGES, catalog, language_of, translate
from agent_api.pages.charts import service_level_svg
from agent_api.recordings.service import RECORDINGS_KEY
from agent_api.request_parsing import CENTER_TZ
from agent_api.security import Principal, Role, principal_of
from crm.desk_codes import CodeKind


def page_context(request: web.Request, principal: Principal | None, page: str) -> dict[str, object]:
    """What every page's template needs: language, catalog, who is looking and what they may open."""
    language = language_of(request)
    return {
        "lang": language,
        "other_lang": "en" if language == "zh-CN" else "zh-CN",
        "_": lambda key: translate(language, key),
        "catalog_json": json.dumps(catalog(language), ensure_ascii=False),
        "me": principal,
        "page": page,
        "is_supervisor": bool(principal and principal.has(Role.SUPERVISOR, Role.ADMIN)),
        "is_admin": bool(principal and principal.has(Role.ADMIN)),
        "is_agent": bool(principal and principal.has(Role.AGENT)),
        "is_technician": bool(principal and principal.has(Role.TECHNICIAN)),
        # the recording pause/resume routes exist only when build_app was given a recording service
        "recording_controls": RECORDINGS_KEY in request.app,
        # the center's time zone: every time a person reads is shown in it, whatever the browser's
        "center_tz": str(request.app.get(CENTER_TZ, "") or ""),
    }


def _desktop_context(request: web.Request) -> dict[str, object]:
    """What the agent page offers in its pickers: the site's pause reasons, where to transfer,
    the dispositions a wrap-up may take."""
    config = services(request).acd.config
    codes, queues = request.app[DESK_CODES_KEY], sorted(config.queues)
    return {
        # administered per queue in the CRM (agent_api/desk_codes): every queue's, labelled
        "dispositions": [c.code for c in codes.offered_any_queue(CodeKind.DISPOSITION, queues)],
        "pause_reasons": [c.code for c in codes.offered_any_queue(CodeKind.PAUSE, queues)],
        "code_labels": _code_labels(request),
        "transfer_queues": sorted(config.queues),
        "transfer_agents": sorted(
            ((p.name or p.agent, p.extension) for p in config.agents.values() if p.extension),
            key=lambda pair: pair[1],
        ),
    }


def _board_context(request: web.Request) -> dict[str, object]:
    """The reasons a supervisor may pause an agent with: the site's, as on the agent's page."""
    codes = request.app[DESK_CODES_KEY]
    queues = sorted(services(request).acd.config.queues)
    return {
        "pause_reasons": [c.code for c in codes.offered_any_queue(CodeKind.PAUSE, queues)],
        "code_labels": _code_labels(request),
    }


def _code_labels(request: web.Request) -> dict[str, str]:
    language = language_of(request)
    return {c.code: c.label(language) for c in request.app[DESK_CODES_KEY].codes}


def _admin_context(request: web.Request) -> dict[str, object]:
    return {"roles": list(Role)}


def _page(template: str, *roles: Role, extra=None):  # type: ignore[no-untyped-def]
    async def view(request: web.Request) -> web.StreamResponse:
        principal = principal_of(request)
        if principal is None:
            raise web.HTTPFound("/login")
        if roles and not principal.has(*roles):
            return forbidden_page(request, principal)
        context = page_context(request, principal, template)
        if extra is not None:
            context.update(extra(request))
        return aiohttp_jinja2.render_template(template, request, context)

    return view


def forbidden_page(request: web.Request, principal: Principal) -> web.StreamResponse:
    """A 403 a person can read: the site's own page, in their language, with the way home."""
    response = aiohttp_jinja2.render_template(
        "forbidden.html", request, page_context(request, principal, "forbidden.html")
    )
    response.set_status(403)
    return response


@web.middleware
async def pages_not_found(request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
    """A page that is not there (a mistyped or old link, a report or a feature this site does not
    have) answers with the site's own page in the reader's language, not the server's English
    "404: Not Found". The API and static files keep their own answers."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        if request.method != "GET" or request.path.startswith(("/api/", "/static/")):
            raise
        response = aiohttp_jinja2.render_template(
            "not_found.html", request, page_context(request, principal_of(request), "not_found.html")
        )
        response.set_status(404)
        return response


async def home(request: web.Request) -> web.StreamResponse:
    principal = principal_of(request)
    if principal is None:
        raise web.HTTPFound("/login")
    if principal.has(Role.AGENT):
        raise web.HTTPFound("/agent")
    if principal.has(Role.SUPERVISOR):
        raise web.HTTPFound("/supervisor")
    if principal.has(Role.ADMIN):
        raise web.HTTPFound("/admin")
    if principal.has(Role.TECHNICIAN):
        raise web.HTTPFound("/field")
    raise web.HTTPFound("/analyst")


async def login_page(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template("login.html", request, page_context(request, None, "login"))


async def switch_language(request: web.Request) -> web.StreamResponse:
    language = request.match_info["lang"]
    if language not in LANGUAGES:
        raise web.HTTPNotFound()
    response = web.HTTPFound("/")
    response.set_cookie(COOKIE, language, samesite="Lax", path="/", max_age=365 * 86400)
    raise response


async def board_svg(request: web.Request) -> web.StreamResponse:
    principal = principal_of(request)
    if principal is None or not principal.has(Role.SUPERVISOR, Role.ADMIN):
        raise web.HTTPForbidden()
    board = services(request).board.wallboard()
    title = translate(language_of(request), "supervisor.service_level")
    return web.Response(text=service_level_svg(board, title), content_type="image/svg+xml")


def add_pages(app: web.Application) -> None:
    app.middlewares.append(pages_not_found)
    app.router.add_get("/", home)
    app.router.add_get("/login", login_page)
    app.router.add_get("/lang/{lang}", switch_language)
    app.router.add_get("/agent", _page("agent.html", Role.AGENT, extra=_desktop_context))
    board = _page("supervisor.html", Role.SUPERVISOR, Role.ADMIN, extra=_board_context)
    app.router.add_get("/supervisor", board)
    app.router.add_get("/supervisor/board.svg", board_svg)
    app.router.add_get("/admin", _page("admin.html", Role.ADMIN, extra=_admin_context))
    app.router.add_get("/analyst", _page("analyst.html", Role.ANALYST, Role.ADMIN))
