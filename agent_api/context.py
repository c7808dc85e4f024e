"""What every handler can reach: the services build_app wires, under one typed app key."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from agent_api.ports import Acd, CrmLookups
from agent_api.security import Passwords, Principal, client_address
from agent_api.sessions import SessionStore
from agent_api.throttle import LoginThrottle
from agent_api.ws_hub import Hub
from crm import audit as audit_log
from crm.db import Database
from cti.bus import EventBus
from cti.switch import Switch

if TYPE_CHECKING:
    from agent_api.desktop.hot_desk import HotDesk
    from agent_api.desktop.services import Desktop
    from agent_api.supervisor.services import Board

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Services:
    bus: EventBus
    switch: Switch
    acd: Acd
    crm: CrmLookups
    db: Database
    hub: Hub
    sessions: SessionStore
    throttle: LoginThrottle
    passwords: Passwords
    desktop: Desktop
    board: Board
    hot_desk: HotDesk
    clock: Callable[[], datetime]
    demo: bool = False


SERVICES: web.AppKey[Services] = web.AppKey("services", Services)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


async def audit(request: web.Request, actor: str, action: str, target: str = "", **detail: Any) -> None:
    """Add to the audit log; a failing audit write is logged, and the action it records stands."""
    try:
        await audit_log.record(
            services(request).db, actor, action, target=target, remote=client_address(request), detail=detail
        )
    except Exception:
        log.exception("audit_write_failed", extra={"kv": {"actor": actor, "action": action}})


def require(principal: Principal | None) -> Principal:
    assert principal is not None  # endpoints with roles always have one
    return principal
