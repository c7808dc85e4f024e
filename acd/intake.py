"""The switch's and the IVR's news about calls, turned into agent states and routing.

- Calls are routed once the switch says the caller is in the queue (``CallQueued``). What the
  IVR decided (skill, priority, customer) comes through ``call_waiting``; whichever of the two
  arrives first, the call keeps the place its arrival gave it. A call queued without IVR news is
  routed with its queue's skill and the switch's priority, and updated if the news comes later.
- A ``CallQueued`` for a call being delivered means the agent did not answer: the dialplan put
  the caller back. The agent is paused as "missed" and the next agent is tried.
- A phone that unregistered (``MemberStatusChanged`` UNAVAILABLE) pauses its free agent as
  "unreachable"; the agent, not the phone's return, ends that pause.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, MutableMapping
from dataclasses import replace
from datetime import datetime

from acd.agents import AgentStates
from acd.callback_dialer import CallbackDialer
from acd.delivery import Delivery
from acd.events import AgentStateChanged
from acd.membership import FallbackMembership
from acd.models import AcdConfig, AgentState, PauseReason, WaitingCall
from acd.router import Router
from acd.stats import QueueStatistics
from cti.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallQueued,
    CallRinging,
    CallTransferred,
    ConferenceLeft,
    ConferenceStarted,
    ConsultAnswered,
    ConsultCancelled,
    ConsultStarted,
    EndCause,
    MemberStatusChanged,
    SwitchResynced,
)

log = logging.getLogger(__name__)

# Callers' channels are remembered from CallOffered until the call ends; a bound, in case ends
# are lost, drops the oldest (a call that old is long gone).
MAX_REMEMBERED_CALLS = 20_000
# Why a consulted agent is free again: the consult that rang them ended without a transfer.
CONSULT_OVER = "consult-over"
# The device state app_queue reports for a phone that is not registered (unplugged, offline).
DEVICE_UNAVAILABLE = "UNAVAILABLE"


class CallIntake:
    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        config: AcdConfig,
        states: AgentStates,
        router: Router,
        stats: QueueStatistics,
        fallback: FallbackMembership,
        callbacks: CallbackDialer,
        delivery: Delivery,
        agent_of_call: MutableMapping[str, str],
        wake: Callable[[], None],
    ) -> None:
        self._clock = clock
        self._config = config
        self._states = states
        self._router = router
        self._stats = stats
        self._fallback = fallback
        self._callbacks = callbacks
        self._delivery = delivery
        self._agent_of_call = agent_of_call
        self._wake = wake
        self._channels: OrderedDict[str, str] = OrderedDict()  # call → caller's channel
        self._numbers: OrderedDict[str, tuple[str, str]] = OrderedDict()  # call → (caller, dialed)
        self._ivr: OrderedDict[str, WaitingCall] = OrderedDict()  # IVR news ahead of CallQueued
        # Three-way calls: the agents on the call besides the one ``agent_of_call`` names.
        self._also_on_call: dict[str, set[str]] = {}
        # Consults in progress: call → the consulted agent (ringing, or talking with the first).
        self._consulted: dict[str, str] = {}

    def reconfigure(self, config: AcdConfig) -> None:
        """Queues changed at run time (AcdService.set_queue): the next decision uses ``config``."""
        self._config = config

    def dialed(self, call_id: str) -> str:
        """The number the caller dialed, while the call is remembered."""
        return self._numbers.get(call_id, ("", ""))[1]

    async def call_waiting(self, call: WaitingCall) -> None:
        """What the IVR decided for a caller (through the composition root)."""
        if call.queue not in self._config.queues:
            log.warning("acd_unknown_queue", extra={"kv": {"call_id": call.call_id, "queue": call.queue}})
            return
        self._remember(self._channels, call.call_id, call.channel)
        if self._router.call(call.call_id) is not None:
            await self._delivery.deliver_all(self._router.add_call(call, self._clock()))
            self._wake()
        else:
            self._remember(self._ivr, call.call_id, call)

    async def handle(self, event: object) -> None:
        if isinstance(event, CallOffered):
            self._remember(self._channels, event.call_id, event.channel)
            self._remember(self._numbers, event.call_id, (event.caller, event.dialed))
            return
        if isinstance(event, MemberStatusChanged):
            await self._member_status(event)
            return
        touched = self._stats.feed(event)
        if isinstance(event, CallQueued):
            await self._queued(event)
        elif isinstance(event, CallRinging):
            await self._ringing(event)
        elif isinstance(event, CallAnswered):
            await self._answered(event)
        elif isinstance(event, CallAbandoned):
            self._router.remove_call(event.call_id)
            self._forget(event.call_id)
        elif isinstance(event, CallTransferred):
            await self._transferred(event)
        elif isinstance(event, CallEnded):
            await self._ended(event)
        elif isinstance(
            event, ConsultStarted | ConsultAnswered | ConsultCancelled | ConferenceStarted | ConferenceLeft
        ):
            await self._consult(event)
        elif isinstance(event, SwitchResynced):
            touched = await self._resynced(event)
        self._delivery.publish_stats(touched)
        self._wake()  # the timers may have changed: let the timer task look again

    async def _queued(self, event: CallQueued) -> None:
        if event.queue not in self._config.queues:
            return  # a fallback queue: app_queue's own calls
        if self._router.delivering_agent(event.call_id):
            missed, assignments = self._router.ring_no_answer(event.call_id, event.at)
            await self._delivery.missed(event.at, missed, event.call_id)
            await self._delivery.deliver_all(assignments)
            return
        if self._router.call(event.call_id) is not None:
            return
        call = self._ivr.pop(event.call_id, None)
        channel = call.channel if call is not None else self._channels.get(event.call_id, "")
        if not channel:
            log.warning("acd_call_without_channel", extra={"kv": {"call_id": event.call_id}})
            return
        if call is None:
            caller = self._numbers.get(event.call_id, ("", ""))[0]
            call = WaitingCall(event.call_id, channel, event.queue, priority=event.priority, caller=caller)
        call = replace(call, queue=event.queue, queued_at=call.queued_at or event.at)
        await self._delivery.deliver_all(self._router.add_call(call, event.at))

    async def _ringing(self, event: CallRinging) -> None:
        record = self._states.by_interface(event.agent)
        if record is None or self._router.delivering_agent(event.call_id) == record.profile.agent:
            return
        if record.state is AgentState.AVAILABLE:  # app_queue (fallback) or a direct call rings them
            self._agent_of_call[event.call_id] = record.profile.agent
            queue = self._served_queue(event.queue)
            await self._delivery.apply(
                self._states.ring(event.at, record.profile.agent, event.call_id, queue)
            )

    async def _answered(self, event: CallAnswered) -> None:
        if self._callbacks.answered(event):
            return
        delivering = self._router.delivering_agent(event.call_id)
        record = self._states.by_interface(event.agent)
        events: list[AgentStateChanged] = []
        if delivering and (record is None or record.profile.agent != delivering):
            events += self._states.ring_cancelled(event.at, delivering, event.call_id, "answered-elsewhere")
        call = self._router.call(event.call_id)
        queue = call.queue if call is not None else self._served_queue(event.queue)
        late = (
            record is not None and record.state is AgentState.PAUSED and record.reason == PauseReason.MISSED
        )
        consulted = (
            record is not None
            and self._consulted.get(event.call_id) == record.profile.agent
            and record.state is AgentState.ON_CALL
            and record.call_id == event.call_id
        )
        if record is not None and (
            record.state in (AgentState.RINGING, AgentState.AVAILABLE) or late or consulted
        ):
            self._consulted.pop(event.call_id, None)
            self._router.answered(event.call_id, record.profile.agent, event.at)
            self._agent_of_call[event.call_id] = record.profile.agent
            events += self._states.answer(event.at, record.profile.agent, event.call_id, queue)
        else:
            self._router.remove_call(event.call_id)
        await self._delivery.apply(events)

    async def _ended(self, event: CallEnded) -> None:
        delivering = self._router.delivering_agent(event.call_id)
        call = self._router.remove_call(event.call_id)
        events: list[AgentStateChanged] = []
        if delivering:
            events += self._states.ring_cancelled(event.at, delivering, event.call_id)
        agent = self._agent_of_call.pop(event.call_id, "")
        if agent and agent != delivering:
            record = self._states.get(agent)
            wrapup_s = self._config.wrapup_for(record.queue or (call.queue if call else ""))
            if record.state is AgentState.RINGING:
                events += self._states.ring_cancelled(event.at, agent, event.call_id)
            else:
                events += self._states.hang_up(event.at, agent, event.call_id, wrapup_s=wrapup_s)
        consulted = self._consulted.pop(event.call_id, "")
        if consulted and consulted not in (agent, delivering):
            # The call ended with a consult still open about it: the colleague is free again.
            events += self._states.ring_cancelled(event.at, consulted, event.call_id, CONSULT_OVER)
            events += self._states.consult_over(event.at, consulted, event.call_id, CONSULT_OVER)
        for other in self._also_on_call.pop(event.call_id, ()):
            wrapup_s = self._config.wrapup_for(self._states.get(other).queue)
            events += self._states.hang_up(event.at, other, event.call_id, wrapup_s=wrapup_s)
        self._forget(event.call_id)
        self._callbacks.ended(event.call_id)
        await self._delivery.apply(events)

    async def _consult(
        self,
        event: ConsultStarted | ConsultAnswered | ConsultCancelled | ConferenceStarted | ConferenceLeft,
    ) -> None:
        """A consult rings the consulted agent (busy, as for a call offered), who is on the call
        once they pick up (talking with the first agent; an attended transfer then answers the
        call for them like any call); a cancelled one frees them, a three-way call holds both
        agents on the call, and each one who leaves it wraps up (docs/transfers.md)."""
        record = self._states.by_interface(event.agent if isinstance(event, ConferenceLeft) else event.target)
        if record is None:
            return
        agent, call_id = record.profile.agent, event.call_id
        events: list[AgentStateChanged] = []
        if isinstance(event, ConsultStarted):
            if record.state is AgentState.AVAILABLE:
                first = self._states.by_interface(event.agent)
                events = self._states.ring(event.at, agent, call_id, first.queue if first else "")
                self._consulted[call_id] = agent
        elif isinstance(event, ConsultAnswered):
            if self._consulted.get(call_id) == agent:
                events = self._states.consult_answered(event.at, agent, call_id)
        elif isinstance(event, ConsultCancelled):
            if self._consulted.get(call_id) == agent:
                del self._consulted[call_id]
                events = self._states.ring_cancelled(event.at, agent, call_id, CONSULT_OVER)
                events += self._states.consult_over(event.at, agent, call_id, CONSULT_OVER)
        elif isinstance(event, ConferenceStarted):
            busy = record.state in (AgentState.RINGING, AgentState.ON_CALL) and record.call_id == call_id
            if self._consulted.pop(call_id, "") == agent and busy:
                self._also_on_call.setdefault(call_id, set()).add(agent)
                events = self._states.answer(event.at, agent, call_id, record.queue)
        elif record.state is AgentState.ON_CALL and record.call_id == call_id:
            others = self._also_on_call.get(call_id, set())
            others.discard(agent)
            if self._agent_of_call.get(call_id) == agent:
                del self._agent_of_call[call_id]
                if others:
                    self._agent_of_call[call_id] = others.pop()
            if not others:
                self._also_on_call.pop(call_id, None)
            wrapup_s = self._config.wrapup_for(record.queue)
            events = self._states.hang_up(event.at, agent, call_id, wrapup_s=wrapup_s)
        await self._delivery.apply(events)

    async def _member_status(self, event: MemberStatusChanged) -> None:
        """A phone that unregistered cannot take calls: its available agent is paused as
        "unreachable" (from wrap-up too, which would make them available to a dead phone).
        The phone's return does not unpause them: a phone that flaps would otherwise pull the
        agent in and out of routing, and a registered phone is no proof the person is at their
        desk after the outage; the agent says ready themselves.

        With several servers a phone is registered to one, and the others, whose queues may list
        it too, report it unavailable: only its own server's word counts (docs/scale.md)."""
        homed_here = self._delivery.homes.get(event.interface, event.server) == event.server
        await self._delivery.phone_seen(event)
        if event.device_state != DEVICE_UNAVAILABLE or not homed_here:
            return
        record = self._states.by_interface(event.interface)
        if record is None or record.state not in (AgentState.AVAILABLE, AgentState.WRAP_UP):
            return
        fields = {"agent": record.profile.agent, "interface": event.interface}
        log.warning("acd_agent_phone_unreachable", extra={"kv": fields})
        await self._delivery.apply(
            self._states.pause(event.at, record.profile.agent, PauseReason.UNREACHABLE)
        )

    async def _transferred(self, event: CallTransferred) -> None:
        """The agent handed the caller on: their part of the call is over, wrap-up begins."""
        record = self._states.by_interface(event.from_agent)
        if record is None or record.call_id != event.call_id or record.state is not AgentState.ON_CALL:
            return
        agent = record.profile.agent
        if self._agent_of_call.get(event.call_id) == agent:
            del self._agent_of_call[event.call_id]
        wrapup_s = self._config.wrapup_for(record.queue)
        await self._delivery.apply(self._states.hang_up(event.at, agent, event.call_id, wrapup_s=wrapup_s))

    def _served_queue(self, queue: str) -> str:
        """The ACD queue behind an app_queue fallback queue's name."""
        suffix = self._config.fallback_suffix
        if queue.endswith(suffix) and queue[: -len(suffix)] in self._config.queues:
            return queue[: -len(suffix)]
        return queue

    async def _resynced(self, event: SwitchResynced) -> tuple[str, ...]:
        for call_id in event.ended([call.call_id for call in self._router.calls()]):
            await self._ended(
                CallEnded(
                    at=event.at,
                    call_id=call_id,
                    cause=EndCause.LOST_DURING_DISCONNECT,
                    talk_seconds=0.0,
                )
            )
        for call_id in event.ended(list(self._agent_of_call)):
            await self._ended(
                CallEnded(
                    at=event.at, call_id=call_id, cause=EndCause.LOST_DURING_DISCONNECT, talk_seconds=0.0
                )
            )
        await self._delivery.rehome(event.server, event.phones)
        await self._fallback.sync(self._states)
        return self._stats.forget_calls(event)

    # --- memory --------------------------------------------------------------------------------

    @staticmethod
    def _remember(memory: OrderedDict, key: str, value: object) -> None:
        memory[key] = value
        memory.move_to_end(key)
        while len(memory) > MAX_REMEMBERED_CALLS:
            memory.popitem(last=False)

    def _forget(self, call_id: str) -> None:
        self._channels.pop(call_id, None)
        self._numbers.pop(call_id, None)
        self._ivr.pop(call_id, None)
