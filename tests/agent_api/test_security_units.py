"""The session cookie's signature and the session rules, without a server."""

from __future__ import annotations

from agent_api.security import same_token
from agent_api.sessions import CookieSigner, SessionPolicy, key_of


def test_a_session_ends_after_it_has_been_idle_too_long_or_at_its_maximum_age():
    policy = SessionPolicy(idle_s=100, max_age_s=300)
    assert not policy.expired(created=0, last_seen=200, now=299)
    assert policy.expired(created=0, last_seen=199, now=300)  # idle 101 s
    assert policy.expired(created=0, last_seen=300, now=301)  # older than 300 s, however busy


def test_a_cookie_is_the_session_id_and_its_signature_and_nothing_else_passes():
    signer = CookieSigner(b"k" * 32)
    cookie = signer.sign("abc")
    assert cookie.startswith("abc.") and signer.unsign(cookie) == "abc"
    assert CookieSigner(b"j" * 32).unsign(cookie) is None
    for bad in ("abc", "abc.", ".sig", cookie + "x", "x" + cookie, "", "a" * 300):
        assert signer.unsign(bad) is None, bad


def test_sessions_are_stored_under_a_hash_of_their_id():
    assert key_of("abc") != "abc" and len(key_of("abc")) == 64 and key_of("abc") == key_of("abc")


def test_token_comparison_is_exact():
    assert same_token("abc", "abc") and not same_token("abc", "abd") and not same_token("", "abc")
