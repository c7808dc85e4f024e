"""The call log: domain events folded into report facts. Pure: no I/O, no clock of its own.

One :class:`QueueLegFact` per call per queue visit (CallQueued opens it), one
:class:`AgentIntervalFact` per agent state left, one :class:`HoldbackFact` per offer the
marketing gate refused. Time comes from the events; :meth:`CallLog.advance` is told the time by
its shell so legs waiting for a wrap-up that never comes, and calls that never end, are still
written (docs/reports-facts.md has the rules of when a leg is final).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from acd.events import (
    AgentStateChanged,
    CallOverflowed,
    MarketingDecision,
    MarketingWork,
    MaxWaitReached,
    QueueConfigured,
)
from acd.models import AgentState, MaxWaitAction
from crm.reporting.facts import (
    AgentIntervalFact,
    Fact,
    HoldbackFact,
    HoldbackSource,
    LegOutcome,
    QueueLegFact,
)
from cti.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallEvent,
    CallHeld,
    CallOffered,
    CallQueued,
    CallResumed,
    CallTransferred,
    ConferenceLeft,
)

DEFAULT_SERVICE_LEVEL_S = 20.0
WRAP_UP_LIMIT_S = 900.0  # an answered leg waits this long after the call for its wrap-up
CALL_LIMIT_S = 4 * 3600.0  # a call with no event for this long is written as it stands
MAX_CALLS = 20_000  # calls followed at once; beyond, the oldest is written as it stands

CONSUMED: tuple[type, ...] = (
    CallOffered,
    CallQueued,
    CallAnswered,
    CallHeld,
    CallResumed,
    CallTransferred,
    ConferenceLeft,
    CallAbandoned,
    CallEnded,
    CallOverflowed,
    MaxWaitReached,
    QueueConfigured,
    AgentStateChanged,
    MarketingDecision,
)


@dataclass(slots=True)
class _Leg:
    call_id: str
    queue: str
    entered_at: datetime
    caller: str
    priority: int
    position: int
    original_position: int
    overflowed: bool = False
    interface: str = ""  # the answering agent's, named at the end (their login may come later)
    answered_at: datetime | None = None
    wait_s: float = 0.0
    ring_s: float = 0.0
    talk_s: float = 0.0
    hold_s: float = 0.0
    held_since: datetime | None = None
    wrap_s: float = 0.0
    transferred: bool = False
    outcome: LegOutcome | None = None
    ended_at: datetime | None = None
    talk_over_at: datetime | None = None  # when the agent's part ended: the leg waits for wrap-up


@dataclass(slots=True)
class _Call:
    caller: str = ""
    last_at: datetime | None = None
    current: _Leg | None = None  # in the queue, or being talked by its agent
    waiting: list[_Leg] = field(default_factory=list)  # talked, waiting for the agent's wrap-up
    answers: int = 0


@dataclass(slots=True)
class _AgentState:
    state: AgentState
    reason: str
    queue: str
    call_id: str


class CallLog:
    """Feed events in order (:meth:`feed`); each call returns the facts that became final."""

    def __init__(
        self,
        service_levels: Mapping[str, float] | None = None,
        *,
        agent_of: Callable[[str], str | None] | None = None,
        wrap_up_limit_s: float = WRAP_UP_LIMIT_S,
        call_limit_s: float = CALL_LIMIT_S,
        max_calls: int = MAX_CALLS,
    ) -> None:
        self._service_levels = dict(service_levels or {})
        self._agent_of = agent_of
        self._wrap_limit = timedelta(seconds=wrap_up_limit_s)
        self._call_limit = timedelta(seconds=call_limit_s)
        self._max_calls = max_calls
        self._calls: OrderedDict[str, _Call] = OrderedDict()  # least recently touched first
        self._agents: dict[str, _AgentState] = {}
        self._by_interface: dict[str, str] = {}

    @property
    def calls_followed(self) -> int:
        return len(self._calls)

    def feed(self, event: object) -> list[Fact]:
        if isinstance(event, AgentStateChanged):
            return self._agent_changed(event)
        if isinstance(event, MarketingDecision):
            return self._marketing(event)
        if isinstance(event, QueueConfigured):
            # Legs written from now on use the queue's new threshold.
            if not event.removed:
                self._service_levels[event.queue] = event.service_level_s
            return []
        if not isinstance(event, CallEvent | CallOverflowed | MaxWaitReached):
            return []
        out: list[Fact] = []
        call = self._touch(event.call_id, event.at, out)
        if isinstance(event, CallOffered):
            call.caller = event.caller
        elif isinstance(event, CallQueued):
            self._queued(call, event, out)
        elif isinstance(event, CallAnswered):
            self._answered(call, event, out)
        elif isinstance(event, CallHeld):
            leg = call.current
            if leg is not None and leg.answered_at is not None and leg.held_since is None:
                leg.held_since = event.at
        elif isinstance(event, CallResumed):
            if call.current is not None:
                _resume(call.current, event.at)
        elif isinstance(event, CallTransferred):
            self._transferred(call, event, out)
        elif isinstance(event, ConferenceLeft):
            # The leg's agent left a three-way call: their part is over, as at a transfer (their
            # talk time is their own; the colleague's goes on without them).
            leg = call.current
            if leg is not None and leg.answered_at is not None and leg.interface == event.agent:
                self._talk_over(call, leg, event.at, None)
        elif isinstance(event, CallAbandoned):
            leg = call.current
            if leg is not None and leg.answered_at is None:
                leg.position = event.position or leg.position
                leg.original_position = event.original_position or leg.original_position
                self._close(call, leg, event.at, LegOutcome.ABANDONED, out, wait_s=event.wait_seconds)
        elif isinstance(event, CallOverflowed):
            # The ACD widens the agents who may take the call; it keeps its place and its queue.
            if call.current is not None and call.current.queue == event.queue:
                call.current.overflowed = True
        elif isinstance(event, MaxWaitReached):
            leg = call.current
            if leg is not None and leg.answered_at is None:
                outcome = (
                    LegOutcome.CALLBACK if event.action is MaxWaitAction.CALLBACK else LegOutcome.TIMEOUT
                )
                self._close(call, leg, event.at, outcome, out, wait_s=event.wait_seconds)
        elif isinstance(event, CallEnded):
            self._ended(call, event, out)
        return out

    def advance(self, now: datetime) -> list[Fact]:
        """Write what waited too long: answered legs whose wrap-up never came, and calls with no
        event for the call limit (their open leg as it stands, outcome ``ended`` when unanswered)."""
        out: list[Fact] = []
        for call_id in list(self._calls):
            call = self._calls[call_id]
            for leg in list(call.waiting):
                if leg.talk_over_at is not None and now - leg.talk_over_at >= self._wrap_limit:
                    call.waiting.remove(leg)
                    out.append(self._fact(leg))
            if call.last_at is not None and now - call.last_at >= self._call_limit:
                self._evict(call_id, out)
            elif call.current is None and not call.waiting:
                del self._calls[call_id]
        return out

    def flush(self) -> list[Fact]:
        """Everything still followed, as it stands (on stop, or at the end of a replay)."""
        out: list[Fact] = []
        for call_id in list(self._calls):
            self._evict(call_id, out)
        return out

    # --- calls -------------------------------------------------------------------------------

    def _touch(self, call_id: str, at: datetime, out: list[Fact]) -> _Call:
        call = self._calls.get(call_id)
        if call is None:
            call = self._calls[call_id] = _Call()
            while len(self._calls) > self._max_calls:
                self._evict(next(iter(self._calls)), out)
        else:
            self._calls.move_to_end(call_id)
        call.last_at = at
        return call

    def _evict(self, call_id: str, out: list[Fact]) -> None:
        call = self._calls.pop(call_id)
        out.extend(self._fact(leg) for leg in call.waiting)
        leg = call.current
        if leg is None:
            return
        at = call.last_at or leg.entered_at
        if leg.answered_at is None:
            self._finish(leg, at, LegOutcome.ENDED, wait_s=(at - leg.entered_at).total_seconds())
        else:
            self._talk_over(call, leg, at, None)
        out.append(self._fact(leg))

    def _queued(self, call: _Call, event: CallQueued, out: list[Fact]) -> None:
        leg = call.current
        if leg is not None:
            if leg.queue == event.queue and leg.answered_at is None:
                return  # the same visit, seen again (a resync)
            if leg.answered_at is None:
                outcome = LegOutcome.OVERFLOWED if leg.overflowed else LegOutcome.TRANSFERRED
                self._close(call, leg, event.at, outcome, out)
            else:
                leg.transferred = True
                self._talk_over(call, leg, event.at, None)
        call.current = _Leg(
            call_id=event.call_id,
            queue=event.queue,
            entered_at=event.at,
            caller=call.caller,
            priority=event.priority,
            position=event.position,
            original_position=event.position,
        )

    def _answered(self, call: _Call, event: CallAnswered, out: list[Fact]) -> None:
        leg = call.current
        if leg is None:
            return  # a direct call, not a queue's
        if leg.answered_at is not None:
            # Another agent took the call over (a transfer): the first agent's part is over.
            leg.transferred = True
            self._talk_over(call, leg, event.at, None)
            return
        call.answers += 1
        leg.answered_at = event.at
        leg.interface = event.agent
        leg.wait_s = event.wait_seconds
        leg.ring_s = event.ring_seconds

    def _transferred(self, call: _Call, event: CallTransferred, out: list[Fact]) -> None:
        leg = call.current
        if leg is None:
            return
        if leg.answered_at is None:
            self._close(call, leg, event.at, LegOutcome.TRANSFERRED, out)
        else:
            leg.transferred = True

    def _ended(self, call: _Call, event: CallEnded, out: list[Fact]) -> None:
        leg = call.current
        if leg is not None:
            if leg.answered_at is None:
                # Hung up while an agent's phone rang, or the switch lost the call.
                self._close(call, leg, event.at, LegOutcome.ABANDONED, out)
            else:
                # The switch's talk time for a call answered once: the figure queue_log gives.
                talk = event.talk_seconds if call.answers == 1 else None
                self._talk_over(call, leg, event.at, talk)
        if not call.waiting:
            self._calls.pop(event.call_id, None)

    def _close(
        self,
        call: _Call,
        leg: _Leg,
        at: datetime,
        outcome: LegOutcome,
        out: list[Fact],
        *,
        wait_s: float | None = None,
    ) -> None:
        """An unanswered leg is over: nothing more will come for it."""
        if wait_s is None:
            wait_s = (at - leg.entered_at).total_seconds()
        self._finish(leg, at, outcome, wait_s=wait_s)
        if call.current is leg:
            call.current = None
        out.append(self._fact(leg))

    def _finish(self, leg: _Leg, at: datetime, outcome: LegOutcome, *, wait_s: float) -> None:
        leg.outcome = outcome
        leg.ended_at = at
        leg.wait_s = max(wait_s, 0.0)

    def _talk_over(self, call: _Call, leg: _Leg, at: datetime, talk_s: float | None) -> None:
        """The agent's part of an answered leg ended; it waits for the agent's wrap-up."""
        _resume(leg, at)
        answered_at = leg.answered_at or at
        leg.outcome = LegOutcome.ANSWERED
        leg.ended_at = leg.talk_over_at = at
        talked = talk_s if talk_s is not None else (at - answered_at).total_seconds()
        # Talk without the hold: handle time is talk + hold + wrap-up (Asterisk's calltime is
        # talk + hold).
        leg.talk_s = max(talked - leg.hold_s, 0.0)
        if call.current is leg:
            call.current = None
        call.waiting.append(leg)

    def _fact(self, leg: _Leg) -> QueueLegFact:
        outcome = leg.outcome or LegOutcome.ENDED
        sl = self._service_levels.get(leg.queue, DEFAULT_SERVICE_LEVEL_S)
        return QueueLegFact(
            call_id=leg.call_id,
            queue=leg.queue,
            entered_at=leg.entered_at,
            ended_at=leg.ended_at or leg.entered_at,
            outcome=outcome,
            caller=leg.caller,
            agent=self._agent_name(leg.interface) if leg.interface else "",
            priority=leg.priority,
            wait_s=leg.wait_s,
            ring_s=leg.ring_s,
            talk_s=leg.talk_s,
            hold_s=leg.hold_s,
            wrap_s=leg.wrap_s,
            position=leg.position,
            original_position=leg.original_position,
            within_sl=outcome is LegOutcome.ANSWERED and leg.wait_s <= sl,
            transferred=leg.transferred,
        )

    # --- agents ------------------------------------------------------------------------------

    def _agent_name(self, interface: str) -> str:
        if self._agent_of is not None:
            name = self._agent_of(interface)
            if name:
                return name
        return self._by_interface.get(interface, interface)

    def _agent_changed(self, event: AgentStateChanged) -> list[Fact]:
        out: list[Fact] = []
        if event.interface:
            self._by_interface[event.interface] = event.agent
        before = self._agents.pop(event.agent, None)
        if event.state is not AgentState.LOGGED_OUT:
            self._agents[event.agent] = _AgentState(event.state, event.reason, event.queue, event.call_id)
        if event.previous is not AgentState.LOGGED_OUT and event.previous_seconds > 0:
            # The state left is described by the event that entered it (a pause's reason).
            if before is None or before.state is not event.previous:
                before = _AgentState(event.previous, "", event.queue, event.call_id)
            out.append(
                AgentIntervalFact(
                    agent=event.agent,
                    state=event.previous.value,
                    started_at=event.at - timedelta(seconds=event.previous_seconds),
                    ended_at=event.at,
                    reason=before.reason if event.previous is AgentState.PAUSED else "",
                    queue=before.queue,
                    call_id=before.call_id,
                )
            )
        if (
            event.previous in (AgentState.ON_CALL, AgentState.WRAP_UP)
            and event.state is not AgentState.WRAP_UP
        ):
            wrap_s = event.previous_seconds if event.previous is AgentState.WRAP_UP else 0.0
            out.extend(self._wrapped_up(event.call_id, event.agent, wrap_s))
        return out

    def _wrapped_up(self, call_id: str, agent: str, wrap_s: float) -> list[Fact]:
        """The agent is done with the call (wrap-up over, or none): its leg is final."""
        call = self._calls.get(call_id)
        if call is None:
            return []
        done = [leg for leg in call.waiting if self._agent_name(leg.interface) == agent]
        if not done:
            return []
        for leg in done:
            call.waiting.remove(leg)
        done[-1].wrap_s = wrap_s
        if call.current is None and not call.waiting:
            del self._calls[call_id]
        return [self._fact(leg) for leg in done]

    def _marketing(self, event: MarketingDecision) -> list[Fact]:
        if event.work is not MarketingWork.OFFER or event.admitted:
            return []
        return [
            HoldbackFact(
                at=event.at,
                source=HoldbackSource.GATE,
                cause=event.reason.value,
                call_id=event.call_id,
                agent=event.agent,
                detail=event.detail,
            )
        ]


def _resume(leg: _Leg, at: datetime) -> None:
    if leg.held_since is not None:
        leg.hold_s += max((at - leg.held_since).total_seconds(), 0.0)
        leg.held_since = None
