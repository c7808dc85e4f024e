"""The ACD's thin shell: domain events in, switch commands and ACD events out.

``AcdService(bus, switch, clock, config)`` joins the pure cores — the agent state machine, the
router, the queue statistics and the marketing gate — to the bus and the switch:

- Calls are routed once the switch says the caller is in the queue (``CallQueued``). What the
  IVR decided (skill, priority, customer) comes through ``call_waiting``; whichever of the two
  arrives first, the call keeps the place its arrival gave it. A call queued without IVR news is
  routed with its queue's skill and the switch's priority, and updated if the news comes later.
- A ``CallQueued`` for a call being delivered means the agent did not answer: the dialplan put
  the caller back. The agent is paused as "missed" and the next agent is tried.
- Delivery is ``switch.redirect(caller channel, context=hotline-deliver, exten=extension)``; a
  ``SwitchError`` puts the call back at its place (after ``retry_delivery_s``) and frees the agent.
- Fallback queues: every agent is a static member of each ``<queue>-fallback``; ``acd.membership``
  pauses them there while they are away or logged out, so if Hotline stops app_queue rings only
  the agents who were available.
- Callbacks (``request_callback``, and the maximum wait with the callback action) wait in
  ``acd.callbacks`` at their caller's place; ``acd.callback_dialer`` gives them to free agents.
- A phone that unregistered (``MemberStatusChanged`` UNAVAILABLE) pauses its free agent as
  "unreachable"; the agent, not the phone's return, ends that pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime

from acd.agents import DELIVERY_FAILED, AgentStates
from acd.callback_dialer import CallbackDialer
from acd.callbacks import Admitted, CallbackRequest
from acd.errors import AcdError
from acd.events import (
    AgentStateChanged,
    CallbackSource,
    CallDelivering,
    CallDeliveryFailed,
    CallOverflowed,
    MarketingDecision,
    MarketingWork,
    MaxWaitReached,
    QueueStatsUpdated,
)
from acd.gate import Load, MarketingGate, MarketingPolicy, combined_load
from acd.membership import FallbackMembership
from acd.models import (
    AcdConfig,
    AgentProfile,
    AgentState,
    MaxWaitAction,
    PauseReason,
    WaitingCall,
)
from acd.router import Assignment, MaxWait, Overflowed, RingTimedOut, Router
from acd.stats import QueueStatistics
from cti.bus import EventBus, Subscription
from cti.errors import SwitchError
from cti.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallQueued,
    CallRinging,
    CallTransferred,
    EndCause,
    MemberStatusChanged,
    SwitchResynced,
)
from cti.switch import Switch

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

CONSUMED = (
    CallOffered,
    CallQueued,
    CallRinging,
    CallAnswered,
    CallTransferred,
    CallEnded,
    CallAbandoned,
    SwitchResynced,
    MemberStatusChanged,
)
# Callers' channels are remembered from CallOffered until the call ends; a bound, in case ends
# are lost, drops the oldest (a call that old is long gone).
MAX_REMEMBERED_CALLS = 20_000
STATS_INTERVAL_S = 1.0
# The device state app_queue reports for a phone that is not registered (unplugged, offline).
DEVICE_UNAVAILABLE = "UNAVAILABLE"


class AcdService:
    def __init__(
        self,
        bus: EventBus,
        switch: Switch,
        clock: Clock,
        config: AcdConfig,
        *,
        policies: Iterable[MarketingPolicy] = (),
    ) -> None:
        self._bus = bus
        self._switch = switch
        self._clock = clock
        self.config = config
        self.states = AgentStates(config.agents, config.reason_codes)
        self.router = Router(
            config.queues,
            ring_timeout_s=config.ring_timeout_s,
            sticky_agent_s=config.sticky_agent_s,
            retry_delivery_s=config.retry_delivery_s,
        )
        for profile in config.agents.values():
            self.router.set_agent(profile.agent, profile.skills)
        self.stats = QueueStatistics(config.queues, window_s=config.stats_window_s)
        self.gate = MarketingGate(policies)
        self.fallback = FallbackMembership(switch)
        self._channels: OrderedDict[str, str] = OrderedDict()  # call → caller's channel
        self._numbers: OrderedDict[str, tuple[str, str]] = OrderedDict()  # call → (caller, dialed)
        self._ivr: OrderedDict[str, WaitingCall] = OrderedDict()  # IVR news ahead of CallQueued
        self._agent_of_call: dict[str, str] = {}
        self._subscription: Subscription | None = None
        self._tasks: list[asyncio.Task] = []
        self._wake = asyncio.Event()
        self._last_stats = self._clock()
        self.callbacks = CallbackDialer(
            bus=bus,
            switch=switch,
            clock=clock,
            config=config,
            states=self.states,
            router=self.router,
            apply=self._apply,
            agent_of_call=self._agent_of_call,
            wake=self._wake.set,
        )

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._subscription = self._bus.subscribe("acd", *CONSUMED)
        self._tasks = [
            asyncio.create_task(self._consume(self._subscription), name="acd-events"),
            asyncio.create_task(self._timers(), name="acd-timers"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.callbacks.stop()
        if self._subscription is not None:
            self._bus.unsubscribe(self._subscription)
            self._subscription = None

    async def _consume(self, subscription: Subscription) -> None:
        async for event in subscription:
            try:
                await self.handle(event)
            except Exception:
                log.exception("acd_event_failed", extra={"kv": {"event_type": type(event).__name__}})

    async def _timers(self) -> None:
        while True:
            now = self._clock()
            dues = [
                d
                for d in (self.router.next_due(), self.states.next_wrapup_end(), self.callbacks.next_due())
                if d is not None
            ]
            delay = STATS_INTERVAL_S
            if dues:
                delay = min(delay, max((min(dues) - now).total_seconds(), 0.0))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            try:
                await self.run_due()
            except Exception:
                log.exception("acd_timers_failed")

    # --- what the IVR and the agents' desktops ask ---------------------------------------------

    async def call_waiting(self, call: WaitingCall) -> None:
        """What the IVR decided for a caller (through the composition root)."""
        if call.queue not in self.config.queues:
            log.warning("acd_unknown_queue", extra={"kv": {"call_id": call.call_id, "queue": call.queue}})
            return
        self._remember(self._channels, call.call_id, call.channel)
        if self.router.call(call.call_id) is not None:
            await self._deliver_all(self.router.add_call(call, self._clock()))
            self._wake.set()
        else:
            self._remember(self._ivr, call.call_id, call)

    async def login(self, agent: str, *, extension: str = "", paused_reason: str = "") -> None:
        profile = self.states.get(agent).profile
        queues = self.config.queues_for_skills(profile.skills)
        events = self.states.login(
            self._clock(), agent, queues, extension=extension, paused_reason=paused_reason
        )
        await self.fallback.login(profile, paused_reason)
        await self._apply(events)

    async def logout(self, agent: str) -> None:
        record = self.states.get(agent)
        await self._apply(self.states.logout(self._clock(), agent))
        await self.fallback.logout(record.profile)

    async def pause(self, agent: str, reason: str) -> None:
        await self._apply(self.states.pause(self._clock(), agent, reason))

    async def ready(self, agent: str) -> None:
        """Unpause, or end wrap-up early."""
        await self._apply(self.states.ready(self._clock(), agent))

    def extend_wrapup(self, agent: str, seconds: float) -> datetime:
        until = self.states.extend_wrapup(self._clock(), agent, seconds)
        self._wake.set()
        return until

    async def outbound_started(self, agent: str, call_id: str) -> None:
        """The agent is dialing out (click-to-dial, a marketing task): busy until that call ends."""
        events = self.states.outbound(self._clock(), agent, call_id)
        self._agent_of_call[call_id] = agent
        await self._apply(events)

    async def outbound_ended(self, agent: str) -> None:
        """The agent's outbound call is over, when its end cannot come as a ``CallEnded`` (the
        call never got through, or its call id was not known when it started)."""
        record = self.states.get(agent)
        if record.state is not AgentState.OUTBOUND:
            return
        call_id = record.call_id
        self._agent_of_call.pop(call_id, None)
        await self._apply(self.states.hang_up(self._clock(), agent, call_id, wrapup_s=self.config.wrapup_s))

    async def marketing_request(
        self, agent: str, work: MarketingWork, *, call_id: str = ""
    ) -> MarketingDecision:
        """May the agent take marketing work now? Admitted outbound work pauses them as "marketing"
        until they are ready again. Every decision is published."""
        now = self._clock()
        record = self.states.get(agent)
        group = record.profile.group
        logged_in = sum(1 for r in self.states.logged_in() if r.profile.group == group)
        decision = self.gate.request(
            now, agent, group, work, state=record.state, logged_in=logged_in, call_id=call_id
        )
        self._bus.publish(decision)
        if decision.admitted and work is MarketingWork.OUTBOUND and record.state is AgentState.AVAILABLE:
            await self._apply(self.states.pause(now, agent, PauseReason.MARKETING))
        return decision

    def marketing_finished(self, agent: str) -> bool:
        return self.gate.finished(agent, self.states.get(agent).profile.group)

    def update_agent(self, profile: AgentProfile) -> None:
        """An agent added or changed at run time (the admin page): skills, extension and name take
        effect at once. An available agent is re-indexed under the new skills now; an agent on a
        call keeps it, and is indexed under the new skills at their next state change (their
        queues, for the statistics, too). A new agent can log in from now on."""
        self.states.set_profile(profile)
        self.router.set_agent(profile.agent, profile.skills)
        record = self.states.get(profile.agent)
        if record.state is not AgentState.LOGGED_OUT:
            record.queues = self.config.queues_for_skills(profile.skills)
        self._wake.set()

    async def request_callback(self, request: CallbackRequest) -> Admitted:
        """A caller asked to be called back (the IVR's callback node): they keep their place.
        Raises ``UnknownQueue``, ``CallbackQueueFull``, or ``ValueError`` for a request without
        a number."""
        return await self.callbacks.request(request)

    def snapshot(self, queue: str) -> QueueStatsUpdated:
        return self.stats.snapshot(queue, self._clock())

    # --- domain events -------------------------------------------------------------------------

    async def handle(self, event: object) -> None:
        if isinstance(event, CallOffered):
            self._remember(self._channels, event.call_id, event.channel)
            self._remember(self._numbers, event.call_id, (event.caller, event.dialed))
            return
        if isinstance(event, MemberStatusChanged):
            await self._member_status(event)
            return
        touched = self.stats.feed(event)
        if isinstance(event, CallQueued):
            await self._queued(event)
        elif isinstance(event, CallRinging):
            await self._ringing(event)
        elif isinstance(event, CallAnswered):
            await self._answered(event)
        elif isinstance(event, CallAbandoned):
            self.router.remove_call(event.call_id)
            self._forget(event.call_id)
        elif isinstance(event, CallTransferred):
            await self._transferred(event)
        elif isinstance(event, CallEnded):
            await self._ended(event)
        elif isinstance(event, SwitchResynced):
            touched = await self._resynced(event)
        self._publish_stats(touched)
        self._wake.set()  # the timers may have changed: let the timer task look again

    async def _queued(self, event: CallQueued) -> None:
        if event.queue not in self.config.queues:
            return  # a fallback queue: app_queue's own calls
        if self.router.delivering_agent(event.call_id):
            missed, assignments = self.router.ring_no_answer(event.call_id, event.at)
            await self._missed(event.at, missed, event.call_id)
            await self._deliver_all(assignments)
            return
        if self.router.call(event.call_id) is not None:
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
        await self._deliver_all(self.router.add_call(call, event.at))

    async def _ringing(self, event: CallRinging) -> None:
        record = self.states.by_interface(event.agent)
        if record is None or self.router.delivering_agent(event.call_id) == record.profile.agent:
            return
        if record.state is AgentState.AVAILABLE:  # app_queue (fallback) or a direct call rings them
            self._agent_of_call[event.call_id] = record.profile.agent
            queue = self._served_queue(event.queue)
            await self._apply(self.states.ring(event.at, record.profile.agent, event.call_id, queue))

    async def _answered(self, event: CallAnswered) -> None:
        if self.callbacks.answered(event):
            return
        delivering = self.router.delivering_agent(event.call_id)
        record = self.states.by_interface(event.agent)
        events: list[AgentStateChanged] = []
        if delivering and (record is None or record.profile.agent != delivering):
            events += self.states.ring_cancelled(event.at, delivering, event.call_id, "answered-elsewhere")
        call = self.router.call(event.call_id)
        queue = call.queue if call is not None else self._served_queue(event.queue)
        late = (
            record is not None and record.state is AgentState.PAUSED and record.reason == PauseReason.MISSED
        )
        if record is not None and (record.state in (AgentState.RINGING, AgentState.AVAILABLE) or late):
            self.router.answered(event.call_id, record.profile.agent, event.at)
            self._agent_of_call[event.call_id] = record.profile.agent
            events += self.states.answer(event.at, record.profile.agent, event.call_id, queue)
        else:
            self.router.remove_call(event.call_id)
        await self._apply(events)

    async def _ended(self, event: CallEnded) -> None:
        delivering = self.router.delivering_agent(event.call_id)
        call = self.router.remove_call(event.call_id)
        events: list[AgentStateChanged] = []
        if delivering:
            events += self.states.ring_cancelled(event.at, delivering, event.call_id)
        agent = self._agent_of_call.pop(event.call_id, "")
        if agent and agent != delivering:
            record = self.states.get(agent)
            wrapup_s = self.config.wrapup_for(record.queue or (call.queue if call else ""))
            if record.state is AgentState.RINGING:
                events += self.states.ring_cancelled(event.at, agent, event.call_id)
            else:
                events += self.states.hang_up(event.at, agent, event.call_id, wrapup_s=wrapup_s)
        self._forget(event.call_id)
        self.callbacks.ended(event.call_id)
        await self._apply(events)

    async def _member_status(self, event: MemberStatusChanged) -> None:
        """A phone that unregistered cannot take calls: its available agent is paused as
        "unreachable" (from wrap-up too, which would make them available to a dead phone).
        The phone's return does not unpause them: a phone that flaps would otherwise pull the
        agent in and out of routing, and a registered phone is no proof the person is at their
        desk after the outage; the agent says ready themselves."""
        if event.device_state != DEVICE_UNAVAILABLE:
            return
        record = self.states.by_interface(event.interface)
        if record is None or record.state not in (AgentState.AVAILABLE, AgentState.WRAP_UP):
            return
        fields = {"agent": record.profile.agent, "interface": event.interface}
        log.warning("acd_agent_phone_unreachable", extra={"kv": fields})
        await self._apply(self.states.pause(event.at, record.profile.agent, PauseReason.UNREACHABLE))

    async def _transferred(self, event: CallTransferred) -> None:
        """The agent handed the caller on: their part of the call is over, wrap-up begins."""
        record = self.states.by_interface(event.from_agent)
        if record is None or record.call_id != event.call_id or record.state is not AgentState.ON_CALL:
            return
        agent = record.profile.agent
        if self._agent_of_call.get(event.call_id) == agent:
            del self._agent_of_call[event.call_id]
        wrapup_s = self.config.wrapup_for(record.queue)
        await self._apply(self.states.hang_up(event.at, agent, event.call_id, wrapup_s=wrapup_s))

    def _served_queue(self, queue: str) -> str:
        """The ACD queue behind an app_queue fallback queue's name."""
        suffix = self.config.fallback_suffix
        if queue.endswith(suffix) and queue[: -len(suffix)] in self.config.queues:
            return queue[: -len(suffix)]
        return queue

    async def _resynced(self, event: SwitchResynced) -> tuple[str, ...]:
        alive = set(event.calls)
        for call in self.router.calls():
            if call.call_id not in alive:
                await self._ended(
                    CallEnded(
                        at=event.at,
                        call_id=call.call_id,
                        cause=EndCause.LOST_DURING_DISCONNECT,
                        talk_seconds=0.0,
                    )
                )
        for call_id in [c for c in self._agent_of_call if c not in alive]:
            await self._ended(
                CallEnded(
                    at=event.at, call_id=call_id, cause=EndCause.LOST_DURING_DISCONNECT, talk_seconds=0.0
                )
            )
        await self.fallback.sync(self.states)
        return self.stats.forget_calls(alive)

    # --- time ----------------------------------------------------------------------------------

    async def run_due(self) -> None:
        """Everything the clock decided: wrap-ups over, overflows, maximum waits, ring timeouts."""
        now = self._clock()
        await self._apply(self.states.expire_wrapups(now))
        await self.callbacks.run_due(now)
        for outcome in self.router.due(now):
            if isinstance(outcome, Assignment):
                await self._deliver_all([outcome])
            elif isinstance(outcome, Overflowed):
                self._bus.publish(
                    CallOverflowed(
                        now, outcome.call.call_id, outcome.call.queue, outcome.to_queue, outcome.wait_seconds
                    )
                )
            elif isinstance(outcome, MaxWait):
                await self._max_wait(now, outcome)
            elif isinstance(outcome, RingTimedOut):
                await self._missed(now, outcome.agent, outcome.call.call_id)
        if (now - self._last_stats).total_seconds() >= STATS_INTERVAL_S:
            self._last_stats = now
            self._publish_stats(self.stats.queues)

    async def _max_wait(self, now: datetime, outcome: MaxWait) -> None:
        call = outcome.call
        self._bus.publish(
            MaxWaitReached(
                now,
                call.call_id,
                call.queue,
                outcome.action,
                outcome.wait_seconds,
                call.caller,
                call.customer_id,
            )
        )
        context = (
            self.config.callback_context
            if outcome.action is MaxWaitAction.CALLBACK
            else self.config.message_context
        )
        try:
            await self._switch.redirect(
                call.channel, context=context, exten=call.queue, request_id=f"acd-maxwait-{call.call_id}"
            )
        except SwitchError as exc:
            # The caller stays in app_queue, whose own timeout sends them to the fallback queue.
            fields = {"call_id": call.call_id, "queue": call.queue, "error": str(exc)}
            log.error("acd_max_wait_redirect_failed", extra={"kv": fields})
            return
        if outcome.action is MaxWaitAction.CALLBACK:
            await self._max_wait_callback(now, call)

    async def _max_wait_callback(self, now: datetime, call: WaitingCall) -> None:
        """The caller was told they will be called back: they keep the place they queued in."""
        if not call.caller:
            log.warning("acd_callback_without_number", extra={"kv": {"call_id": call.call_id}})
            return
        request = CallbackRequest(
            callback_id=f"cb-{call.call_id}",
            number=call.caller,
            queue=call.queue,
            requested_at=call.queued_at or now,
            skill=call.skill,
            priority=call.priority,
            customer_id=call.customer_id,
            language=call.language,
            call_id=call.call_id,
            source=CallbackSource.MAX_WAIT,
            dialed=self._numbers.get(call.call_id, ("", ""))[1],
        )
        try:
            await self.callbacks.request(request)
        except (AcdError, ValueError) as exc:
            fields = {"call_id": call.call_id, "error": str(exc)}
            log.error("acd_callback_refused", extra={"kv": fields})

    # --- delivery ------------------------------------------------------------------------------

    async def _deliver_all(self, assignments: list[Assignment]) -> None:
        work = list(assignments)
        while work:
            work.extend(await self._deliver(work.pop(0)))

    async def _deliver(self, assignment: Assignment) -> list[Assignment]:
        now = self._clock()
        call, agent = assignment.call, assignment.agent
        record = self.states.get(agent)
        try:
            ringing = self.states.ring(now, agent, call.call_id, call.queue)
        except AcdError as exc:
            # The router and the state machine disagree: a bug, but the caller must not be lost.
            log.error("acd_agent_not_ringable", extra={"kv": {"agent": agent, "error": str(exc)}})
            self.router.delivery_failed(call.call_id, now)
            return []
        self._agent_of_call[call.call_id] = agent
        more = await self._apply(ringing, deliver=False)
        self._bus.publish(
            CallDelivering(
                now, call.call_id, call.queue, agent, record.extension, assignment.attempt, assignment.sticky
            )
        )
        try:
            await self._switch.redirect(
                call.channel,
                context=self.config.deliver_context,
                exten=record.extension,
                request_id=f"acd-{call.call_id}-{assignment.attempt}",
            )
        except SwitchError as exc:
            now = self._clock()
            if self.router.delivering_agent(call.call_id) != agent:
                return more  # the call ended while we waited for the switch
            fields = {"call_id": call.call_id, "agent": agent, "error": str(exc)}
            log.warning("acd_delivery_failed", extra={"kv": fields})
            self._bus.publish(CallDeliveryFailed(now, call.call_id, call.queue, agent, str(exc)))
            self.router.delivery_failed(call.call_id, now)
            self._agent_of_call.pop(call.call_id, None)
            more += await self._apply(
                self.states.ring_cancelled(now, agent, call.call_id, DELIVERY_FAILED), deliver=False
            )
        return more

    async def _missed(self, at: datetime, agent: str, call_id: str) -> None:
        if not agent:
            return
        if self._agent_of_call.get(call_id) == agent:
            del self._agent_of_call[call_id]
        log.info("acd_ring_no_answer", extra={"kv": {"call_id": call_id, "agent": agent}})
        await self._apply(self.states.ring_no_answer(at, agent, call_id))

    # --- applying agent state changes ----------------------------------------------------------

    async def _apply(self, events: list[AgentStateChanged], *, deliver: bool = True) -> list[Assignment]:
        """Publish state changes and follow them: router index, statistics, marketing slots,
        fallback-queue pauses; new assignments are delivered (or returned when ``deliver`` is off)."""
        assignments: list[Assignment] = []
        callbacks: list[tuple[str, CallbackRequest, int]] = []
        touched: set[str] = set()
        for event in events:
            self._bus.publish(event)
            touched.update(self.stats.feed(event))
            record = self.states.get(event.agent)
            claimed = None
            if event.state is AgentState.AVAILABLE and record.state is AgentState.AVAILABLE:
                claimed = self.callbacks.claim(event.agent, record.profile.skills)
            if claimed is not None:
                self.router.agent_unavailable(event.agent)
                callbacks.append((event.agent, *claimed))
            elif event.state is AgentState.AVAILABLE:
                assignments += self.router.agent_available(
                    event.agent, event.at, idle_since=record.idle_since, calls_handled=record.calls_handled
                )
            else:
                self.router.agent_unavailable(event.agent)
            if event.state in (AgentState.AVAILABLE, AgentState.LOGGED_OUT) or (
                event.state is AgentState.PAUSED and event.reason != PauseReason.MARKETING
            ):
                self.gate.finished(event.agent, record.profile.group)
            await self.fallback.follow(event)
        self._publish_stats(touched)
        for agent, request, attempt in callbacks:
            assignments += await self.callbacks.begin(agent, request, attempt)
        if deliver:
            await self._deliver_all(assignments)
            return []
        return assignments

    def _publish_stats(self, queues: Iterable[str]) -> None:
        queues = tuple(queues)
        if not queues:
            return
        now = self._clock()
        loads: dict[str, Load] = {}
        for snapshot in self.stats.snapshots(now):
            loads[snapshot.queue] = Load(snapshot.waiting, snapshot.longest_wait_s, snapshot.service_level)
            if snapshot.queue in queues:
                self._bus.publish(snapshot)
        for policy in self.gate.policies():
            if any(queue in queues for queue in policy.queues):
                self._bus.publish_all(
                    self.gate.update_load(now, policy.group, combined_load(loads, policy.queues))
                )

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
