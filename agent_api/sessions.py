"""Browser sessions: in the database so a restart logs nobody out, capped per user, and every
end of a session — log out, expiry, a newer login beyond the cap, an account disabled — told to
whoever holds its WebSockets.

- The cookie is ``<id>.<signature>``: a random 256-bit id and an HMAC-SHA256 of it under the
  signing key (``[http] session_key``, else a key generated once into the data folder). A
  forged or altered cookie is refused before the database is asked.
- The database keeps a row per session under a hash of the id (crm/web_sessions.py); the
  account's roles and name are read from the account each time a session is loaded.
- A session ends after ``idle_s`` without use and at ``max_age_s`` in all. Its last use is
  written at most every ``touch_s``, not on every request.
- A user holds at most ``per_user`` sessions: a new login ends the oldest beyond that, so no
  account can crowd out the others, and a login at another desk does not leave an old one open
  for long.
- Loaded sessions are kept in memory (at most ``max_cached``, least recently used forgotten
  first — forgotten from memory only, the database still has them).

docs/sessions.md says why, and what else was considered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from agent_api.security import PRINCIPAL_KEY, SESSION_COOKIE, Principal
from crm import accounts
from crm import web_sessions as table
from crm.db import Database

log = logging.getLogger(__name__)

MAX_CACHED = 10_000

# Why a session ended, as its WebSockets are told (close code 1008 sends the page to the login
# form, which says why).
LOGGED_OUT = "logged-out"
EXPIRED = "session-expired"
REPLACED = "session-replaced"
ENDED = "session-ended"  # account disabled, roles or password changed

OnEnd = Callable[[str, str], object]  # (session key, why)


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle_s: float = 8 * 3600
    max_age_s: float = 14 * 3600
    per_user: int = 3
    touch_s: float = 60.0

    def expired(self, created: float, last_seen: float, now: float) -> bool:
        return now - last_seen > self.idle_s or now - created > self.max_age_s


class CookieSigner:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a session signing key needs at least 16 bytes")
        self._key = key

    def _mac(self, session_id: str) -> str:
        digest = hmac.new(self._key, session_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, session_id: str) -> str:
        return f"{session_id}.{self._mac(session_id)}"

    def unsign(self, cookie: str) -> str | None:
        session_id, dot, mac = cookie.rpartition(".")
        if not dot or not session_id or len(cookie) > 200:
            return None
        return session_id if hmac.compare_digest(mac.encode(), self._mac(session_id).encode()) else None


def key_of(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(slots=True)
class _Live:
    principal: Principal
    written_seen: float  # the last use the database has


class SessionStore:
    def __init__(
        self,
        db: Database,
        *,
        signing_key: bytes | None = None,
        policy: SessionPolicy | None = None,
        demo: bool = False,
        clock: Callable[[], float] = time.time,
        max_cached: int = MAX_CACHED,
    ) -> None:
        self._db = db
        self._signer = CookieSigner(signing_key or secrets.token_bytes(32))
        self.policy = policy or SessionPolicy()
        self._demo = demo
        self._clock = clock
        self._cache: OrderedDict[str, _Live] = OrderedDict()
        self._max_cached = max_cached
        self._listeners: list[OnEnd] = []

    def on_end(self, listener: OnEnd) -> None:
        """Call ``listener(key, why)`` whenever a session ends (the hub closes its sockets)."""
        self._listeners.append(listener)

    # --- the requests' side -----------------------------------------------------------------

    async def create(self, account: accounts.Account) -> Principal:
        """A new session for ``account``; the oldest of theirs beyond the cap end."""
        now = self._clock()
        session_id = secrets.token_urlsafe(32)
        key = key_of(session_id)
        mine = await table.sessions_of(self._db, account.username)
        surplus = len(mine) + 1 - self.policy.per_user
        if surplus > 0:
            await self._end([s.key for s in mine[:surplus]], REPLACED)
        principal = Principal(
            username=account.username,
            roles=account.roles,
            display_name=account.display_name,
            extension=account.extension,
            csrf_token=secrets.token_urlsafe(32),
            session_id=key,
            created=now,
            last_seen=now,
            cookie=self._signer.sign(session_id),
        )
        await table.add_session(
            self._db, table.StoredSession(key, account.username, principal.csrf_token, _at(now), _at(now))
        )
        self._remember(key, _Live(principal, now))
        return principal

    async def get(self, cookie: str) -> Principal | None:
        """The session a cookie names, if it is genuine, stored and alive; it counts as used."""
        session_id = self._signer.unsign(cookie)
        if session_id is None:
            return None
        key = key_of(session_id)
        live = self._cache.get(key)
        if live is None:
            live = await self._load(key)
            if live is None:
                return None
        now = self._clock()
        principal = live.principal
        if self.policy.expired(principal.created, principal.last_seen, now):
            await self._end([key], EXPIRED)
            return None
        principal.last_seen = now
        self._cache.move_to_end(key)
        if now - live.written_seen >= self.policy.touch_s:
            live.written_seen = now
            await table.touch_session(self._db, key, _at(now))
        return principal

    async def _load(self, key: str) -> _Live | None:
        stored = await table.get_session(self._db, key)
        if stored is None:
            return None
        account = await accounts.get_account(self._db, stored.username)
        if account is None or not account.enabled or (account.demo and not self._demo):
            await self._end([key], ENDED)
            return None
        seen = stored.last_seen_at.timestamp()
        principal = Principal(
            username=account.username,
            roles=account.roles,
            display_name=account.display_name,
            extension=account.extension,
            csrf_token=stored.csrf_token,
            session_id=key,
            created=stored.created_at.timestamp(),
            last_seen=seen,
        )
        live = _Live(principal, seen)
        self._remember(key, live)
        return live

    def _remember(self, key: str, live: _Live) -> None:
        self._cache[key] = live
        while len(self._cache) > self._max_cached:
            self._cache.popitem(last=False)

    # --- ends ---------------------------------------------------------------------------------

    async def end(self, key: str, why: str = LOGGED_OUT) -> None:
        await self._end([key], why)

    async def end_user(self, username: str, why: str = ENDED) -> int:
        """End every session of a user (disabled account, new roles, new password)."""
        keys = [s.key for s in await table.sessions_of(self._db, username)]
        cached = (k for k, live in self._cache.items() if live.principal.username == username)
        keys += [k for k in cached if k not in keys]
        await self._end(keys, why)
        return len(keys)

    async def sweep(self) -> int:
        """End the sessions that expired; run every minute or so, so their sockets close even
        when their pages make no request."""
        now = self._clock()
        policy = self.policy
        stale = await table.stale_sessions(
            self._db, seen_before=_at(now - policy.idle_s), created_before=_at(now - policy.max_age_s)
        )
        ended = []
        for key in stale:
            live = self._cache.get(key)
            if live is not None and not self.policy.expired(
                live.principal.created, live.principal.last_seen, now
            ):
                # Used since its last use was written: write it now rather than end it.
                live.written_seen = live.principal.last_seen
                await table.touch_session(self._db, key, _at(live.written_seen))
                continue
            ended.append(key)
        await self._end(ended, EXPIRED)
        return len(ended)

    async def _end(self, keys: list[str], why: str) -> None:
        if not keys:
            return
        await table.delete_sessions(self._db, keys)
        for key in keys:
            self._cache.pop(key, None)
            for listener in self._listeners:
                try:
                    listener(key, why)
                except Exception:
                    log.exception("session_end_listener_failed", extra={"kv": {"why": why}})


# --- request side -------------------------------------------------------------------------------

SESSIONS_KEY: web.AppKey[SessionStore] = web.AppKey("sessions", SessionStore)


@web.middleware
async def session_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        principal = await request.app[SESSIONS_KEY].get(cookie)
        if principal is not None:
            request[PRINCIPAL_KEY] = principal
    return await handler(request)
