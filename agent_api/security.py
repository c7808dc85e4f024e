"""Sessions, CSRF tokens, login throttling, password hashing and security headers.

- Sessions live on the server: the cookie holds only a random 256-bit id (HttpOnly,
  SameSite=Strict, Secure when the site is served over TLS). Sessions expire after
  ``idle_s`` without use and ``max_age_s`` in all; they are lost when the process restarts,
  which logs everyone out — acceptable for a call center where agents log in at each shift.
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
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from crm.kinds import Role

log = logging.getLogger(__name__)

__all__ = ["CSRF_HEADER", "SESSION_COOKIE", "Principal", "Role"]

SESSION_COOKIE = "hotline_session"
CSRF_HEADER = "X-CSRF-Token"
MAX_SESSIONS = 10_000  # beyond this the least recently used session is ended


@dataclass(slots=True)
class Principal:
    """Who is calling, as the handlers see them."""

    username: str
    roles: frozenset[Role]
    display_name: str
    extension: str
    csrf_token: str
    session_id: str = field(repr=False)
    created: float = 0.0
    last_seen: float = 0.0

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))


class SessionStore:
    def __init__(
        self,
        *,
        idle_s: float = 8 * 3600,
        max_age_s: float = 14 * 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions: OrderedDict[str, Principal] = OrderedDict()
        self._idle_s = idle_s
        self._max_age_s = max_age_s
        self._clock = clock

    def create(self, username: str, roles: frozenset[Role], display_name: str, extension: str) -> Principal:
        now = self._clock()
        session_id = secrets.token_urlsafe(32)
        principal = Principal(
            username=username,
            roles=roles,
            display_name=display_name,
            extension=extension,
            csrf_token=secrets.token_urlsafe(32),
            session_id=session_id,
            created=now,
            last_seen=now,
        )
        self._sessions[session_id] = principal
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return principal

    def get(self, session_id: str) -> Principal | None:
        principal = self._sessions.get(session_id)
        if principal is None:
            return None
        now = self._clock()
        if now - principal.last_seen > self._idle_s or now - principal.created > self._max_age_s:
            del self._sessions[session_id]
            return None
        principal.last_seen = now
        self._sessions.move_to_end(session_id)
        return principal

    def end(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def end_user(self, username: str) -> int:
        """End every session of a user (disabled account, new roles)."""
        ended = [sid for sid, p in self._sessions.items() if p.username == username]
        for sid in ended:
            del self._sessions[sid]
        return len(ended)


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

SESSIONS_KEY: web.AppKey[SessionStore] = web.AppKey("sessions", SessionStore)
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
        principal.session_id,
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
async def session_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        principal = request.app[SESSIONS_KEY].get(session_id)
        if principal is not None:
            request[PRINCIPAL_KEY] = principal
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", CSP)
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
