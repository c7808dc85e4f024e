"""The WebSocket hub: one sender task and one bounded queue per browser connection.

Frames are serialized once and offered to each connection's queue without waiting. A client
whose queue is full (it stopped reading, or reads slower than frames come) is dropped: its queue
is emptied, the sender closes the socket with 1013 "try again later", and the page reconnects
and resynchronizes from a fresh ``hello`` frame. A send that does not complete within
``send_timeout_s`` (a dead peer, a full TCP window) also drops the client. Nobody else waits
on a slow client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, web

from crm.kinds import Role

log = logging.getLogger(__name__)

QUEUE_FRAMES = 256
SEND_TIMEOUT_S = 5.0
# Every socket is an open file: a page (or a script) opening sockets without end would use up the
# process's file limit and lock everyone out. A tab holds one; these leave room for many tabs.
MAX_PER_SESSION = 8
MAX_PER_USER = 16
# Close code of a socket refused for being one too many (4000–4999 are the application's); the
# page says so and tries again later, rather than reconnecting at once or logging out.
TOO_MANY_SOCKETS = 4429
_CLOSE = object()


class TooManySockets(Exception):
    def __init__(self, scope: str, limit: int) -> None:
        super().__init__(f"at most {limit} sockets per {scope}")
        self.scope = scope
        self.limit = limit


def frame(kind: str, **payload: Any) -> str:
    return json.dumps({"type": kind, **payload}, ensure_ascii=False, default=str, separators=(",", ":"))


@dataclass(eq=False)
class Connection:
    user: str
    roles: frozenset[Role]
    ws: web.WebSocketResponse
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_FRAMES))
    dropped: bool = False
    sent: int = 0
    task: asyncio.Task | None = None
    on_drop: Callable[[], None] | None = None
    close_code: int = WSCloseCode.TRY_AGAIN_LATER
    close_message: bytes = b"too slow"
    session: str = ""  # the browser session the socket was opened under

    def offer(self, text: str) -> bool:
        """Queue a frame; False (and the client dropped) when its queue is full."""
        if self.dropped:
            return False
        try:
            self.queue.put_nowait(text)
            return True
        except asyncio.QueueFull:
            self.drop("slow")
            return False

    def drop(self, why: str) -> None:
        """Close after what is queued is thrown away: "slow" (1013, the page reconnects), or
        another reason (1008, the page does not come back)."""
        if self.dropped:
            return
        self.dropped = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(_CLOSE)
        if why != "slow":
            self.close_code, self.close_message = WSCloseCode.POLICY_VIOLATION, why.encode()
            return
        if self.on_drop is not None:
            self.on_drop()
        log.warning("ws_client_dropped", extra={"kv": {"user": self.user, "why": why}})


class Hub:
    def __init__(
        self,
        *,
        queue_frames: int = QUEUE_FRAMES,
        send_timeout_s: float = SEND_TIMEOUT_S,
        max_per_session: int = MAX_PER_SESSION,
        max_per_user: int = MAX_PER_USER,
    ) -> None:
        self._by_user: dict[str, set[Connection]] = {}
        self._all: set[Connection] = set()
        self._queue_frames = queue_frames
        self._send_timeout_s = send_timeout_s
        self._max_per_session = max_per_session
        self._max_per_user = max_per_user
        self._refusing: set[str] = set()  # users told once that their sockets are refused
        self.drops = 0
        self.refused = 0

    def attach(
        self, user: str, roles: frozenset[Role], ws: web.WebSocketResponse, *, session: str = ""
    ) -> Connection:
        """A new socket of ``user``'s, or ``TooManySockets`` when their session or they hold as
        many as they may (checked and counted in one step: nothing awaits in between)."""
        mine = self._by_user.get(user, set())
        if len(mine) >= self._max_per_user:
            self._refuse(user, TooManySockets("user", self._max_per_user))
        if session and sum(1 for c in mine if c.session == session) >= self._max_per_session:
            self._refuse(user, TooManySockets("session", self._max_per_session))
        conn = Connection(
            user, roles, ws, asyncio.Queue(self._queue_frames), on_drop=self._count_drop, session=session
        )
        conn.task = asyncio.create_task(self._sender(conn), name=f"ws-sender-{user}")
        self._by_user.setdefault(user, set()).add(conn)
        self._all.add(conn)
        return conn

    def _refuse(self, user: str, error: TooManySockets) -> None:
        self.refused += 1
        if user not in self._refusing:  # once until one of theirs closes, not once per attempt
            self._refusing.add(user)
            log.warning("ws_refused", extra={"kv": {"user": user, "per": error.scope, "limit": error.limit}})
        raise error

    def _count_drop(self) -> None:
        self.drops += 1

    async def detach(self, conn: Connection) -> None:
        self._all.discard(conn)
        self._refusing.discard(conn.user)
        users = self._by_user.get(conn.user)
        if users is not None:
            users.discard(conn)
            if not users:
                del self._by_user[conn.user]
        if conn.task is not None:
            conn.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await conn.task

    async def _sender(self, conn: Connection) -> None:
        while True:
            text = await conn.queue.get()
            if text is _CLOSE:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(self._send_timeout_s):
                        await conn.ws.close(code=conn.close_code, message=conn.close_message)
                return
            try:
                async with asyncio.timeout(self._send_timeout_s):
                    await conn.ws.send_str(text)
                conn.sent += 1
            except TimeoutError:
                conn.dropped = True
                self.drops += 1
                log.warning("ws_client_dropped", extra={"kv": {"user": conn.user, "why": "send-timeout"}})
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.ws.close(code=WSCloseCode.TRY_AGAIN_LATER), 1.0)
                return
            except (ConnectionError, RuntimeError):
                conn.dropped = True
                return

    def connected(self, user: str) -> bool:
        return bool(self._by_user.get(user))

    def connections(self) -> int:
        return len(self._all)

    def send_user(self, user: str, text: str) -> int:
        sent = 0
        for conn in tuple(self._by_user.get(user, ())):
            sent += conn.offer(text)
        return sent

    def close_user(self, user: str, why: str) -> int:
        """Close every socket of a user whose session ended (account disabled): code 1008, and the
        page goes back to the login form instead of reconnecting."""
        conns = tuple(self._by_user.get(user, ()))
        for conn in conns:
            conn.drop(why)
        return len(conns)

    def close_session(self, session: str, why: str) -> int:
        """Close every socket opened under a session that ended (logged out in one tab): code 1008,
        as ``close_user``, so the other tabs go back to the login form. The user's other sessions
        (another browser, another computer) keep theirs."""
        conns = [conn for conn in tuple(self._all) if session and conn.session == session]
        for conn in conns:
            conn.drop(why)
        return len(conns)

    def has_roles(self, roles: Iterable[Role]) -> bool:
        """Whether any page of someone with one of these roles is connected."""
        wanted = frozenset(roles)
        return any(conn.roles & wanted for conn in self._all)

    def send_roles(self, roles: Iterable[Role], text: str) -> int:
        wanted = frozenset(roles)
        sent = 0
        for conn in tuple(self._all):
            if conn.roles & wanted:
                sent += conn.offer(text)
        return sent

    async def close_all(self) -> None:
        for conn in tuple(self._all):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(code=WSCloseCode.GOING_AWAY), 1.0)
            await self.detach(conn)
