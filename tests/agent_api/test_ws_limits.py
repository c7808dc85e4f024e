"""WebSockets per session and per user are bounded: one page opening hundreds of sockets cannot
use up the server's open files; the extra ones are refused with a close code that says so."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from agent_api.context import SERVICES
from agent_api.ws_hub import TOO_MANY_SOCKETS, Hub, TooManySockets
from crm.kinds import Role
from tests.agent_api.stack import Stack, login, next_frame


async def closed_with(ws) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(5):
        message = await ws.receive()
        while message.type is not WSMsgType.CLOSE:
            message = await ws.receive()
    return message.data, message.extra


async def test_sockets_beyond_the_sessions_limit_are_refused_with_a_clear_close_code(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    stack = await Stack(tmp_path, hub=Hub(max_per_session=3, max_per_user=5)).start()
    try:
        await login(stack.client, "agent1001")
        open_ones = [await stack.client.ws_connect("/api/ws") for _ in range(3)]
        for ws in open_ones:
            await next_frame(ws, "hello")
        for _ in range(20):
            extra = await stack.client.ws_connect("/api/ws")
            assert await closed_with(extra) == (TOO_MANY_SOCKETS, "too-many-sockets")
        assert stack.app[SERVICES].hub.connections() == 3
        refusals = [r for r in caplog.records if r.getMessage() == "ws_refused"]
        assert len(refusals) == 1  # one warning for the episode, not one per attempt

    finally:
        await stack.stop()


async def test_a_users_sessions_together_hold_at_most_the_users_limit(tmp_path):
    stack = await Stack(tmp_path, hub=Hub(max_per_session=3, max_per_user=4)).start()
    other = TestClient(stack.server)
    await other.start_server()
    try:
        await login(stack.client, "supervisor")
        await login(other, "supervisor")
        mine = [await stack.client.ws_connect("/api/ws") for _ in range(3)]
        for ws in mine:
            await next_frame(ws, "hello")
        fourth = await other.ws_connect("/api/ws")
        await next_frame(fourth, "hello")
        fifth = await other.ws_connect("/api/ws")
        assert (await closed_with(fifth))[0] == TOO_MANY_SOCKETS
    finally:
        await other.session.close()
        await stack.stop()


class _Quiet:
    async def send_str(self, text: str) -> None:
        return None

    async def close(self, **kwargs: object) -> None:
        return None


async def test_a_closed_socket_makes_room_for_a_new_one():
    hub = Hub(max_per_session=2, max_per_user=10)
    first = hub.attach("a", frozenset({Role.AGENT}), _Quiet(), session="s1")  # type: ignore[arg-type]
    hub.attach("a", frozenset({Role.AGENT}), _Quiet(), session="s1")  # type: ignore[arg-type]
    with pytest.raises(TooManySockets):
        hub.attach("a", frozenset({Role.AGENT}), _Quiet(), session="s1")  # type: ignore[arg-type]
    hub.attach("a", frozenset({Role.AGENT}), _Quiet(), session="s2")  # type: ignore[arg-type]
    await hub.detach(first)
    hub.attach("a", frozenset({Role.AGENT}), _Quiet(), session="s1")  # type: ignore[arg-type]
    assert hub.connections() == 3
    await hub.close_all()
