"""The one WebSocket of a browser session: /api/ws.

On connect the server sends ``hello`` (the agent's state, the pops of calls still live, the
wallboard for supervisors), then live frames. The page treats ``hello`` as the whole truth: it
drops whatever it showed before, so after a reconnect it never shows a call that has ended.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import WSMsgType, web

from agent_api.context import services
from agent_api.errors import Forbidden, NotAuthenticated
from agent_api.openapi import error_response
from agent_api.security import Role, principal_of, same_origin
from agent_api.ws_hub import TOO_MANY_SOCKETS, TooManySockets, frame

HEARTBEAT_S = 20.0
MAX_CLIENT_FRAME = 4096
CLOSE_TIMEOUT_S = 1.0


async def websocket(request: web.Request) -> web.StreamResponse:
    principal = principal_of(request)
    if principal is None:
        return error_response(NotAuthenticated("log in first"))
    if not same_origin(request):
        return error_response(Forbidden("cross-site WebSocket refused"))
    svc = services(request)
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_CLIENT_FRAME)
    await ws.prepare(request)
    try:
        conn = svc.hub.attach(principal.username, principal.roles, ws, session=principal.session_id)
    except TooManySockets:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await ws.close(code=TOO_MANY_SOCKETS, message=b"too-many-sockets")
        return ws
    try:
        _hello(svc, conn, principal.username, principal.roles)
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            if message.data == "resync":
                _hello(svc, conn, principal.username, principal.roles)
            elif message.data == "ping":
                conn.offer(frame("pong"))
    finally:
        await svc.hub.detach(conn)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await ws.close()
    return ws


def _hello(svc, conn, user: str, roles: frozenset[Role]) -> None:  # type: ignore[no-untyped-def]
    if Role.AGENT in roles:
        conn.offer(svc.desktop.hello(user))
    else:
        conn.offer(frame("hello", status=None, pops=[], pending=[]))
    if roles & {Role.SUPERVISOR, Role.ADMIN}:
        conn.offer(svc.board.board_frame())
