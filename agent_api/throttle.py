"""Login throttling: slow down password guessing without letting a stranger lock an account.

Failed logins are counted per client address and per (account, address) — never per account
alone, since then anybody who knows a user name could keep its owner out. Each count is a score
that grows by one with every failure and is forgiven continuously (one failure every
``forgive_s``; a failure counts in full until it is wholly forgiven). Once the free failures are
used up, every further failure blocks that key for a delay that doubles with each, up to
``max_delay_s``; while a key is blocked, attempts are refused (429 with Retry-After) without
checking the password, right or wrong, and without adding to the score. A good login clears
its (account, address) score; the address's stays, so logging in to one's own account does not
buy more guesses at another's.

IPv6 clients are counted by their /64, the block one subscriber gets. docs/login-throttling.md
says why this design and not another. Pure: the clock is injected, nothing is awaited.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_KEYS = 50_000  # beyond this the least recently touched counts are forgotten


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    free_failures: int  # failures with no delay at all
    first_delay_s: float  # the delay after the first failure beyond them; doubles with each next
    max_delay_s: float
    forgive_s: float  # one failure is forgiven every this many seconds

    def delay_s(self, score: float) -> float:
        # A failure counts in full until it is wholly forgiven: five quick failures are five.
        failures = math.ceil(score - 1e-9)
        if failures < self.free_failures:
            return 0.0
        return min(self.max_delay_s, self.first_delay_s * 2.0 ** (failures - self.free_failures))


# A person who mistypes their own password a few times, or an agent behind a shared address,
# never waits; a guesser at one account is down to about one try per forgive_s.
PER_ACCOUNT_ADDRESS = ThrottleRule(free_failures=5, first_delay_s=2.0, max_delay_s=900.0, forgive_s=300.0)
# Many accounts from one address (a NAT'd floor without trusted_proxies shares one).
PER_ADDRESS = ThrottleRule(free_failures=20, first_delay_s=2.0, max_delay_s=900.0, forgive_s=60.0)


@dataclass(slots=True)
class _Count:
    score: float = 0.0
    at: float = 0.0
    blocked_until: float = 0.0

    def decayed(self, now: float, rule: ThrottleRule) -> float:
        return max(0.0, self.score - (now - self.at) / rule.forgive_s)


def address_key(address: str) -> str:
    """The address a count is kept for: itself, or its /64 for IPv6."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


class LoginThrottle:
    def __init__(
        self,
        *,
        per_address: ThrottleRule = PER_ADDRESS,
        per_account_address: ThrottleRule = PER_ACCOUNT_ADDRESS,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self._rules = {"addr": per_address, "acct": per_account_address}
        self._clock = clock
        self._counts: OrderedDict[tuple[str, str], _Count] = OrderedDict()
        self._max_keys = max_keys

    def _keys(self, username: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
        where = address_key(address)
        return ("addr", where), ("acct", f"{username.lower()}\x00{where}")

    def retry_after(self, username: str, address: str) -> int:
        """Whole seconds until ``username`` may be tried from ``address``; 0 when it may now."""
        now = self._clock()
        wait = 0.0
        for key in self._keys(username, address):
            count = self._counts.get(key)
            if count is not None:
                wait = max(wait, count.blocked_until - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        for key in self._keys(username, address):
            rule = self._rules[key[0]]
            count = self._counts.pop(key, None) or _Count()
            count.score = count.decayed(now, rule) + 1.0
            count.at = now
            delay = rule.delay_s(count.score)
            if delay > 0:
                count.blocked_until = max(count.blocked_until, now + delay)
            self._counts[key] = count
        while len(self._counts) > self._max_keys:
            self._counts.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        self._counts.pop(self._keys(username, address)[1], None)
