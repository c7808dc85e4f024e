"""Session routes: log in (throttled, audited), who am I, log out."""

from __future__ import annotations

import logging
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints

from agent_api.context import audit, require, services
from agent_api.errors import BadRequest, NotAuthenticated, TooManyAttempts
from agent_api.openapi import Endpoint, endpoint
from agent_api.security import (
    Principal,
    Role,
    clear_session_cookie,
    client_address,
    same_origin,
    set_session_cookie,
)
from crm import accounts

log = logging.getLogger(__name__)

ALL_ROLES = tuple(Role)
NEW_SESSION: web.RequestKey[Principal] = web.RequestKey("new_session", Principal)


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class SessionInfo(BaseModel):
    username: str
    display_name: str
    roles: list[Role]
    extension: str
    csrf_token: str


def session_info(principal: Principal) -> SessionInfo:
    return SessionInfo(
        username=principal.username,
        display_name=principal.display_name,
        roles=sorted(principal.roles),
        extension=principal.extension,
        csrf_token=principal.csrf_token,
    )


@endpoint(
    "POST", "/api/session", summary="Log in", roles=None, body=LoginBody, response=SessionInfo, tag="session"
)
async def login(request: web.Request, principal: Principal | None, body: LoginBody) -> SessionInfo:
    svc = services(request)
    if not same_origin(request):
        raise BadRequest("cross-site login refused")
    address = client_address(request)
    wait = svc.throttle.retry_after(body.username, address)
    if wait:
        fields = {"user": body.username, "remote": address, "wait_s": wait}
        log.warning("login_throttled", extra={"kv": fields})
        raise TooManyAttempts(f"too many failed logins; try again in {wait} s", retry_after_s=wait)
    account = await accounts.get_account(svc.db, body.username)
    usable = account is not None and account.enabled and (svc.demo or not account.demo)
    ok = await svc.passwords.verify(account.password_hash if usable and account else None, body.password)
    if not ok or account is None:
        svc.throttle.failed(body.username, address)
        await audit(request, body.username, "login-failed")
        raise NotAuthenticated("wrong user name or password")
    svc.throttle.succeeded(body.username, address)
    new = await svc.sessions.create(account)
    request[NEW_SESSION] = new
    await audit(request, account.username, "login")
    return session_info(new)


@endpoint(
    "GET",
    "/api/session",
    summary="Who am I (and my CSRF token)",
    roles=ALL_ROLES,
    response=SessionInfo,
    tag="session",
)
async def whoami(request: web.Request, principal: Principal | None) -> SessionInfo:
    return session_info(require(principal))


@endpoint("DELETE", "/api/session", summary="Log out", roles=ALL_ROLES, tag="session")
async def logout(request: web.Request, principal: Principal | None) -> None:
    me = require(principal)
    svc = services(request)
    await svc.sessions.end(me.session_id)  # the session's other tabs go to the login form
    await audit(request, me.username, "logout")


ENDPOINTS: list[Endpoint] = [login, whoami, logout]


@web.middleware
async def session_cookie_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """Sets the cookie of a session the login just made, clears it at logout."""
    response = await handler(request)
    if request.path == "/api/session":
        if request.method == "POST" and response.status == 200:
            made = request.get(NEW_SESSION)
            if made is not None:
                set_session_cookie(response, request, made)
        elif request.method == "DELETE" and response.status == 204:
            clear_session_cookie(response)
    return response
