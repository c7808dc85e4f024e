"""The composition of agent_api: ``build_app`` wires the routes, the live feed and the hub.

The composition root calls ``build_app(settings, bus=…, switch=…, acd=…, crm=…, db=…, demo=…)``
and runs the returned application (``web.AppRunner`` / ``web.run_app`` on settings.http
host and port). Everything the application starts (the bus feed, the wallboard ticker, the
WebSocket senders) is started by its startup and stopped by its cleanup context.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web

from agent_api import admin, auth, desktop, supervisor  # noqa: F401  (packages of routes)
from agent_api.admin.http import ENDPOINTS as ADMIN_ENDPOINTS
from agent_api.auth.http import ENDPOINTS as SESSION_ENDPOINTS
from agent_api.auth.http import session_cookie_middleware
from agent_api.bus_consume import LiveFeed
from agent_api.callbacks.http import ENDPOINTS as CALLBACK_ENDPOINTS
from agent_api.callbacks.pages import add_callback_pages
from agent_api.calls import CallBook
from agent_api.campaigns.http import ENDPOINTS as CAMPAIGN_ENDPOINTS
from agent_api.campaigns.pages import add_campaign_pages
from agent_api.context import SERVICES, Services
from agent_api.customers.pages import add_customers
from agent_api.desk_codes.http import ENDPOINTS as DESK_CODE_ENDPOINTS
from agent_api.desk_codes.pages import add_desk_code_pages
from agent_api.desk_codes.service import DESK_CODES_KEY, DeskCodes
from agent_api.desktop.consult import ENDPOINTS as CONSULT_ENDPOINTS
from agent_api.desktop.hot_desk import HotDesk
from agent_api.desktop.http import ENDPOINTS as DESKTOP_ENDPOINTS
from agent_api.desktop.services import Desktop
from agent_api.i18n.errors import localized_errors_middleware
from agent_api.messages.http import ENDPOINTS as MESSAGE_ENDPOINTS
from agent_api.messages.http import MESSAGE_FILES_KEY
from agent_api.messages.pages import add_message_pages
from agent_api.openapi import add_endpoints, endpoints_of, openapi_document
from agent_api.outbox.http import ENDPOINTS as OUTBOX_ENDPOINTS
from agent_api.outbox.pages import add_outbox_pages
from agent_api.pages.http import add_pages
from agent_api.ports import Acd, CrmLookups, WrapupStore
from agent_api.proxy import forwarded_middleware, parse_trusted
from agent_api.recordings.http import ENDPOINTS as RECORDING_ENDPOINTS
from agent_api.recordings.pages import add_recordings
from agent_api.recordings.service import Recordings
from agent_api.reports.engine import CrmReportEngine
from agent_api.reports.http import ENDPOINTS as REPORT_ENDPOINTS
from agent_api.reports.pages import add_reports
from agent_api.reports.ports import ReportEngine
from agent_api.reports.service import Reports
from agent_api.request_parsing import CENTER_TZ, MAX_BODY_BYTES
from agent_api.security import Passwords, security_headers
from agent_api.sessions import SESSIONS_KEY, SessionStore, session_middleware
from agent_api.sms_replies.http import add_sms_replies
from agent_api.subscriptions.http import ENDPOINTS as SUBSCRIPTION_ENDPOINTS
from agent_api.supervisor.http import ENDPOINTS as SUPERVISOR_ENDPOINTS
from agent_api.supervisor.services import Board
from agent_api.throttle import LoginThrottle
from agent_api.tickets.pages import add_tickets
from agent_api.ws import websocket
from agent_api.ws_hub import Hub
from crm import accounts
from crm.db import Database
from crm.kinds import Role
from crm.restart_state import RestartState
from cti.bus import EventBus
from cti.switch import Switch
from recording.message_files import MessageFiles

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
DEMO_PASSWORD = "demo"
DEMO_ACCOUNTS = (
    ("agent1001", "Agent 1001", frozenset({Role.AGENT}), "1001"),
    ("supervisor", "Supervisor", frozenset({Role.SUPERVISOR}), "2001"),
    ("admin", "Administrator", frozenset({Role.ADMIN}), ""),
)
API_VERSION = "1.0.0"
SWEEP_EVERY_S = 60.0
FEED_KEY: web.AppKey[LiveFeed] = web.AppKey("feed", LiveFeed)


def _now() -> datetime:
    return datetime.now(UTC)


def build_app(
    settings: object,
    *,
    bus: EventBus,
    switch: Switch,
    acd: Acd,
    crm: CrmLookups,
    db: Database,
    demo: bool = False,
    clock: Callable[[], datetime] = _now,
    sessions: SessionStore | None = None,
    throttle: LoginThrottle | None = None,
    passwords: Passwords | None = None,
    hub: Hub | None = None,
    board_interval_s: float = 0.25,
    recordings: Recordings | None = None,
    message_files: MessageFiles | None = None,
    reports: ReportEngine | None = None,
    wrapups: WrapupStore | None = None,
    trusted_proxies: Sequence[str] = (),
) -> web.Application:
    """The agent API and pages. ``settings`` is hotline.settings.Settings (``http``, read by
    whoever runs the app, and ``sms.inbound_token``); the CRM database must already be migrated.
    ``trusted_proxies`` (addresses, networks) may set the client's address and scheme with
    X-Forwarded-For and X-Forwarded-Proto (agent_api/proxy.py)."""
    hub = hub or Hub()
    calls = CallBook()
    # Wrap-ups not yet saved are kept in the CRM, so a restart loses none (read back at startup).
    desk = Desktop(acd, crm, hub, calls, clock, wrapups=wrapups or RestartState(db))
    board = Board(acd, hub, clock, interval_s=board_interval_s)
    svc = Services(
        bus=bus,
        switch=switch,
        acd=acd,
        crm=crm,
        db=db,
        hub=hub,
        sessions=sessions or SessionStore(db, demo=demo),
        throttle=throttle or LoginThrottle(),
        passwords=passwords or Passwords(),
        desktop=desk,
        board=board,
        hot_desk=HotDesk(switch),
        clock=clock,
        demo=demo,
    )
    app = web.Application(
        middlewares=[
            forwarded_middleware(parse_trusted(trusted_proxies)),
            security_headers,
            session_middleware,
            session_cookie_middleware,
            localized_errors_middleware,
        ],
        client_max_size=MAX_BODY_BYTES,
    )
    app[SERVICES] = svc
    app[SESSIONS_KEY] = svc.sessions
    svc.sessions.on_end(hub.close_session)  # an ended session's pages go to the login form
    app[FEED_KEY] = LiveFeed(bus, desk, board)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=jinja2.select_autoescape(default=True),
    )
    add_endpoints(
        app,
        [
            *SESSION_ENDPOINTS,
            *DESKTOP_ENDPOINTS,
            *CONSULT_ENDPOINTS,
            *SUPERVISOR_ENDPOINTS,
            *ADMIN_ENDPOINTS,
            *REPORT_ENDPOINTS,
        ],
    )
    tz = ZoneInfo(getattr(settings, "timezone", None) or "Asia/Shanghai")
    app[CENTER_TZ] = tz
    add_reports(app, Reports(reports or CrmReportEngine(db, tz), tz, clock))
    add_customers(app)
    add_tickets(app)
    if recordings is not None:
        add_endpoints(app, RECORDING_ENDPOINTS)
        add_recordings(app, recordings)
    add_endpoints(app, CAMPAIGN_ENDPOINTS)
    add_campaign_pages(app)
    app[DESK_CODES_KEY] = DeskCodes(db)
    add_endpoints(app, DESK_CODE_ENDPOINTS)
    add_desk_code_pages(app)
    if message_files is not None:  # where messages are played from; without it they are listed
        app[MESSAGE_FILES_KEY] = message_files
    add_endpoints(app, MESSAGE_ENDPOINTS)
    add_message_pages(app)
    add_endpoints(app, CALLBACK_ENDPOINTS)
    add_callback_pages(app)
    add_endpoints(app, SUBSCRIPTION_ENDPOINTS)
    add_sms_replies(app, getattr(getattr(settings, "sms", None), "inbound_token", ""))
    add_endpoints(app, OUTBOX_ENDPOINTS)
    add_outbox_pages(app)
    app.router.add_get("/api/openapi.json", openapi_json)
    app.router.add_get("/api/ws", websocket)
    add_pages(app)
    app.router.add_static("/static/", HERE / "static", name="static")
    app.cleanup_ctx.append(_live)
    app.on_shutdown.append(_close_sockets)
    return app


async def _close_sockets(app: web.Application) -> None:
    """Close the browsers' sockets first: the server waits for open handlers before it stops."""
    await app[SERVICES].hub.close_all()


