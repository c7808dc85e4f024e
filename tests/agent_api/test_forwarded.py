"""Behind a trusted TLS proxy: the client's own address for the audit and the throttle, and a
Secure cookie; the same headers from anyone else change nothing."""

from __future__ import annotations

import pytest

from agent_api.proxy import forwarded_client, forwarded_scheme, parse_trusted
from crm import audit as audit_log
from tests.agent_api.stack import Stack

PROXY = parse_trusted(["127.0.0.1", "10.0.0.0/8"])


def test_the_client_is_the_rightmost_hop_that_is_not_a_trusted_proxy():
    assert forwarded_client("127.0.0.1", ["203.0.113.9"], PROXY) == "203.0.113.9"
    # A client that writes its own X-Forwarded-For cannot choose its address.
    assert forwarded_client("127.0.0.1", ["1.1.1.1, 203.0.113.9"], PROXY) == "203.0.113.9"
    # Two trusted proxies in a row.
    assert forwarded_client("127.0.0.1", ["1.1.1.1, 203.0.113.9, 10.1.2.3"], PROXY) == "203.0.113.9"
    assert forwarded_client("127.0.0.1", ["198.51.100.7", "10.1.2.3"], PROXY) == "198.51.100.7"
    assert forwarded_client("127.0.0.1", ["[2001:db8::1]:4711"], PROXY) == "2001:db8::1"


def test_forwarded_headers_from_a_peer_that_is_no_trusted_proxy_are_ignored():
    assert forwarded_client("192.0.2.50", ["203.0.113.9"], PROXY) == "192.0.2.50"
    assert forwarded_client("127.0.0.1", ["203.0.113.9"], ()) == "127.0.0.1"
    assert forwarded_scheme("192.0.2.50", ["https"], "http", PROXY) == "http"


def test_garbage_in_the_forwarded_header_stops_at_the_last_trusted_hop():
    assert forwarded_client("127.0.0.1", ["not-an-address, 10.1.2.3"], PROXY) == "10.1.2.3"
    assert forwarded_client("127.0.0.1", ["", " "], PROXY) == "127.0.0.1"


def test_the_scheme_is_the_one_the_nearest_trusted_proxy_saw():
    assert forwarded_scheme("127.0.0.1", ["https"], "http", PROXY) == "https"
    assert forwarded_scheme("127.0.0.1", ["http, https"], "http", PROXY) == "https"
    assert forwarded_scheme("127.0.0.1", ["gopher"], "http", PROXY) == "http"
    assert forwarded_scheme("127.0.0.1", [], "http", PROXY) == "http"


def test_a_bad_trusted_proxy_entry_is_named():
    with pytest.raises(ValueError, match=r"'proxy\.example'"):
        parse_trusted(["10.0.0.1", "proxy.example"])


async def test_behind_a_trusted_proxy_the_audit_names_the_client_and_the_cookie_is_secure(tmp_path):
    stack = await Stack(tmp_path, trusted_proxies=("127.0.0.1",)).start()
    try:
        response = await stack.client.post(
            "/api/session",
            json={"username": "admin", "password": "demo"},
            headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
        )
        assert response.status == 200
        assert "Secure" in response.headers["Set-Cookie"]
        entry = (await audit_log.entries(stack.db, action="login"))[0]
        assert entry.remote == "203.0.113.9"
    finally:
        await stack.stop()


async def test_without_trusted_proxies_forwarded_headers_are_not_believed(stack: Stack):
    response = await stack.client.post(
        "/api/session",
        json={"username": "admin", "password": "demo"},
        headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
    )
    assert response.status == 200
    assert "Secure" not in response.headers["Set-Cookie"]
    entry = (await audit_log.entries(stack.db, action="login"))[0]
    assert entry.remote == "127.0.0.1"
