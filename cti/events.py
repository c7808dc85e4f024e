"""Domain events: what the switch tells us about calls, queue members and the link itself.

The call tracker is the only code that turns raw AMI into these; every other package consumes
them. ``call_id`` is Asterisk's Linkedid: one call, however many channels (legs) it has.
Agents are named by their interface (``PJSIP/1001``), the stable key Asterisk uses for a
queue member; acd/ maps interfaces to people.

With several Asterisk servers each has its own ``systemname``, which Asterisk puts in front of
every id it makes ("bj-1733600000.42"): a call id tells its server (``server_of``), and the
link's events say which server they are about (``server``, empty with one server).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

# A phone in these device states is not registered to the server that reports it (chan_pjsip).
UNREACHABLE_STATES = frozenset({"UNAVAILABLE", "INVALID"})

# Asterisk's ids with a systemname: "NAME-EPOCH.SEQUENCE"; without one, "EPOCH.SEQUENCE".
_SERVER_ID = re.compile(r"(.+)-\d+\.\d+")


def server_of(call_id: str) -> str:
    """The systemname of the server that made this call id; "" for a server without one."""
    match = _SERVER_ID.fullmatch(call_id)
    return match.group(1) if match else ""


class TransferKind(enum.StrEnum):
    BLIND = "blind"
    ATTENDED = "attended"


class MemberChange(enum.StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    PAUSED = "paused"
    UNPAUSED = "unpaused"
    DEVICE = "device"  # the member's device state changed (ringing, in use, unavailable…)


class EndCause(enum.StrEnum):
    """Why a call ended, in the words a report uses; the Q.850 code travels beside it."""

    NORMAL = "normal"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    LOST_DURING_DISCONNECT = "lost-during-disconnect"


@dataclass(frozen=True, slots=True)
class SwitchEvent:
    """Base of every event: when it happened (Asterisk's Timestamp when it sent one)."""

    at: datetime


@dataclass(frozen=True, slots=True)
class CallEvent(SwitchEvent):
    call_id: str


# --- calls ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallOffered(CallEvent):
    """A new inbound call reached the switch."""

    caller: str
    caller_name: str
    dialed: str
    channel: str


@dataclass(frozen=True, slots=True)
class IvrStarted(CallEvent):
    channel: str
    script: str  # the AGI URL or script the dialplan ran


@dataclass(frozen=True, slots=True)
class IvrLeft(CallEvent):
    channel: str
    status: str  # AGISTATUS: SUCCESS, FAILURE (Hotline unreachable), HANGUP, NOTFOUND


@dataclass(frozen=True, slots=True)
class CallQueued(CallEvent):
    queue: str
    position: int
    priority: int = 0


@dataclass(frozen=True, slots=True)
class CallRinging(CallEvent):
    agent: str  # interface, e.g. PJSIP/1001
    queue: str  # "" when the agent was dialed directly, not from a queue
    agent_channel: str
    member_name: str = ""


@dataclass(frozen=True, slots=True)
class CallAnswered(CallEvent):
    agent: str
    queue: str
    wait_seconds: float
    agent_channel: str = ""
    ring_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class CallHeld(CallEvent):
    channel: str


@dataclass(frozen=True, slots=True)
class CallResumed(CallEvent):
    channel: str


@dataclass(frozen=True, slots=True)
class CallTransferred(CallEvent):
    from_agent: str
    to: str  # an interface, a queue name or a number
    kind: TransferKind


@dataclass(frozen=True, slots=True)
class ConsultStarted(CallEvent):
    """The agent on the call rings another agent about it (an attended transfer's consult
    leg, docs/transfers.md); the caller hears music on hold meanwhile."""

    agent: str  # the consulting agent's interface
    target: str  # the consulted agent's interface
    target_channel: str


@dataclass(frozen=True, slots=True)
class ConsultAnswered(CallEvent):
    """The consulted agent picked up: the two agents talk while the caller still hears music.
    Not an answer of the call (no ``CallAnswered``, no talk time): the consult stays the
    consulting agent's until it is completed or made a three-way call (docs/transfers.md)."""

    agent: str  # the consulting agent's interface
    target: str  # the consulted agent's interface
    target_channel: str
    ring_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class ConsultCancelled(CallEvent):
    """The consult leg is over and the caller is back with ``agent`` (cancelled, or the target
    did not answer or hung up). Completion is ``CallTransferred(kind=attended)`` instead."""

    agent: str
    target: str


@dataclass(frozen=True, slots=True)
class ConferenceStarted(CallEvent):
    """The consult became a three-way call: the caller, ``agent`` and ``target`` all talk."""

    agent: str
    target: str
    target_channel: str


@dataclass(frozen=True, slots=True)
class ConferenceLeft(CallEvent):
    """``agent`` left the three-way call; the other two stay connected."""

    agent: str


@dataclass(frozen=True, slots=True)
class CallAbandoned(CallEvent):
    queue: str
    wait_seconds: float
    position: int
    original_position: int = 0


@dataclass(frozen=True, slots=True)
class CallEnded(CallEvent):
    cause: EndCause
    talk_seconds: float
    cause_code: int = 0  # Q.850, 0 when unknown
    agent: str = ""  # the last agent who talked with the caller, if any


@dataclass(frozen=True, slots=True)
class MessageLeft(CallEvent):
    """A caller left a message (the leave-a-message context's UserEvent HotlineMessage)."""

    caller: str
    queue: str
    file: str  # the recording's path as Asterisk names it (under its spool directory)
    status: str  # Record()'s RECORD_STATUS: DTMF, SILENCE, HANGUP, TIMEOUT…


@dataclass(frozen=True, slots=True)
class RecordingStarted(CallEvent):
    channel: str
    file: str = ""


@dataclass(frozen=True, slots=True)
class RecordingStopped(CallEvent):
    channel: str
    file: str = ""


# --- queue members -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberStatusChanged(SwitchEvent):
    queue: str
    interface: str
    member_name: str
    change: MemberChange
    paused: bool
    reason: str = ""  # the pause reason, when paused
    device_state: str = ""  # NOT_INUSE, INUSE, RINGING, UNAVAILABLE, …
    server: str = ""  # the server whose queue this is; "" with one server

    @property
    def reachable(self) -> bool | None:
        """Whether the phone can be rung on this server now; None when the state is unknown."""
        if self.device_state in UNREACHABLE_STATES:
            return False
        return True if self.device_state and self.device_state != "UNKNOWN" else None


# --- the link to the switch ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SwitchConnected(SwitchEvent):
    version: str  # the AMI banner's version
    server: str = ""  # its systemname; "" with one server


@dataclass(frozen=True, slots=True)
class SwitchDisconnected(SwitchEvent):
    reason: str
    server: str = ""


@dataclass(frozen=True, slots=True)
class SwitchResynced(SwitchEvent):
    """After a (re)connect the picture of one server's calls and members was rebuilt from it."""

    calls: tuple[str, ...] = field(default_factory=tuple)  # its call ids still in progress
    members: int = 0
    server: str = ""
    # The interfaces its queues list as members and that it can ring: the phones homed on it
    # (every agent's phone is a static member of the fallback queues; it registers to one server).
    phones: tuple[str, ...] = field(default_factory=tuple)

    def ended(self, call_ids: Iterable[str]) -> list[str]:
        """Which of ``call_ids`` ended while the link was down: this server's, no longer listed.
        Another server's calls are not this resync's to end."""
        alive = set(self.calls)
        return [c for c in call_ids if c not in alive and server_of(c) == self.server]


CALL_EVENT_TYPES: tuple[type[CallEvent], ...] = (
    CallOffered,
    IvrStarted,
    IvrLeft,
    CallQueued,
    CallRinging,
    CallAnswered,
    CallHeld,
    CallResumed,
    CallTransferred,
    ConsultStarted,
    ConsultAnswered,
    ConsultCancelled,
    ConferenceStarted,
    ConferenceLeft,
    CallAbandoned,
    CallEnded,
    RecordingStarted,
    RecordingStopped,
)
