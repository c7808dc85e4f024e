"""The agent state machine, owned by the ACD: pure, time comes in with every input.

    logged out → available → ringing → on call → wrap-up (timed, extendable once) → available
    available / wrap-up → paused (reason code) → available
    wrap-up → paused, when the agent asked to pause after the call (``pause_after``)
    available / paused / wrap-up → outbound (busy) → wrap-up, or back to the pause it came from
    ringing → paused "missed" (ring-no-answer) · ringing → available (the caller hung up)

Each method returns the ``AgentStateChanged`` events it caused (none when nothing changed) and
raises ``IllegalTransition`` for a change the machine does not allow. Wrap-up ends on its own:
``expire_wrapups(now)`` returns the agents whose wrap-up is over, except those the caller says
are held (their wrap-up form is still open): they stay in wrap-up past its time until
``release_wrapup`` (the form was saved or discarded) or ``ready``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from acd.errors import ExtensionInUse, IllegalTransition, UnknownAgent, UnknownReasonCode
from acd.events import AgentStateChanged
from acd.models import AgentProfile, AgentState, PauseReason

S = AgentState

LOGIN = "login"
LOGOUT = "logout"
READY = "ready"  # the agent said they are ready (unpause, end of wrap-up)
WRAPUP_OVER = "wrap-up-over"
WRAPUP_OPEN = "wrap-up-open"  # logged in with a wrap-up form still open: held in wrap-up
CALLER_HUNG_UP = "caller-hung-up"
CALL_ENDED = "call-ended"
DELIVERY_FAILED = "delivery-failed"
CALL_OFFERED = "call-offered"
ANSWERED = "answered"
ANSWERED_LATE = "answered-late"  # picked up after the ACD had given up and paused them as missed
CONSULT_ANSWERED = "consult-answered"  # picked up a colleague's consult about their call
OUTBOUND_CALL = "outbound-call"
CALLBACK = "callback"  # the ACD gave the agent a callback: their phone rings, then the customer's
OUTBOUND_FAILED = "outbound-failed"
RESYNC = "resync"


@dataclass(slots=True)
class AgentRecord:
    profile: AgentProfile
    state: AgentState = S.LOGGED_OUT
    since: datetime | None = None
    reason: str = ""
    call_id: str = ""
    queue: str = ""
    extension: str = ""
    queues: tuple[str, ...] = ()
    idle_since: datetime | None = None  # when the agent last became free for calls
    calls_handled: int = 0
    wrapup_until: datetime | None = None
    resume_reason: str = ""  # the pause an outbound call interrupted
    pause_after: str = ""  # the pause the agent asked for once this call and its wrap-up are over
    extended: bool = False  # this wrap-up was extended (once per wrap-up)
    consulted: bool = False  # on the call as a consult's target: not yet a call they handle

    @property
    def phone(self) -> str:
        """The interface the agent's calls ring now: the desk's phone, else their own."""
        return _interface(self.extension) if self.extension else self.profile.interface


class AgentStates:
    def __init__(self, profiles: Mapping[str, AgentProfile], reason_codes: Iterable[str] = ()) -> None:
        self._agents: dict[str, AgentRecord] = {}
        self._by_interface: dict[str, str] = {}  # a phone's interface → who answers on it now
        self._owners: dict[str, str] = {}  # an extension → the agent whose own phone it is
        for profile in profiles.values():
            self.set_profile(profile)
        self._reason_codes = frozenset(PauseReason) | frozenset(reason_codes)
        self._wrapups: list[tuple[datetime, str]] = []

    # --- lookups -----------------------------------------------------------------------------

    def add_reason_codes(self, codes: Iterable[str]) -> None:
        """Pause reasons defined while running (administered in the CRM): accepted from now on."""
        self._reason_codes = self._reason_codes | frozenset(codes)

    def set_profile(self, profile: AgentProfile) -> None:
        """Add an agent, or update one's profile: skills and extension at once (a phone chosen at
        login stays), queues at their next login."""
        record = self._agents.get(profile.agent)
        if record is None:
            self._agents[profile.agent] = AgentRecord(profile=profile)
        else:
            self._by_interface.pop(record.profile.interface, None)
            self._owners.pop(record.profile.extension, None)
            if record.extension == record.profile.extension:  # not a phone chosen at login
                record.extension = profile.extension if record.state is not S.LOGGED_OUT else ""
            record.profile = profile
        self._by_interface[profile.interface] = profile.agent
        self._owners[profile.extension] = profile.agent

    def get(self, agent: str) -> AgentRecord:
        try:
            return self._agents[agent]
        except KeyError:
            raise UnknownAgent(agent) from None

    def by_interface(self, interface: str) -> AgentRecord | None:
        agent = self._by_interface.get(interface)
        return self._agents[agent] if agent is not None else None

    def holder_of(self, extension: str, *, besides: str) -> str | None:
        """The agent other than ``besides`` whose own extension this is, or who is logged in on
        it; None when it is free for ``besides``."""
        for holder in (self._by_interface.get(_interface(extension)), self._owners.get(extension)):
            if holder is not None and holder != besides:
                return holder
        return None

    def logged_in(self) -> list[AgentRecord]:
        return [record for record in self._agents.values() if record.state is not S.LOGGED_OUT]

    def __iter__(self):
        return iter(self._agents.values())

    # --- transitions -------------------------------------------------------------------------

    def login(
        self,
        at: datetime,
        agent: str,
        queues: tuple[str, ...],
        *,
        extension: str = "",
        paused_reason: str = "",
    ) -> list[AgentStateChanged]:
        record = self._require(agent, "log in", S.LOGGED_OUT)
        extension = extension or record.profile.extension
        holder = self.holder_of(extension, besides=agent)
        if holder is not None:
            raise ExtensionInUse(extension, holder)
        record.extension = extension
        if extension != record.profile.extension:  # a hot desk: its phone's events are this agent's
            self._by_interface[_interface(extension)] = agent
        record.queues = queues
        record.calls_handled = 0
        record.idle_since = at
        if paused_reason:
            self._check_reason(paused_reason)
            return [self._move(at, record, S.PAUSED, paused_reason)]
        return [self._move(at, record, S.AVAILABLE, LOGIN)]

    def logout(self, at: datetime, agent: str) -> list[AgentStateChanged]:
        record = self._require(agent, "log out", S.AVAILABLE, S.PAUSED, S.WRAP_UP)
        event = self._move(at, record, S.LOGGED_OUT, LOGOUT)
        if record.extension != record.profile.extension:
            self._by_interface.pop(_interface(record.extension), None)
        record.extension = ""  # at no desk: a click-to-dial rings their own phone
        record.queues = ()
        return [event]

    def ring(self, at: datetime, agent: str, call_id: str, queue: str) -> list[AgentStateChanged]:
        record = self.get(agent)
        if record.state is S.RINGING and record.call_id == call_id:
            return []
        self._require(agent, "ring", S.AVAILABLE)
        return [self._move(at, record, S.RINGING, CALL_OFFERED, call_id=call_id, queue=queue)]

    def answer(self, at: datetime, agent: str, call_id: str, queue: str) -> list[AgentStateChanged]:
        record = self.get(agent)
        if record.state is S.ON_CALL and record.call_id == call_id:
            if record.consulted:  # the consult they talk in became theirs: a call they handle
                record.consulted = False
                record.calls_handled += 1
            return []
        # The switch says the agent is talking, and that wins: from available too (a fallback
        # app_queue call answered before we saw it ring), and from the "missed" pause (picked up
        # just after the ACD gave up on the ring).
        late = record.state is S.PAUSED and record.reason == PauseReason.MISSED
        if not late:
            self._require(agent, "answer", S.RINGING, S.AVAILABLE)
        record.calls_handled += 1
        reason = ANSWERED_LATE if late else ANSWERED
        return [self._move(at, record, S.ON_CALL, reason, call_id=call_id, queue=queue or record.queue)]

    def consult_answered(self, at: datetime, agent: str, call_id: str) -> list[AgentStateChanged]:
        """A colleague's consult about ``call_id`` picked up: on the call (busy, talking), not
        yet a call they handle — the completion or the three-way call's ``answer`` makes it one."""
        record = self._require_call(agent, call_id, S.RINGING)
        if record is None:
            return []
        event = self._move(at, record, S.ON_CALL, CONSULT_ANSWERED, call_id=call_id, queue=record.queue)
        record.consulted = True
        return [event]

    def consult_over(self, at: datetime, agent: str, call_id: str, reason: str) -> list[AgentStateChanged]:
        """The consult they picked up ended without the call becoming theirs: available again,
        with no wrap-up (there is no call of theirs to wrap up)."""
        record = self._require_call(agent, call_id, S.ON_CALL)
        if record is None or not record.consulted:
            return []
        return [self._move(at, record, S.AVAILABLE, reason, call_id=call_id, queue=record.queue)]

    def ring_no_answer(self, at: datetime, agent: str, call_id: str) -> list[AgentStateChanged]:
        record = self._require_call(agent, call_id, S.RINGING)
        if record is None:
            return []
        return [self._move(at, record, S.PAUSED, PauseReason.MISSED, call_id=call_id, queue=record.queue)]

    def ring_cancelled(
        self, at: datetime, agent: str, call_id: str, reason: str = CALLER_HUNG_UP
    ) -> list[AgentStateChanged]:
        """The ringing stopped through no fault of the agent (the caller hung up, the delivery
        failed): available again, keeping their place in the longest-idle order."""
        record = self._require_call(agent, call_id, S.RINGING)
        if record is None:
            return []
        idle_since = record.idle_since
        event = self._move(at, record, S.AVAILABLE, reason, call_id=call_id, queue=record.queue)
        record.idle_since = idle_since  # the agent keeps their place in the longest-idle order
        return [event]

    def hang_up(self, at: datetime, agent: str, call_id: str, *, wrapup_s: float) -> list[AgentStateChanged]:
        """The agent's call (inbound or outbound) ended: wrap-up, or back to the interrupted pause."""
        record = self._require_call(agent, call_id, S.ON_CALL, S.OUTBOUND)
        if record is None:
            return []
        if record.state is S.OUTBOUND and record.resume_reason:
            reason, record.resume_reason = record.resume_reason, ""
            return [self._move(at, record, S.PAUSED, reason, call_id=call_id)]
        return self._start_wrapup(at, record, call_id, wrapup_s)

    def _start_wrapup(
        self, at: datetime, record: AgentRecord, call_id: str, wrapup_s: float
    ) -> list[AgentStateChanged]:
        if wrapup_s <= 0:
            return [self._end_wrapup(at, record, CALL_ENDED, call_id=call_id, queue=record.queue)]
        event = self._move(at, record, S.WRAP_UP, CALL_ENDED, call_id=call_id, queue=record.queue)
        record.extended = False
        record.wrapup_until = at + timedelta(seconds=wrapup_s)
        heapq.heappush(self._wrapups, (record.wrapup_until, record.profile.agent))
        return [event]

    def extend_wrapup(self, at: datetime, agent: str, seconds: float) -> datetime:
        """More time to finish the paperwork, once per wrap-up; returns the new end of wrap-up."""
        record = self._require(agent, "extend wrap-up", S.WRAP_UP)
        if seconds <= 0:
            raise IllegalTransition(agent, record.state, f"extend wrap-up by {seconds} s")
        if record.extended:
            raise IllegalTransition(agent, record.state, "extend wrap-up a second time")
        assert record.wrapup_until is not None
        record.extended = True
        record.wrapup_until = max(record.wrapup_until, at) + timedelta(seconds=seconds)
        heapq.heappush(self._wrapups, (record.wrapup_until, agent))
        return record.wrapup_until

    def ready(self, at: datetime, agent: str) -> list[AgentStateChanged]:
        """The agent is ready for calls: ends a pause or a wrap-up early."""
        record = self._require(agent, "become ready", S.PAUSED, S.WRAP_UP, S.AVAILABLE)
        if record.state is S.AVAILABLE:
            return []
        if record.state is S.WRAP_UP:
            return [self._end_wrapup(at, record, READY)]
        return [self._move(at, record, S.AVAILABLE, READY)]

    def pause_after_call(self, agent: str, reason: str) -> None:
        """Pause with ``reason`` once the current call and its wrap-up are over ("" cancels)."""
        if reason:
            self._check_reason(reason)
        record = self._require(agent, "pause after the call", S.RINGING, S.ON_CALL, S.OUTBOUND, S.WRAP_UP)
        record.pause_after = reason

    def hold_in_wrapup(self, at: datetime, agent: str) -> list[AgentStateChanged]:
        """An available agent still has a wrap-up form open (one kept across a restart of Hotline,
        found at log-in): in wrap-up at once, its time already over, until ``release_wrapup``."""
        record = self._require(agent, "stay in wrap-up", S.AVAILABLE)
        event = self._move(at, record, S.WRAP_UP, WRAPUP_OPEN)
        record.extended = False
        record.wrapup_until = at
        heapq.heappush(self._wrapups, (at, agent))
        return [event]

    def release_wrapup(self, at: datetime, agent: str) -> list[AgentStateChanged]:
        """The agent's wrap-up form was saved or discarded: a wrap-up held past its time ends."""
        record = self.get(agent)
        if record.state is not S.WRAP_UP or record.wrapup_until is None or record.wrapup_until > at:
            return []
        return [self._end_wrapup(at, record, WRAPUP_OVER)]

    def _end_wrapup(self, at: datetime, record: AgentRecord, reason: str, **call: str) -> AgentStateChanged:
        """Available again, or the pause the agent asked for after this call."""
        if record.pause_after:
            return self._move(at, record, S.PAUSED, record.pause_after, **call)
        return self._move(at, record, S.AVAILABLE, reason, **call)

    def pause(self, at: datetime, agent: str, reason: str) -> list[AgentStateChanged]:
        self._check_reason(reason)
        record = self._require(agent, "pause", S.AVAILABLE, S.WRAP_UP, S.PAUSED)
        if record.state is S.PAUSED and record.reason == reason:
            return []
        return [self._move(at, record, S.PAUSED, reason)]

    def outbound(
        self, at: datetime, agent: str, call_id: str, *, queue: str = "", reason: str = OUTBOUND_CALL
    ) -> list[AgentStateChanged]:
        record = self._require(agent, "start an outbound call", S.AVAILABLE, S.PAUSED, S.WRAP_UP)
        record.resume_reason = record.reason if record.state is S.PAUSED else ""
        return [self._move(at, record, S.OUTBOUND, reason, call_id=call_id, queue=queue)]

    def rename_call(self, agent: str, call_id: str, new_call_id: str) -> bool:
        """The switch named the agent's outbound call (its Linkedid, known only once it rang)."""
        record = self._require_call(agent, call_id, S.OUTBOUND)
        if record is None:
            return False
        record.call_id = new_call_id
        return True

    def outbound_failed(
        self, at: datetime, agent: str, call_id: str, *, missed: bool = False
    ) -> list[AgentStateChanged]:
        """The outbound call never got through. Not the agent's doing: back where they were, with
        their place in the longest-idle order. ``missed``: their own phone did not answer, which is
        a ring-no-answer like any other (paused "missed")."""
        record = self._require_call(agent, call_id, S.OUTBOUND)
        if record is None:
            return []
        if missed:
            record.resume_reason = ""
            return [self._move(at, record, S.PAUSED, PauseReason.MISSED, call_id=call_id, queue=record.queue)]
        if record.resume_reason:
            reason, record.resume_reason = record.resume_reason, ""
            return [self._move(at, record, S.PAUSED, reason, call_id=call_id)]
        idle_since = record.idle_since
        event = self._move(at, record, S.AVAILABLE, OUTBOUND_FAILED, call_id=call_id, queue=record.queue)
        record.idle_since = idle_since
        return [event]

    def expire_wrapups(
        self, now: datetime, held: Callable[[AgentRecord], bool] | None = None
    ) -> list[AgentStateChanged]:
        events = []
        while self._wrapups and self._wrapups[0][0] <= now:
            until, agent = heapq.heappop(self._wrapups)
            record = self._agents.get(agent)
            # An entry whose wrap-up was extended or ended early is stale; the record decides.
            if record is None or record.state is not S.WRAP_UP or record.wrapup_until != until:
                continue
            if held is not None and held(record):
                continue  # stays in wrap-up past its time; release_wrapup ends it
            events.append(self._end_wrapup(until, record, WRAPUP_OVER))
        return events

    def next_wrapup_end(self) -> datetime | None:
        while self._wrapups:
            until, agent = self._wrapups[0]
            record = self._agents.get(agent)
            if record is not None and record.state is S.WRAP_UP and record.wrapup_until == until:
                return until
            heapq.heappop(self._wrapups)
        return None

    # --- internals ---------------------------------------------------------------------------

    def _require(self, agent: str, action: str, *states: AgentState) -> AgentRecord:
        record = self.get(agent)
        if record.state not in states:
            raise IllegalTransition(agent, record.state, action)
        return record

    def _require_call(self, agent: str, call_id: str, *states: AgentState) -> AgentRecord | None:
        """The agent, if busy with this call; None when the news is stale (a call they left, or a
        repeat of news already applied): the switch's report of the past changes nothing now."""
        record = self.get(agent)
        if record.call_id != call_id or record.state not in states:
            return None
        return record

    def _check_reason(self, reason: str) -> None:
        if reason not in self._reason_codes:
            raise UnknownReasonCode(reason, self._reason_codes)

    def _move(
        self,
        at: datetime,
        record: AgentRecord,
        state: AgentState,
        reason: str,
        *,
        call_id: str = "",
        queue: str = "",
    ) -> AgentStateChanged:
        previous = record.state
        previous_call, previous_queue = record.call_id, record.queue
        previous_seconds = (at - record.since).total_seconds() if record.since is not None else 0.0
        record.state = state
        record.since = at
        record.consulted = False
        record.reason = reason if state is S.PAUSED else ""
        if state in (S.RINGING, S.ON_CALL, S.OUTBOUND):
            record.call_id, record.queue = call_id, queue
        elif state is not S.WRAP_UP:
            record.call_id, record.queue = "", ""
        if state is not S.WRAP_UP:
            record.wrapup_until = None
        if state in (S.PAUSED, S.LOGGED_OUT, S.AVAILABLE):
            record.pause_after = ""  # asked for one call: it is over
        if state is S.AVAILABLE:
            record.idle_since = at
        return AgentStateChanged(
            at=at,
            agent=record.profile.agent,
            state=state,
            previous=previous,
            reason=reason,
            queue=queue or previous_queue,
            call_id=call_id or previous_call,
            interface=record.profile.interface,
            queues=record.queues,
            previous_seconds=max(previous_seconds, 0.0),
            desk=record.extension if record.extension != record.profile.extension else "",
        )


def _interface(extension: str) -> str:
    """The phone of an extension chosen at login, as the hotline-deliver context dials it."""
    return f"PJSIP/{extension}"
