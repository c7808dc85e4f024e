"""app_queue's state: queues, their members and the callers waiting in them."""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field

from cti.simulator.channels import Channel


class DeviceStatus(enum.IntEnum):
    """app_queue's member ``Status`` codes (Asterisk's device states)."""

    UNKNOWN = 0
    NOT_INUSE = 1
    INUSE = 2
    BUSY = 3
    INVALID = 4
    UNAVAILABLE = 5
    RINGING = 6
    RINGINUSE = 7
    ONHOLD = 8


DEVICE_STATE_NAME = {
    DeviceStatus.UNKNOWN: "UNKNOWN",
    DeviceStatus.NOT_INUSE: "NOT_INUSE",
    DeviceStatus.INUSE: "INUSE",
    DeviceStatus.BUSY: "BUSY",
    DeviceStatus.INVALID: "INVALID",
    DeviceStatus.UNAVAILABLE: "UNAVAILABLE",
    DeviceStatus.RINGING: "RINGING",
    DeviceStatus.RINGINUSE: "RINGINUSE",
    DeviceStatus.ONHOLD: "ONHOLD",
}


@dataclass(slots=True)
class Member:
    queue: str
    interface: str
    name: str
    state_interface: str
    penalty: int = 0
    membership: str = "dynamic"
    calls_taken: int = 0
    last_call: float = 0.0
    last_pause: float = 0.0
    login_time: float = 0.0
    in_call: bool = False
    status: int = DeviceStatus.NOT_INUSE
    paused: bool = False
    paused_reason: str = ""

    @property
    def available(self) -> bool:
        return not self.paused and self.status == DeviceStatus.NOT_INUSE


@dataclass(eq=False, slots=True)
class QueueEntry:
    channel: Channel
    queue: str
    joined: float
    original_position: int
    priority: int = 0
    music: bool = True  # music on hold is playing for the caller (not an announcement)
    announced_at: float | None = None  # the last position announcement began
    announcing_until: float = 0.0
    rang: bool = False  # reached the head of the queue and rang members
    # Set by QueueWithdrawCaller: the info to leave in QUEUE_WITHDRAW_INFO ("" for none).
    withdraw_info: str | None = None
    withdraw_asked_at: float = 0.0
    withdrawn: asyncio.Future[None] | None = None


@dataclass(slots=True)
class Queue:
    name: str
    strategy: str = "rrmemory"
    timeout_s: float = 10.0
    retry_s: float = 1.0
    announces: bool = False  # announce-position: where the caller is, at the join and each minute
    members: dict[str, Member] = field(default_factory=dict)
    entries: list[QueueEntry] = field(default_factory=list)
    waiters: dict[QueueEntry, asyncio.Future[None]] = field(default_factory=dict)
    completed: int = 0
    abandoned: int = 0
    holdtime: int = 0
    talktime: int = 0
    _rr_next: int = 0

    def position(self, entry: QueueEntry) -> int:
        return self.entries.index(entry) + 1

    def record_completed(self, hold_s: int, talk_s: int) -> None:
        # app_queue keeps exponentially weighted averages: (old * 3 + new) / 4.
        self.holdtime = (self.holdtime * 3 + hold_s) // 4
        self.talktime = (self.talktime * 3 + talk_s) // 4
        self.completed += 1

    def record_connected_hold(self, hold_s: int) -> None:
        self.holdtime = (self.holdtime * 3 + hold_s) // 4

    def pick_members(self) -> list[Member]:
        """The members to ring for the caller at the head, by the queue's strategy."""
        members = [m for m in self.members.values() if m.available]
        if not members:
            return []
        if self.strategy == "ringall":
            return sorted(members, key=lambda m: m.penalty)
        lowest = min(m.penalty for m in members)
        members = [m for m in members if m.penalty == lowest]
        if self.strategy in ("leastrecent", "fewestcalls"):
            key = (lambda m: m.last_call) if self.strategy == "leastrecent" else (lambda m: m.calls_taken)
            return [min(members, key=key)]
        order = list(self.members)
        start = self._rr_next % max(1, len(order))
        rotated = order[start:] + order[:start]
        for interface in rotated:
            member = self.members[interface]
            if member in members:
                self._rr_next = order.index(interface) + 1
                return [member]
        return []
