"""The WebSocket hub: a slow client is dropped and nobody else waits for it."""

from __future__ import annotations

import asyncio

from aiohttp import WSMsgType

from agent_api.context import SERVICES
from agent_api.ws_hub import Connection, Hub, frame
from crm.kinds import Role
from tests.agent_api.stack import Stack, login, next_frame


class _NeverSends:
    async def send_str(self, text: str) -> None:
        await asyncio.Event().wait()

    async def close(self, **kwargs: object) -> None:
        return None


async def test_a_full_queue_drops_the_client_and_keeps_only_the_close_order():
    conn = Connection("a", frozenset({Role.AGENT}), _NeverSends(), asyncio.Queue(3))  # type: ignore[arg-type]
    assert all(conn.offer(frame("x", n=n)) for n in range(3))
    assert conn.offer(frame("x", n=3)) is False
    assert conn.dropped and conn.queue.qsize() == 1
    assert conn.offer(frame("x", n=4)) is False


async def test_a_send_that_never_completes_drops_the_client_after_the_send_timeout():
    hub = Hub(queue_frames=4, send_timeout_s=0.05)
    conn = hub.attach("a", frozenset({Role.AGENT}), _NeverSends())  # type: ignore[arg-type]
    conn.offer(frame("x"))
    assert conn.task is not None
    await asyncio.wait_for(conn.task, 2.0)
    assert conn.dropped and hub.drops == 1
    await hub.detach(conn)


async def test_a_client_that_stops_reading_is_dropped_while_a_reading_client_gets_every_frame(tmp_path):
    stack = await Stack(tmp_path, hub=Hub(queue_frames=8, send_timeout_s=2.0)).start()
    try:
        await login(stack.client, "agent1001")
        hub = stack.app[SERVICES].hub
        reader = await stack.client.ws_connect("/api/ws")
        stalled = await stack.client.ws_connect("/api/ws", autoping=False)
        await next_frame(reader, "hello")
        blob = "x" * 65536
        received = 0
        for n in range(400):
            hub.send_user("agent1001", frame("bulk", n=n, blob=blob))
            message = await next_frame(reader, "bulk")
            assert message["n"] == n
            received += 1
        assert received == 400
        assert hub.drops == 1
        await reader.close()
        await stalled.close()
    finally:
        await stack.stop()


async def test_the_server_closes_a_dropped_client_with_try_again_later():
    hub = Hub(queue_frames=2, send_timeout_s=1.0)

    class Recorder:
        closed_with: object = None

        async def send_str(self, text: str) -> None:
            await asyncio.sleep(0)

        async def close(self, **kwargs: object) -> None:
            self.closed_with = kwargs.get("code")

    ws = Recorder()
    conn = hub.attach("a", frozenset({Role.AGENT}), ws)  # type: ignore[arg-type]
    for n in range(5):
        conn.offer(frame("x", n=n))
    assert conn.task is not None
    await asyncio.wait_for(conn.task, 2.0)
    assert ws.closed_with == 1013
    await hub.detach(conn)


async def test_the_socket_refuses_a_caller_without_a_session(stack: Stack):
    response = await stack.client.get("/api/ws")
    assert response.status == 401


async def test_the_socket_answers_ping_and_resync(stack: Stack):
    await login(stack.client, "agent1001")
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    await ws.send_str("ping")
    await next_frame(ws, "pong")
    await ws.send_str("resync")
    assert (await next_frame(ws, "hello"))["status"]["agent"] == "agent1001"
    await ws.send_bytes(b"\x00garbage")
    await ws.send_str("ping")
    await next_frame(ws, "pong")
    await ws.close()
    assert ws.closed and (await ws.receive()).type in (WSMsgType.CLOSED, WSMsgType.CLOSE)
