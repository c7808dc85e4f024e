"""The real client behind a trusted reverse proxy (docs/deploy.md puts nginx or Caddy in front).

A proxy that terminates TLS connects from its own address; who is really calling, and whether
they came over HTTPS, is in ``X-Forwarded-For`` and ``X-Forwarded-Proto``. Anyone can send those
headers, so they are read only when the peer is one of the configured ``trusted_proxies``, and
``X-Forwarded-For`` is read from the right: each trusted proxy appends the address it saw, so the
rightmost address that is not a trusted proxy is the client. What a client wrote further left
is never believed.

``forwarded_middleware`` rewrites the request's ``remote`` and ``scheme`` once, at the edge, so
the login throttle, the audit log, the logs and the cookie's ``Secure`` flag all see the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable, Sequence

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def parse_trusted(entries: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.5", "192.168.1.0/24", "::1"]`` as networks; a bad entry is named in the error."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"[http] trusted_proxies: {entry!r} is not an IP address or network (10.0.0.5, 10.0.0.0/8)"
            ) from None
    return tuple(networks)


def parse_address(text: str) -> Address | None:
    """An address as proxies write it: ``1.2.3.4``, ``1.2.3.4:5678``, ``::1`` or ``[::1]:80``."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: Address | None, trusted: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in trusted)


def forwarded_client(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client's address: ``peer`` itself unless it is a trusted proxy; then the rightmost
    hop of ``X-Forwarded-For`` (every header of that name, in order) that is not a trusted proxy.
    A hop that is not an address stops the walk at the last trusted hop before it."""
    current = parse_address(peer)
    if not is_trusted(current, trusted):
        return peer
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            break
        current = address
        if not is_trusted(address, trusted):
            break
    return str(current)


def forwarded_scheme(peer: str, proto: Sequence[str], scheme: str, trusted: Sequence[Network]) -> str:
    """``https`` when a trusted proxy says the client came over HTTPS (the value the nearest
    proxy added, the rightmost), else the scheme of the connection itself."""
    if not is_trusted(parse_address(peer), trusted):
        return scheme
    values = [value.strip().lower() for header in proto for value in header.split(",") if value.strip()]
    if values and values[-1] in ("http", "https"):
        return values[-1]
    return scheme


def forwarded_middleware(trusted: Sequence[Network]) -> Callable[[web.Request, Handler], Awaitable]:
    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        peer = request.remote or ""
        if not trusted or not is_trusted(parse_address(peer), trusted):
            return await handler(request)
        client = forwarded_client(peer, request.headers.getall("X-Forwarded-For", []), trusted)
        scheme = forwarded_scheme(
            peer, request.headers.getall("X-Forwarded-Proto", []), request.scheme, trusted
        )
        return await handler(request.clone(remote=client, scheme=scheme))

    return forwarded
