"""The call tracker's memory: channels (legs) grouped into calls, and the small functions that read
AMI header values defensively.

Times are kept as epoch seconds (floats) inside; they become ``datetime`` only on the events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from cti.events import EndCause

# Q.850 cause codes → how a report names the end of a call. 0 is what Asterisk reports when the
# caller simply hangs up inside an application (transcripts 02, 06, 14, 15).
_NORMAL_CAUSES = frozenset({0, 16, 31})
_BUSY_CAUSES = frozenset({17})
_NO_ANSWER_CAUSES = frozenset({18, 19})

# app_queue's member Status codes (QueueMemberStatus, QueueMember) → device state names.
DEVICE_STATES = {
    "0": "UNKNOWN",
    "1": "NOT_INUSE",
    "2": "INUSE",
    "3": "BUSY",
    "4": "INVALID",
    "5": "UNAVAILABLE",
    "6": "RINGING",
    "7": "RINGINUSE",
    "8": "ONHOLD",
}


def end_cause(code: int) -> EndCause:
    if code in _NORMAL_CAUSES:
        return EndCause.NORMAL
    if code in _BUSY_CAUSES:
        return EndCause.BUSY
    if code in _NO_ANSWER_CAUSES:
        return EndCause.NO_ANSWER
    return EndCause.FAILED


def text(value: object) -> str:
    """A header's value as one string: the first one when it repeats, "" when absent."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]
    return ""


def integer(value: object, default: int = 0) -> int:
    try:
        return int(text(value))
    except ValueError:
        return default


def seconds(value: object, default: float = 0.0) -> float:
    try:
        number = float(text(value))
    except ValueError:
        return default
    return number if number == number and abs(number) != float("inf") else default


def moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def interface_of(channel_name: str) -> str:
    """``PJSIP/1001`` for ``PJSIP/1001-0000009b``; ``Local/1001@agents`` for its ``…-0000001;1``."""
    name = channel_name
    if name.startswith("Local/") and name[-2:] in (";1", ";2"):
        name = name[:-2]
    head, sep, _ = name.rpartition("-")
    return head if sep and head else name


def is_local(channel_name: str) -> bool:
    return channel_name.startswith("Local/")


@dataclass(slots=True)
class Channel:
    uniqueid: str
    name: str
    call: Call
    created_at: float
    agent: str = ""  # the agent interface when this leg is one that delivers the call to an agent
    delivery: bool = False  # rung towards an agent (by the queue, or dialed from the caller)
    queue_rung: bool = False  # app_queue rang it (AgentCalled): AgentConnect, not DialEnd, answers it
    dial_begin_at: float | None = None
    local_peer: str = ""  # the other half of a Local channel pair
    bridge: str = ""
    held: bool = False
    hanging: bool = False
    in_ivr: bool = False
    queue_priority: int = 0  # QUEUE_PRIO set on the channel before it joins a queue
    pending_file: str = ""  # MIXMONITOR_FILENAME, set just before MixMonitorStart
    recordings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class TalkSegment:
    start: float
    duration: float | None = None  # None while the agent leg is still talking
    reported: bool = False  # the duration is Asterisk's TalkTime, not our own difference


@dataclass(slots=True)
class Consult:
    """An attended transfer in progress: who consults whom, through which legs."""

    agent: str  # the consulting agent's interface
    agent_uniqueid: str
    target: str  # the consulted agent's interface
    target_uniqueid: str  # their phone's leg
    local_uniqueids: frozenset[str]  # the Local channel pair Asterisk dials the consult through
    rung_at: float


@dataclass(slots=True)
class Call:
    call_id: str
    created_at: float
    primary: str = ""  # uniqueid of the first channel: the caller for inbound calls
    channels: dict[str, Channel] = field(default_factory=dict)
    announced: bool = False  # a domain event was emitted for it, so it owes exactly one CallEnded
    queue: str = ""  # the queue it waits in, or the last one it left
    in_queue: bool = False
    queued_at: float | None = None  # first join of the current queue stint
    position: int = 0
    original_position: int = 0
    answered: bool = False
    abandoned: bool = False
    agent: str = ""
    agent_uniqueid: str = ""
    transfer_reported: bool = False  # since the caller last entered a bridge
    desk_held: str = ""  # while both legs are in the hold contexts: the agent leg (cti/hold.py)
    attended_target: str = ""
    consult: Consult | None = None  # the agent's consult leg, while one is up (cti/consult.py)
    conference: dict[str, str] = field(default_factory=dict)  # three-way: agent leg → interface
    cause_code: int | None = None  # the caller's hangup cause
    last_cause: int | None = None
    talk: dict[str, TalkSegment] = field(default_factory=dict)

    def talk_seconds(self, now: float) -> float:
        """The caller's time with an agent, once: where the agents' legs overlap (a three-way
        call, docs/transfers.md) the time counts once, not once per agent."""
        spans = sorted(
            (
                segment.start,
                segment.start
                + (segment.duration if segment.duration is not None else max(0.0, now - segment.start)),
            )
            for segment in self.talk.values()
        )
        total, reach = 0.0, float("-inf")
        for start, end in spans:
            if end > reach:
                total += end - max(start, reach)
                reach = end
        return round(total, 3)
