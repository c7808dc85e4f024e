"""A follower's HTTP passes every request and WebSocket to the leader and the answer back, says
plainly when there is no leader to ask, and tells the leader who the client was."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from agent_api.proxy import parse_trusted
from hotline.cluster.forward import Forwarder


def leader_app(seen: list[web.Request]) -> web.Application:
    async def echo(request: web.Request) -> web.Response:
        seen.append(request)
        body = await request.read()
        response = web.json_response(
            {
                "path": request.path_qs,
                "method": request.method,
                "length": len(body),
                "host": request.host,
                "xff": request.headers.get("X-Forwarded-For"),
                "proto": request.headers.get("X-Forwarded-Proto"),
                "cookie": request.headers.get("Cookie"),
            },
            status=201 if request.method == "POST" else 200,
        )
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        return response

    async def refused(_request: web.Request) -> web.Response:
        return web.json_response({"error": "not_authenticated"}, status=401)

    async def socket(request: web.Request) -> web.WebSocketResponse:
        if request.cookies.get("session") != "s1":
            raise web.HTTPUnauthorized()
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello"})
        async for message in ws:
            if message.data == "bye":
                await ws.close(code=4001, message=b"session ended")
                break
            await ws.send_str("echo:" + message.data)
        return ws

    app = web.Application()
    app.router.add_get("/api/ws", socket)
    app.router.add_get("/api/denied", refused)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


@pytest.fixture
async def leader() -> TestServer:
    seen: list[web.Request] = []
    server = TestServer(leader_app(seen), host="127.0.0.1")
    await server.start_server()
    server.seen = seen  # type: ignore[attr-defined]
    yield server
    await server.close()


async def follower_for(url: str | None, *, trusted: list[str] | None = None) -> tuple[TestClient, list[int]]:
    unreachable: list[int] = []

    async def leader_url() -> str | None:
        return url

    forwarder = Forwarder(
        leader_url, trusted=parse_trusted(trusted or []), on_unreachable=lambda: unreachable.append(1)
    )
    client = TestClient(TestServer(forwarder.app(), host="127.0.0.1"))
    await client.start_server()
    return client, unreachable


async def test_a_request_reaches_the_leader_with_its_path_body_and_cookies_and_the_answer_comes_back(
    leader: TestServer,
) -> None:
    follower, _ = await follower_for(str(leader.make_url("/")))
    try:
        body = b"x" * 1_000_000
        r = await follower.post("/api/things?page=2&q=%E5%BC%A0", data=body, headers={"Cookie": "session=s1"})
        assert r.status == 201
        answer = await r.json()
        assert answer["path"] == "/api/things?page=2&q=%E5%BC%A0"
        assert answer["length"] == len(body)
        assert answer["cookie"] == "session=s1"
        # The site's name travels unchanged: the leader's same-origin checks see it.
        assert answer["host"] == f"127.0.0.1:{follower.port}"
        assert answer["xff"] == "127.0.0.1" and answer["proto"] == "http"
        assert sorted(r.headers.getall("Set-Cookie")) == [
            "a=1; Path=/",
            "b=2; Path=/",
        ]
        r = await follower.get("/api/denied")
        assert r.status == 401 and (await r.json())["error"] == "not_authenticated"
    finally:
        await follower.close()


async def test_what_an_untrusted_client_claims_in_forwarded_headers_is_not_passed_on_as_true(
    leader: TestServer,
) -> None:
    follower, _ = await follower_for(str(leader.make_url("/")))
    try:
        r = await follower.get("/page", headers={"X-Forwarded-For": "10.9.9.9", "X-Forwarded-Proto": "https"})
        answer = await r.json()
        # The chain keeps what the client wrote, the follower adds the peer it saw (the leader
        # reads from the right); the scheme is the follower's own view: the peer is not trusted.
        assert answer["xff"] == "10.9.9.9, 127.0.0.1"
        assert answer["proto"] == "http"
    finally:
        await follower.close()
    follower, _ = await follower_for(str(leader.make_url("/")), trusted=["127.0.0.1"])
    try:
        r = await follower.get("/page", headers={"X-Forwarded-Proto": "https"})
        assert (await r.json())["proto"] == "https"  # a trusted proxy in front said so
    finally:
        await follower.close()


async def test_a_websocket_is_carried_both_ways_and_closes_with_the_leaders_code(leader: TestServer) -> None:
    follower, _ = await follower_for(str(leader.make_url("/")))
    try:
        async with follower.ws_connect("/api/ws", headers={"Cookie": "session=s1"}) as ws:
            assert (await ws.receive_json())["type"] == "hello"
            await ws.send_str("ping 张")
            assert (await ws.receive()).data == "echo:ping 张"
            await ws.send_str("bye")
            message = await ws.receive()
            assert message.type is aiohttp.WSMsgType.CLOSE and message.data == 4001
        # The leader refuses the handshake: the browser hears the same refusal.
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await follower.ws_connect("/api/ws")
        assert refused.value.status == 401
    finally:
        await follower.close()


async def test_with_no_leader_or_one_that_does_not_answer_the_follower_says_so_and_forgets_the_address(
    leader: TestServer,
) -> None:
    follower, _ = await follower_for(None)
    try:
        r = await follower.get("/api/agent/status")
        assert r.status == 503 and r.headers["Retry-After"] == "2"
        body = await r.json()
        assert body["error"] == "leader_unavailable" and "节点" in body["message"]
        r = await follower.get("/desktop")
        assert r.status == 503 and "自动刷新" in await r.text()
    finally:
        await follower.close()
    gone = f"http://127.0.0.1:{leader.port}/"
    await leader.close()
    follower, unreachable = await follower_for(gone)
    try:
        r = await follower.post("/api/session", json={"username": "a"})
        assert r.status == 503 and unreachable == [1]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await follower.ws_connect("/api/ws")
        assert refused.value.status == 503 and unreachable == [1, 1]
    finally:
        await follower.close()


async def test_more_pages_than_a_client_pools_default_hold_their_websockets_at_once(
    leader: TestServer,
) -> None:
    follower, _ = await follower_for(str(leader.make_url("/")))
    pages = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))  # 120 browsers
    sockets = []
    try:
        async with asyncio.timeout(20):
            for _ in range(120):  # aiohttp's default pool holds 100 connections
                ws = await pages.ws_connect(follower.make_url("/api/ws"), headers={"Cookie": "session=s1"})
                assert (await ws.receive_json())["type"] == "hello"
                sockets.append(ws)
    finally:
        for ws in sockets:
            await ws.close()
        await pages.close()
        await follower.close()
