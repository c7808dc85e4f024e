"""Logging out in one tab closes the session's other sockets; the user's other sessions stay."""

from __future__ import annotations

import asyncio

from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from agent_api.context import SERVICES
from tests.agent_api.stack import Stack, login, next_frame


async def closed_with(ws) -> int:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(5):
        message = await ws.receive()
        while message.type is not WSMsgType.CLOSE:
            message = await ws.receive()
    return message.data


async def test_logging_out_closes_every_socket_of_that_session_and_no_other(stack: Stack):
    csrf = await login(stack.client, "supervisor")
    first_tab = await stack.client.ws_connect("/api/ws")
    second_tab = await stack.client.ws_connect("/api/ws")
    other = TestClient(stack.server)  # another browser, the same user
    await other.start_server()
    try:
        await login(other, "supervisor")
        elsewhere = await other.ws_connect("/api/ws")
        for ws in (first_tab, second_tab, elsewhere):
            await next_frame(ws, "hello")

        response = await stack.client.delete("/api/session", headers={"X-CSRF-Token": csrf})
        assert response.status == 204
        assert await closed_with(first_tab) == 1008  # the page goes to the login form
        assert await closed_with(second_tab) == 1008
        await elsewhere.send_str("ping")
        assert (await next_frame(elsewhere, "pong"))["type"] == "pong"
        assert stack.app[SERVICES].hub.connections() == 1
        await elsewhere.close()
    finally:
        await other.session.close()  # TestClient.close would stop the shared server
