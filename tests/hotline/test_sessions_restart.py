"""A restart of Hotline logs nobody out: sessions are in the database and the cookie signing key
is generated once into the data folder (readable by Hotline's user only)."""

from __future__ import annotations

import stat
from pathlib import Path

import aiohttp
import pytest
from argon2 import PasswordHasher

from crm import accounts, web_sessions
from crm.kinds import Role
from hotline.app import Hotline
from hotline.session_key import KEY_FILE, session_signing_key
from hotline.settings import SettingsError
from tests.hotline.test_app import tmp_settings


async def _log_in(url: str) -> tuple[str, str]:
    """The session cookie and CSRF token of a fresh login as zhang.min."""
    body = {"username": "zhang.min", "password": "a-long-password"}
    async with aiohttp.ClientSession() as http, http.post(url + "api/session", json=body) as r:
        assert r.status == 200, await r.text()
        return r.cookies["hotline_session"].value, (await r.json())["csrf_token"]


async def test_a_cookie_from_before_a_restart_still_works_after_it(tmp_path: Path) -> None:
    settings = tmp_settings(tmp_path)
    first = Hotline(settings)
    try:
        await first.start()
        await accounts.create_account(
            first.db,
            accounts.NewAccount(
                "zhang.min",
                PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("a-long-password"),
                frozenset({Role.SUPERVISOR}),
            ),
        )
        cookie, csrf = await _log_in(first.url)
    finally:
        await first.stop()
    key_file = tmp_path / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    second = Hotline(settings)  # the same database and data folder
    try:
        await second.start()
        jar = {"hotline_session": cookie}
        async with aiohttp.ClientSession(cookies=jar) as http:
            async with http.get(second.url + "api/session") as r:
                assert r.status == 200
                assert (await r.json())["csrf_token"] == csrf
            async with http.delete(second.url + "api/session", headers={"X-CSRF-Token": csrf}) as r:
                assert r.status == 204
        assert await web_sessions.sessions_of(second.db, "zhang.min") == []
    finally:
        await second.stop()


def test_the_key_is_made_once_and_kept(tmp_path: Path) -> None:
    made = session_signing_key("", tmp_path)
    assert session_signing_key("", tmp_path) == made and len(made) >= 32
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600


def test_a_key_file_others_could_read_is_made_private(tmp_path: Path) -> None:
    session_signing_key("", tmp_path)
    (tmp_path / KEY_FILE).chmod(0o644)
    session_signing_key("", tmp_path)
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600


def test_a_configured_key_wins_and_must_be_long_enough(tmp_path: Path) -> None:
    assert session_signing_key("x" * 40, tmp_path) == b"x" * 40
    assert not (tmp_path / KEY_FILE).exists()
    with pytest.raises(SettingsError, match="at least 32"):
        session_signing_key("short", tmp_path)