async def openapi_json(request: web.Request) -> web.Response:
    document = openapi_document(endpoints_of(request.app), title="Hotline agent API", version=API_VERSION)
    return web.json_response(document)


async def ensure_demo_accounts(db: Database, passwords: Passwords) -> None:
    """Create the demo accounts (password ``demo``) if they are missing, and print them.

    The composition root calls this before it builds the ACD, whose agents are the accounts."""
    for username, name, roles, extension in DEMO_ACCOUNTS:
        if await accounts.get_account(db, username) is None:
            await accounts.create_account(
                db,
                accounts.NewAccount(
                    username=username,
                    password_hash=await passwords.hash(DEMO_PASSWORD),
                    roles=roles,
                    display_name=name,
                    extension=extension,
                    skills={"support": 5, "vip": 6, "sales": 4} if Role.AGENT in roles else {},
                    demo=True,
                ),
            )
        print(f"demo account: {username} / {DEMO_PASSWORD} ({', '.join(sorted(roles))})", flush=True)


async def _live(app: web.Application) -> AsyncIterator[None]:
    svc = app[SERVICES]
    feed = app[FEED_KEY]
    restored = await svc.desktop.load_wrapups()
    if restored:
        log.info("wrapups_restored", extra={"kv": {"count": restored}})
    # Dispositions and pause reasons as administered; the ACD accepts the pause reasons.
    codes = await app[DESK_CODES_KEY].reload()
    svc.acd.states.add_reason_codes(c.code for c in codes if c.kind == "pause" and c.enabled)
    await feed.start()
    await svc.board.start()
    sweeper = asyncio.create_task(_sweep_sessions(svc.sessions), name="session-sweeper")
    yield
    sweeper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sweeper
    await svc.hub.close_all()
    await svc.hot_desk.stop()
    await svc.board.stop()
    await feed.stop()


async def _sweep_sessions(sessions: SessionStore) -> None:
    """End expired sessions every SWEEP_EVERY_S, so their sockets close though no page asks."""
    while True:
        await asyncio.sleep(SWEEP_EVERY_S)
        try:
            ended = await sessions.sweep()
        except Exception:
            log.exception("session_sweep_failed")
        else:
            if ended:
                log.info("sessions_expired", extra={"kv": {"count": ended}})
