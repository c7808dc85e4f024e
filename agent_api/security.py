"""Who is calling, CSRF tokens, password hashing, the session cookie and security headers.

- Sessions live on the server (agent_api/sessions.py, stored in the database): the cookie
  holds only a random 256-bit id and its signature (HttpOnly, SameSite=Strict, Secure when the
  site is served over TLS, directly or behind a trusted proxy).
- CSRF: every session has its own token, rendered into each page (``<meta name=csrf-token>``)
  and required in the ``X-CSRF-Token`` header of every state-changing request. The login itself
  accepts only a JSON body, which a cross-site form cannot send, and checks the Origin header.
- Throttling (agent_api/throttle.py): failed logins are counted per client address and per
  (account, address), never per account alone; past a few, a growing delay (429 with
  Retry-After), whether the password is right or not.
- Passwords: argon2id (argon2-cffi), hashed and checked in a worker thread, never on the loop.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from dataclasses import dataclass, field

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from crm.kinds import Role

log = logging.getLogger(__name__)

__all__ = ["CSRF_HEADER", "SESSION_COOKIE", "Principal", "Role"]

SESSION_COOKIE = "hotline_session"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(slots=True)
class Principal:
    """Who is calling, as the handlers see them."""

    username: str
    roles: frozenset[Role]
    display_name: str
    extension: str
    csrf_token: str
    session_id: str = field(repr=False)  # the key the session is stored under, not the cookie
    created: float = 0.0
    last_seen: float = 0.0
    cookie: str = field(default="", repr=False)  # set when the session is made, for Set-Cookie

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))


class Passwords:
    """argon2id hashing off the event loop."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; an unknown user costs the same time as a wrong password."""
        if stored_hash is None:
            if self._dummy is None:
                self._dummy = await self.hash(secrets.token_urlsafe(16))
            stored_hash = self._dummy
            password = password + "\x00unknown"

        def check() -> bool:
            try:
                return self._hasher.verify(stored_hash, password)
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(check)


def same_token(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# --- request side -------------------------------------------------------------------------------

PRINCIPAL_KEY: web.RequestKey[Principal] = web.RequestKey("principal", Principal)


def principal_of(request: web.Request) -> Principal | None:
    return request.get(PRINCIPAL_KEY)


def client_address(request: web.Request) -> str:
    return request.remote or ""


def same_origin(request: web.Request) -> bool:
    """A browser's Origin header, when sent, must name this very site."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return origin in (
        f"{request.scheme}://{request.host}",
        f"http://{request.host}",
        f"https://{request.host}",
    )


def set_session_cookie(response: web.StreamResponse, request: web.Request, principal: Principal) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        principal.cookie,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        path="/",
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@web.middleware
async def security_headers(request: web.Request, handler):  # type: ignore[no-untyped-def]
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", CSP)
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
