"""A follower's HTTP: every request and WebSocket passed to the leading node, and its answer back.

Agents' states, the calls, the marketing slots and the screen-pops live in the leader's ACD and
nowhere else (one owner per fact), so a follower does not answer from a copy that could be a
moment behind: it forwards. The load balancer may then send anyone to any node. The leader's
address comes from the broker (``ClusterNode.leader_url``); while there is none, or it does not
answer (the takeover's seconds), the follower says so in Chinese with ``503`` and
``Retry-After``, and the desktop's script retries as it does for any lost connection.

To the leader a follower is a reverse proxy like nginx: it appends its peer to
``X-Forwarded-For`` and states the scheme in ``X-Forwarded-Proto`` (agent_api/proxy.py), and the
leader believes them when every node's address is in ``[http] trusted_proxies`` (docs/scale.md).
The ``Host`` header travels unchanged, so the leader's same-origin checks see the site's name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web
from multidict import CIMultiDict

from agent_api.proxy import Network, forwarded_scheme

log = logging.getLogger(__name__)

LeaderUrl = Callable[[], Awaitable[str | None]]

# Headers that describe one connection, not the message (RFC 9110 §7.6.1), and the WebSocket
# handshake's own, which the forwarder makes afresh towards the leader.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-accept",
    }
)
UNAVAILABLE = "服务正在切换到另一个节点，请几秒后重试"
RETRY_AFTER_S = 2


class Forwarder:
    def __init__(
        self,
        leader_url: LeaderUrl,
        *,
        trusted: Sequence[Network] = (),
        on_unreachable: Callable[[], None] = lambda: None,
        connect_timeout_s: float = 3.0,
    ) -> None:
        self._leader_url = leader_url
        self._trusted = tuple(trusted)
        self._on_unreachable = on_unreachable  # the address may be stale: read it again next time
        self._connect_timeout_s = connect_timeout_s
        self._client: aiohttp.ClientSession | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_shutdown.append(self._close_sockets)
        app.on_cleanup.append(self._close_client)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        base = await self._leader_url()
        if not base:
            return unavailable(request)
        url = base.rstrip("/") + request.rel_url.raw_path_qs
        headers = self._headers(request)
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request, url, headers)
        try:
            upstream = await self._session().request(
                request.method,
                url,
                headers=headers,
                data=request.content if request.body_exists else None,
                allow_redirects=False,
                auto_decompress=False,
            )
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            self._unreachable(url, exc)
            return unavailable(request)
        async with upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            response.headers.extend(_end_to_end(upstream.headers))
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    async def _websocket(
        self, request: web.Request, url: str, headers: CIMultiDict[str]
    ) -> web.StreamResponse:
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        protocols = [p.strip() for p in offered.split(",") if p.strip()]
        headers.popall("Sec-WebSocket-Protocol", None)
        try:
            upstream = await self._session().ws_connect(
                url, headers=headers, protocols=protocols, autoping=True, max_msg_size=0
            )
        except aiohttp.WSServerHandshakeError as exc:
            # The leader refused (not signed in, too many pages): the browser hears the same.
            return web.Response(status=exc.status, text=exc.message or "")
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            self._unreachable(url, exc)
            return unavailable(request)
        chosen = [upstream.protocol] if upstream.protocol else []
        browser = web.WebSocketResponse(protocols=chosen, max_msg_size=0)
        await browser.prepare(request)
        self._sockets.add(browser)
        try:
            await _pump_both_ways(browser, upstream)
        finally:
            self._sockets.discard(browser)
            await upstream.close()
            await browser.close()
        return browser

    def _headers(self, request: web.Request) -> CIMultiDict[str]:
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP)
        peer = request.remote or ""
        forwarded = ", ".join(request.headers.getall("X-Forwarded-For", ()))
        headers.popall("X-Forwarded-For", None)
        headers["X-Forwarded-For"] = f"{forwarded}, {peer}" if forwarded else peer
        proto = request.headers.getall("X-Forwarded-Proto", ())
        headers.popall("X-Forwarded-Proto", None)
        headers["X-Forwarded-Proto"] = forwarded_scheme(peer, proto, request.scheme, self._trusted)
        return headers

    def _session(self) -> aiohttp.ClientSession:
        if self._client is None or self._client.closed:
            self._client = aiohttp.ClientSession(
                # Every page's WebSocket holds a connection to the leader for as long as it is
                # open: aiohttp's default pool of 100 would leave the 101st page waiting.
                connector=aiohttp.TCPConnector(limit=0),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._connect_timeout_s),
                cookie_jar=aiohttp.DummyCookieJar(),  # cookies belong to the browsers, not to us
                skip_auto_headers=("User-Agent", "Accept-Encoding"),
            )
        return self._client

    def _unreachable(self, url: str, exc: BaseException) -> None:
        log.warning(
            "cluster_leader_unreachable", extra={"kv": {"url": url, "error": str(exc) or type(exc).__name__}}
        )
        self._on_unreachable()

    async def _close_sockets(self, _app: web.Application) -> None:
        for socket in list(self._sockets):
            await socket.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"node stopping")

    async def _close_client(self, _app: web.Application) -> None:
        if self._client is not None:
            await self._client.close()


def unavailable(request: web.Request) -> web.Response:
    headers = {"Retry-After": str(RETRY_AFTER_S), "Cache-Control": "no-store"}
    if request.path.startswith("/api/"):
        body = {"error": "leader_unavailable", "message": UNAVAILABLE, "details": {}}
        return web.json_response(body, status=503, headers=headers)
    page = (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{RETRY_AFTER_S + 1}"><title>请稍候</title>'
        f"<p>{UNAVAILABLE}。本页会自动刷新。</p></html>"
    )
    return web.Response(text=page, content_type="text/html", status=503, headers=headers)


def _end_to_end(headers: CIMultiDict[str] | object) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers.items() if k.lower() not in _HOP_BY_HOP]  # type: ignore[attr-defined]


async def _pump_both_ways(browser: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse) -> None:
    """Frames each way until one side closes; then the other is closed with the same code."""

    async def pump(source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse, sink: Any) -> None:
        async for message in source:
            if message.type is WSMsgType.TEXT:
                await sink.send_str(message.data)
            elif message.type is WSMsgType.BINARY:
                await sink.send_bytes(message.data)
            elif message.type is WSMsgType.ERROR:
                break
        code = source.close_code or aiohttp.WSCloseCode.GOING_AWAY
        with contextlib.suppress(ConnectionError, RuntimeError):
            await sink.close(code=code)

    tasks = [asyncio.ensure_future(pump(browser, upstream)), asyncio.ensure_future(pump(upstream, browser))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError):
                await task
