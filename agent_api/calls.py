"""The calls agent_api is following, built from bus events: pure, no I/O.

For each call in progress it keeps what a screen-pop shows and what call controls need: the
caller's number and channel, the IVR path, when the caller started waiting, the agent's
interface and channel. It is bounded: past ``max_calls`` the oldest call is forgotten (a call
that old has long ended; its end event was lost).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from cti.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallQueued,
    CallResumed,
    CallRinging,
    CallTransferred,
    ConferenceLeft,
    ConferenceStarted,
    ConsultCancelled,
    ConsultStarted,
    SwitchResynced,
)
from ivr.events import IvrCompleted

MAX_CALLS = 20_000


@dataclass(slots=True)
class CallInfo:
    call_id: str
    caller: str = ""
    caller_name: str = ""
    dialed: str = ""
    channel: str = ""  # the caller's channel
    offered_at: datetime | None = None
    queued_at: datetime | None = None
    queue: str = ""
    ivr_path: list[str] = field(default_factory=list)
    ivr_keys: list[str] = field(default_factory=list)  # what the caller pressed, menu by menu
    # The path as the page puts it in words, in its own language: each node's kind, keys, result.
    ivr_steps: list[dict[str, str]] = field(default_factory=list)
    customer_id: str | None = None
    agent_interface: str = ""
    agent_channel: str = ""
    answered: bool = False
    held: bool = False
    recording_paused: bool = False  # the agent muted the recording (card numbers read out)
    # The agent's microphone is muted on the switch (the caller hears nothing). A hold from the
    # desktop unmutes it first; the phone's own hold key leaves the switch's mute, so this stays.
    muted: bool = False
    # The agent's consult (docs/transfers.md): "" / "consulting" (the caller held, the target
    # rung or talking with the agent) / "conference" (all three talk). The target is an
    # interface; the target's leg is what they hang up.
    consult: str = ""
    consult_target: str = ""
    consult_channel: str = ""

    def wait_seconds(self, now: datetime) -> float:
        start = self.queued_at or self.offered_at
        return max((now - start).total_seconds(), 0.0) if start else 0.0


class CallBook:
    def __init__(self, max_calls: int = MAX_CALLS) -> None:
        self._calls: OrderedDict[str, CallInfo] = OrderedDict()
        self._max = max_calls

    def get(self, call_id: str) -> CallInfo | None:
        return self._calls.get(call_id)

    def __len__(self) -> int:
        return len(self._calls)

    def _call(self, call_id: str) -> CallInfo:
        call = self._calls.get(call_id)
        if call is None:
            call = self._calls[call_id] = CallInfo(call_id)
            while len(self._calls) > self._max:
                self._calls.popitem(last=False)
        return call

    def feed(self, event: object) -> list[str]:
        """Apply one event; returns the ids of calls that ended with it."""
        if isinstance(event, CallOffered):
            call = self._call(event.call_id)
            call.caller, call.caller_name, call.dialed = event.caller, event.caller_name, event.dialed
            call.channel, call.offered_at = event.channel, event.at
        elif isinstance(event, IvrCompleted):
            call = self._call(event.call_id)
            call.ivr_path = [_path_label(entry) for entry in event.path]
            call.ivr_keys = [  # a lookup's digits are the number collected before, not a press
                str(entry.digits)
                for entry in event.path
                if getattr(entry, "digits", "") and getattr(entry, "kind", "") != "lookup"
            ]
            call.ivr_steps = [_step(entry) for entry in event.path]
            call.customer_id = event.customer_id
            call.channel = call.channel or event.channel
            call.caller = call.caller or event.caller
        elif isinstance(event, CallQueued):
            call = self._call(event.call_id)
            call.queue = event.queue
            call.queued_at = call.queued_at or event.at
        elif isinstance(event, CallRinging):
            call = self._call(event.call_id)
            call.agent_interface, call.agent_channel = event.agent, event.agent_channel
            call.queue = event.queue or call.queue
        elif isinstance(event, CallAnswered):
            call = self._call(event.call_id)
            call.answered = True
            call.agent_interface = event.agent or call.agent_interface
            call.agent_channel = event.agent_channel or call.agent_channel
        elif isinstance(event, CallHeld | CallResumed):
            call = self._calls.get(event.call_id)
            if call is not None:
                call.held = isinstance(event, CallHeld)
        elif isinstance(event, ConsultStarted | ConferenceStarted):
            call = self._calls.get(event.call_id)
            if call is not None:
                call.consult = "conference" if isinstance(event, ConferenceStarted) else "consulting"
                call.consult_target, call.consult_channel = event.target, event.target_channel
        elif isinstance(event, ConsultCancelled | CallTransferred):
            call = self._calls.get(event.call_id)
            if call is not None:
                call.consult = call.consult_target = call.consult_channel = ""
        elif isinstance(event, ConferenceLeft):
            call = self._calls.get(event.call_id)
            if call is not None and call.consult == "conference":
                if event.agent == call.agent_interface:  # the one who stays has the call now
                    call.agent_interface, call.agent_channel = call.consult_target, call.consult_channel
                call.consult = call.consult_target = call.consult_channel = ""
        elif isinstance(event, CallEnded | CallAbandoned):
            if self._calls.pop(event.call_id, None) is not None:
                return [event.call_id]
        elif isinstance(event, SwitchResynced):
            gone = event.ended(self._calls)
            for call_id in gone:
                del self._calls[call_id]
            return gone
        return []


def _step(entry: object) -> dict[str, str]:
    return {key: str(getattr(entry, key, "")) for key in ("kind", "digits", "result")}


def _path_label(entry: object) -> str:
    node = getattr(entry, "node", "")
    digits = getattr(entry, "digits", "")
    result = getattr(entry, "result", "")
    label = node
    if digits:
        label += f" [{digits}]"
    if result:
        label += f" → {result}"
    return label
