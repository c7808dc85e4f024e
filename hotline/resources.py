"""Open files: as many as the system lets this process have, and one log line, not thousands,
when they run out anyway.

Every caller's socket, agent page, AMI and FastAGI connection and database file is an open
file. Linux starts a process with a soft limit of 1,024 (some containers 256) while allowing it
to raise that to its hard limit; ``raise_open_file_limit`` does so at start and warns when even
the hard limit is below what a center needs. When the limit is reached all the same, asyncio
reports every failed ``accept()`` — once a second per listening socket, with a traceback each —
so ``AcceptErrorLog`` lets one warning through per interval, with how many it held back.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

# Below this a center's agents, callers and supervisors can run the process out of files.
USEFUL_OPEN_FILES = 4096
# When the hard limit is "unlimited", Linux still refuses more than fs.nr_open (1,048,576 unless
# raised); ask for that.
UNLIMITED_TARGET = 1_048_576
OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
ACCEPT_LOG_EVERY_S = 60.0

Limits = tuple[int, int]


def raise_open_file_limit(
    getrlimit: Callable[[int], Limits] = resource.getrlimit,
    setrlimit: Callable[[int, Limits], None] = resource.setrlimit,
) -> int:
    """Raise the soft RLIMIT_NOFILE to the hard one; returns the soft limit now in force."""
    soft, hard = getrlimit(resource.RLIMIT_NOFILE)
    target = UNLIMITED_TARGET if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and target > soft:
        try:
            setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning(
                "open_file_limit_not_raised", extra={"kv": {"soft": soft, "hard": hard, "error": exc}}
            )
    if soft != resource.RLIM_INFINITY and soft < USEFUL_OPEN_FILES:
        log.warning(
            "open_file_limit_low",
            extra={
                "kv": {
                    "limit": soft,
                    "useful": USEFUL_OPEN_FILES,
                    "hint": "raise LimitNOFILE= in the systemd unit, ulimit -Hn, or docker --ulimit nofile",
                }
            },
        )
    else:
        log.info("open_file_limit", extra={"kv": {"limit": soft}})
    return soft


class OncePer:
    """Whether to log now: the first time, then at most once per ``interval_s``; pure."""

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._last: float | None = None
        self._held = 0

    def admit(self, now: float) -> int | None:
        """None to stay quiet; else how many were held back since the last line."""
        if self._last is not None and now - self._last < self._interval_s:
            self._held += 1
            return None
        held, self._held, self._last = self._held, 0, now
        return held


class AcceptErrorLog:
    """The event loop's exception handler: failed accepts for want of files are logged once per
    interval; everything else goes to the handler that was there before."""

    def __init__(
        self, *, interval_s: float = ACCEPT_LOG_EVERY_S, clock: Callable[[], float] = time.monotonic
    ):
        self._gate = OncePer(interval_s)
        self._clock = clock
        self._previous: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._previous = loop.get_exception_handler()
        loop.set_exception_handler(self.handle)

    def uninstall(self) -> None:
        if self._loop is not None:
            self._loop.set_exception_handler(self._previous)
            self._loop = None

    def handle(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if (
            isinstance(exc, OSError)
            and exc.errno in OUT_OF_RESOURCES
            and "accept" in context.get("message", "")
        ):
            held = self._gate.admit(self._clock())
            if held is not None:
                log.warning(
                    "accept_failed",
                    extra={
                        "kv": {
                            "error": errno.errorcode.get(exc.errno or 0, str(exc.errno)),
                            "held_back": held,
                        }
                    },
                )
            return
        if self._previous is not None:
            self._previous(loop, context)
        else:
            loop.default_exception_handler(context)
