"""The lease that makes one node the leader: a pure state machine on a monotonic clock.

The store (PostgreSQL, ``pg_lease``) grants a lease for ``ttl_s`` seconds counted from its own
clock when it answers; the node counts from the moment it *asked*, which is earlier, so the local
deadline ends before the store's expiry whatever the network delay. Every grant to a new holder
raises the **epoch**, the fencing number: it only grows, and a node that sees an epoch not above
the last it held refuses it.

A leader may act (send a switch action) only while ``now < deadline - margin``: the margin covers
the time between the check and the action reaching the switch. A leader that was paused (SIGSTOP,
a stalled machine) finds its deadline passed when it runs again and refuses to act before it has
even asked the store; if the store then says another node holds the lease, it steps down.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    FOLLOWER = "follower"
    LEADER = "leader"


@dataclass(frozen=True, slots=True)
class Elected:
    epoch: int


@dataclass(frozen=True, slots=True)
class Deposed:
    epoch: int
    reason: str  # "expired": the deadline passed without a renewal; "taken": another node holds it


Transition = Elected | Deposed


class LeaseError(ValueError):
    """The store answered something a lease cannot come from (an epoch that went back)."""


@dataclass(slots=True)
class LeaseCore:
    ttl_s: float
    margin_s: float
    role: Role = Role.FOLLOWER
    epoch: int = 0  # the epoch held (leader), or the last one held (follower)
    deadline: float = 0.0  # local monotonic time until which the lease surely lasts

    def __post_init__(self) -> None:
        if not 0 <= self.margin_s < self.ttl_s:
            raise ValueError(f"the margin ({self.margin_s} s) must be below the lease time ({self.ttl_s} s)")

    def held_epoch(self) -> int:
        """What to show the store as ours when asking: 0 (nothing) unless leading."""
        return self.epoch if self.role is Role.LEADER else 0

    def granted(self, asked_at: float, epoch: int) -> Transition | None:
        """The store granted (or renewed) the lease at ``epoch`` to a request sent at ``asked_at``."""
        if self.role is Role.LEADER and epoch == self.epoch:
            self.deadline = max(self.deadline, asked_at + self.ttl_s)
            return None
        if epoch <= self.epoch:
            raise LeaseError(f"epoch {epoch} granted after epoch {self.epoch}: epochs only grow")
        # A leader granted a new epoch lost its lease in between (the store saw it expire): what
        # it did under the old epoch is over, and it leads afresh, as a newly elected node does.
        self.role, self.epoch, self.deadline = Role.LEADER, epoch, asked_at + self.ttl_s
        return Elected(epoch)

    def refused(self) -> Transition | None:
        """The store says another node holds the lease."""
        return self._depose("taken") if self.role is Role.LEADER else None

    def check(self, now: float) -> Transition | None:
        """Step down once the deadline minus the margin has passed (no renewal came in time)."""
        if self.role is Role.LEADER and now >= self.deadline - self.margin_s:
            return self._depose("expired")
        return None

    def may_act(self, now: float) -> bool:
        return self.role is Role.LEADER and now < self.deadline - self.margin_s

    def _depose(self, reason: str) -> Deposed:
        self.role = Role.FOLLOWER
        self.deadline = 0.0
        return Deposed(self.epoch, reason)
