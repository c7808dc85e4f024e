"""The servers the cluster tests run on, started once per session: PostgreSQL (the same fixture
as the CRM tests') and Redis (Debian's redis-server on a loopback port, no persistence, started
by bench/servers.py as the load benchmark starts its own)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bench.servers import REDIS_SERVER, RedisServer
from tests.crm.conftest import postgres_url  # noqa: F401  (the session's PostgreSQL)


def close_transport(process: asyncio.subprocess.Process) -> None:
    """Close a finished process's transport while the loop runs: left to the garbage collector,
    it closes its pipes on a loop that has ended (an unraisable error at the session's end)."""
    transport = getattr(process, "_transport", None)
    if transport is not None:
        transport.close()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server not found (make test installs Debian's redis-server)")
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def broker_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied: no stream or snapshot of an earlier test."""
    import redis

    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url
