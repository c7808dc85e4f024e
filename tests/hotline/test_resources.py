"""Open files: the soft limit is raised to the hard one at start, with a warning when that is
still too few; and running out of them makes one log line per minute, not one per accept."""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import socket

import pytest

from hotline.resources import USEFUL_OPEN_FILES, AcceptErrorLog, OncePer, raise_open_file_limit


class Limits:
    def __init__(self, soft: int, hard: int, *, refuse: bool = False) -> None:
        self.limits = (soft, hard)
        self.refuse = refuse

    def get(self, which: int) -> tuple[int, int]:
        assert which == resource.RLIMIT_NOFILE
        return self.limits

    def set(self, which: int, limits: tuple[int, int]) -> None:
        if self.refuse:
            raise ValueError("not allowed")
        self.limits = limits


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_soft_limit_is_raised_to_the_hard_one(caplog: pytest.LogCaptureFixture) -> None:
    limits = Limits(256, 65536)
    assert raise_open_file_limit(limits.get, limits.set) == 65536
    assert limits.limits == (65536, 65536) and warnings(caplog) == []


def test_an_unlimited_hard_limit_asks_for_what_linux_allows() -> None:
    limits = Limits(1024, resource.RLIM_INFINITY)
    assert raise_open_file_limit(limits.get, limits.set) == 1_048_576


def test_a_hard_limit_too_low_for_a_center_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    limits = Limits(256, 512)
    assert raise_open_file_limit(limits.get, limits.set) == 512 < USEFUL_OPEN_FILES
    assert warnings(caplog) == ["open_file_limit_low"]


def test_a_limit_that_cannot_be_raised_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    limits = Limits(256, 65536, refuse=True)
    assert raise_open_file_limit(limits.get, limits.set) == 256
    assert warnings(caplog) == ["open_file_limit_not_raised", "open_file_limit_low"]


def test_once_per_interval_says_how_many_it_held_back() -> None:
    gate = OncePer(60.0)
    assert gate.admit(0.0) == 0
    assert [gate.admit(t) for t in (1.0, 30.0, 59.0)] == [None, None, None]
    assert gate.admit(60.0) == 3
    assert gate.admit(61.0) is None


async def test_failed_accepts_for_want_of_files_are_logged_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    loop = asyncio.get_running_loop()
    now = [0.0]
    handler = AcceptErrorLog(interval_s=60.0, clock=lambda: now[0])
    handler.install(loop)
    try:
        with socket.socket() as listening:
            for _ in range(1000):  # what asyncio reports, once a second per listening socket
                loop.call_exception_handler(
                    {
                        "message": "socket.accept() out of system resource",
                        "exception": OSError(errno.EMFILE, "Too many open files"),
                        "socket": listening,
                    }
                )
                now[0] += 0.05
    finally:
        handler.uninstall()
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in lines] == ["accept_failed"]
    assert lines[0].kv == {"error": "EMFILE", "held_back": 0}
    assert not any(r.exc_info for r in caplog.records)
    assert loop.get_exception_handler() is None


async def test_other_loop_errors_still_reach_the_handler_that_was_there_before() -> None:
    loop = asyncio.get_running_loop()
    seen: list[dict] = []
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    handler = AcceptErrorLog()
    handler.install(loop)
    try:
        loop.call_exception_handler({"message": "something else", "exception": RuntimeError("x")})
        loop.call_exception_handler(
            {"message": "socket.accept() out of system resource", "exception": OSError(errno.EMFILE, "")}
        )
    finally:
        handler.uninstall()
        loop.set_exception_handler(None)
    assert [c["message"] for c in seen] == ["something else"]
