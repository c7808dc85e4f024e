"""What the index needs to know about a call, learned from the tracker's events (pure).

The tracker tells us the call's numbers when it is offered, its queue when it queues, its
agent when it is answered, and the file when MixMonitor starts; :class:`CallFacts` keeps that
per call until the call ends, bounded so a stream of calls that never end cannot grow it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from cti.events import CallAnswered, CallEnded, CallOffered, CallQueued, RecordingStarted

MAX_CALLS = 20_000


@dataclass(slots=True)
class Call:
    call_id: str
    caller: str = ""
    dialed: str = ""
    queue: str = ""
    agent: str = ""
    recorded_channels: list[str] = field(default_factory=list)

    @property
    def numbers(self) -> tuple[str, ...]:
        return tuple(n for n in (self.caller, self.dialed) if n)


class CallFacts:
    def __init__(self, agent_of: Callable[[str], str] | None = None, *, limit: int = MAX_CALLS) -> None:
        self._calls: OrderedDict[str, Call] = OrderedDict()
        self._agent_of = agent_of or (lambda interface: interface)
        self._limit = limit

    def get(self, call_id: str) -> Call:
        call = self._calls.get(call_id)
        if call is None:
            call = self._calls[call_id] = Call(call_id)
            while len(self._calls) > self._limit:
                self._calls.popitem(last=False)
        return call

    def see(self, event: object) -> Call | None:
        """Note what ``event`` says about its call; the call, or None for other events."""
        if isinstance(event, CallOffered):
            call = self.get(event.call_id)
            call.caller, call.dialed = event.caller, event.dialed
        elif isinstance(event, CallQueued):
            call = self.get(event.call_id)
            call.queue = event.queue
        elif isinstance(event, CallAnswered):
            call = self.get(event.call_id)
            call.agent = self._agent_of(event.agent) or event.agent
            call.queue = event.queue or call.queue
        elif isinstance(event, RecordingStarted):
            call = self.get(event.call_id)
            call.recorded_channels.append(event.channel)
        elif isinstance(event, CallEnded):
            call = self._calls.pop(event.call_id, None) or Call(event.call_id)
            if event.agent and not call.agent:
                call.agent = self._agent_of(event.agent) or event.agent
        else:
            return None
        return call
