"""What the IVR tells the rest of Hotline: the caller's path when the IVR ends, callback requests.

Both are call events (``call_id`` is the call's Linkedid when Asterisk gave it, else the AGI
channel's uniqueid), so the ACD and the screen-pop receive them with the tracker's events.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from cti.events import CallEvent


class IvrOutcome(enum.StrEnum):
    QUEUED = "queued"  # the dialplan queues the call on HOTLINE_QUEUE
    CALLBACK = "callback"  # the caller asked to be called back; the IVR hung up
    MESSAGE = "message"  # the caller left a message
    TRANSFERRED = "transferred"  # HOTLINE_ACTION=transfer to HOTLINE_TRANSFER_TO
    HUNG_UP = "hung-up"  # the menu ended the call (closed, goodbye)
    CALLER_HUNG_UP = "caller-hung-up"
    STALLED = "stalled"  # Asterisk stopped answering; the dialplan's fallback queue applies
    FAILED = "failed"  # the IVR failed; HOTLINE_QUEUE holds the safe default
    NO_MENU = "no-menu"  # no menu for the dialed number; HOTLINE_QUEUE holds the default


@dataclass(frozen=True, slots=True)
class PathEntry:
    """One node the caller passed through: what they pressed, what a lookup found."""

    node: str
    kind: str
    digits: str = ""
    result: str = ""


@dataclass(frozen=True, slots=True)
class IvrCompleted(CallEvent):
    channel: str
    caller: str
    dialed: str
    path: tuple[PathEntry, ...]
    queue: str
    skill: str
    priority: int
    language: str
    customer_id: str | None
    outcome: IvrOutcome
    transfer_to: str = ""
    started_at: datetime | None = None  # when the IVR took the call; None: not known (``at``)


@dataclass(frozen=True, slots=True)
class CallbackRequested(CallEvent):
    """The caller keeps their place: the ACD calls ``number`` back when an agent of ``queue`` is free."""

    channel: str
    number: str
    queue: str
    skill: str
    priority: int
    language: str
    customer_id: str | None
