"""Click-to-dial calls in progress: pure bookkeeping, no I/O.

Originate rings the agent's own phone first, then dials the number. The switch names the call
(its Linkedid) only when that phone rings, so a dial-out starts without a call id and is bound
to the first ``CallRinging`` of the agent's phone outside any queue; from then on the call's
answer and end are the dial-out's. The ACD holds the agent as ``outbound`` from the click until
the dial-out is over, so no inbound call is offered to someone dialing out. A callback the ACD
gives an agent is bound the same way, so the pop names the customer being called back.
"""

from __future__ import annotations

import asyncio
import dataclasses

from cti.events import CallRinging


@dataclasses.dataclass(eq=False, slots=True)
class DialOut:
    agent: str
    number: str
    tracked: bool  # the ACD holds the agent as outbound until this is over
    queue: str = ""  # a callback's queue (the ACD holds the agent for it itself: not tracked)
    call_id: str = ""  # the switch's call, once the agent's phone rang
    answered: bool = False  # the agent picked up: the number was dialed
    over: bool = False
    bound: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)


class DialOuts:
    def __init__(self) -> None:
        self._by_agent: dict[str, DialOut] = {}
        self._by_call: dict[str, DialOut] = {}

    def of_agent(self, agent: str) -> DialOut | None:
        return self._by_agent.get(agent)

    def of_call(self, call_id: str) -> DialOut | None:
        return self._by_call.get(call_id)

    def start(self, agent: str, number: str, *, tracked: bool, queue: str = "") -> DialOut:
        dial = DialOut(agent, number, tracked, queue)
        self._by_agent[agent] = dial
        return dial

    def bind(self, agent: str, event: CallRinging) -> DialOut | None:
        """The dial-out this ringing belongs to: the agent's unbound one, rung outside a queue."""
        dial = self._by_agent.get(agent)
        if dial is None or dial.call_id or event.queue:
            return None
        dial.call_id = event.call_id
        self._by_call[event.call_id] = dial
        dial.bound.set()
        return dial

    def finish(self, dial: DialOut) -> bool:
        """Forget the dial-out; False when it was over already (each one ends once)."""
        if dial.over:
            return False
        dial.over = True
        if self._by_agent.get(dial.agent) is dial:
            del self._by_agent[dial.agent]
        if dial.call_id and self._by_call.get(dial.call_id) is dial:
            del self._by_call[dial.call_id]
        return True
