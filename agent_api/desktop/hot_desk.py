"""Hot-desking: an agent whose account may work at any free desk proves they sit at its phone.

Asking to log in on another desk's extension rings that phone with a one-time code as its
caller ID ("Hotline 4821" <4821>): the display shows it while it rings, and whoever answers
hears it read out (the dialplan's ``hotline-play`` context, the ``digits/N`` sounds). The code
never goes to the browser; the agent types what the phone shows, and only then does the ACD log
them in there. A code is good once, for ``ttl_s``, for ``tries`` attempts; asking again replaces
it, at most once every ``reissue_s`` so that nobody can keep a stranger's phone ringing.

``HotDeskCodes`` is the pure core (clock injected); ``HotDesk`` rings the phone in a task it
owns, so the request does not wait the ring out.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from cti.errors import SwitchError
from cti.switch import Switch

log = logging.getLogger(__name__)

CODE_DIGITS = 4
CODE_TTL_S = 120.0
CODE_TRIES = 3
REISSUE_S = 15.0
RING_S = 25.0
PLAY_CONTEXT = "hotline-play"  # Answer, Playback(${PROMPT}), Hangup


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


@dataclass(slots=True)
class Challenge:
    agent: str
    extension: str
    code: str
    issued_at: float
    expires_at: float
    tries_left: int


class Outcome(enum.StrEnum):
    CONFIRMED = "confirmed"
    WRONG = "wrong"
    NONE = "none"  # nothing asked, expired, or out of tries


class TooSoon(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"the phone was rung a moment ago; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class HotDeskCodes:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        ttl_s: float = CODE_TTL_S,
        tries: int = CODE_TRIES,
        reissue_s: float = REISSUE_S,
        make_code: Callable[[], str] = new_code,
    ) -> None:
        self._clock = clock
        self._ttl_s = ttl_s
        self._tries = tries
        self._reissue_s = reissue_s
        self._make_code = make_code
        self._pending: dict[str, Challenge] = {}  # by agent: one desk at a time

    def issue(self, agent: str, extension: str) -> Challenge:
        now = self._clock()
        self._forget_expired(now)
        earlier = self._pending.get(agent)
        if earlier is not None and now - earlier.issued_at < self._reissue_s:
            raise TooSoon(math.ceil(self._reissue_s - (now - earlier.issued_at)))
        challenge = Challenge(agent, extension, self._make_code(), now, now + self._ttl_s, self._tries)
        self._pending[agent] = challenge
        return challenge

    def confirm(self, agent: str, code: str) -> tuple[Outcome, Challenge | None]:
        now = self._clock()
        self._forget_expired(now)
        challenge = self._pending.get(agent)
        if challenge is None:
            return Outcome.NONE, None
        if secrets.compare_digest(challenge.code.encode(), code.encode()):
            del self._pending[agent]
            return Outcome.CONFIRMED, challenge
        challenge.tries_left -= 1
        if challenge.tries_left <= 0:
            del self._pending[agent]
        return Outcome.WRONG, challenge

    def _forget_expired(self, now: float) -> None:
        for agent in [a for a, c in self._pending.items() if c.expires_at <= now]:
            del self._pending[agent]


def caller_id(code: str) -> str:
    return f'"Hotline {code}" <{code}>'


def spoken(code: str) -> str:
    """The code read out digit by digit, as Playback takes a list of sounds."""
    return "&".join(f"digits/{digit}" for digit in code)


class HotDesk:
    def __init__(self, switch: Switch, codes: HotDeskCodes | None = None, *, ring_s: float = RING_S) -> None:
        self.codes = codes or HotDeskCodes()
        self._switch = switch
        self._ring_s = ring_s
        self._rings: set[asyncio.Task[None]] = set()

    def ring(self, challenge: Challenge) -> None:
        """Ring the desk's phone with the code; the agent reads it off the display."""
        task = asyncio.create_task(self._ring(challenge), name=f"hot-desk-{challenge.extension}")
        self._rings.add(task)
        task.add_done_callback(self._rings.discard)

    async def _ring(self, challenge: Challenge) -> None:
        fields = {"agent": challenge.agent, "extension": challenge.extension}
        try:
            result = await self._switch.originate(
                channel=f"PJSIP/{challenge.extension}",
                context=PLAY_CONTEXT,
                exten="s",
                caller_id=caller_id(challenge.code),
                variables={"PROMPT": spoken(challenge.code)},
                timeout_s=self._ring_s,
            )
        except SwitchError as exc:
            log.warning("hot_desk_ring_failed", extra={"kv": {**fields, "error": str(exc)}})
            return
        # Not answering is fine: the display showed the code while it rang.
        log.info("hot_desk_rung", extra={"kv": {**fields, "answered": result.success}})

    async def settle(self) -> None:
        """Wait for the phones being rung (tests; shutdown)."""
        if self._rings:
            await asyncio.gather(*tuple(self._rings), return_exceptions=True)

    async def stop(self) -> None:
        for task in tuple(self._rings):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.settle()
