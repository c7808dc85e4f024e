"""The ACD's thin shell: domain events in, switch commands and ACD events out.

``AcdService(bus, switch, clock, config)`` joins the pure cores — the agent state machine, the
router, the queue statistics and the marketing gate — to the bus and the switch. It is the ACD's
one entry point: the IVR's news, the agents' desktops and the clock come in here. The work is
done by its parts:

- ``acd.intake``: the switch's and the IVR's news about calls (routing once the caller is in the
  queue, ring-no-answer, answers, transfers, ends, unreachable phones, resyncs).
- ``acd.delivery``: agent state changes published and followed (router, statistics, marketing
  slots, fallback-queue pauses, callbacks), and calls delivered to the agents' phones.
- ``acd.max_wait``: a caller who waited the queue's maximum gets the message or a callback.
- Fallback queues: every agent is a static member of each ``<queue>-fallback``; ``acd.membership``
  pauses them there while they are away or logged out, so if Hotline stops app_queue rings only
  the agents who were available.
- Callbacks (``request_callback``, and the maximum wait with the callback action) wait in
  ``acd.callbacks`` at their caller's place; ``acd.callback_dialer`` gives them to free agents.
- Queues may be added, changed and removed at run time (``set_queue``, ``remove_queue``; the
  admin page, docs/acd-queues-admin.md), checked as the queues file is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from acd.agents import AgentRecord, AgentStates
from acd.callback_dialer import CallbackDialer
from acd.callbacks import Admitted, CallbackRequest, CallbackView
from acd.delivery import Delivery
from acd.errors import AcdError, QueueInUse, UnknownQueue
from acd.events import (
    AgentStateChanged,
    CallOverflowed,
    MarketingDecision,
    MarketingWork,
    QueueConfigured,
    QueueStatsUpdated,
)
from acd.gate import MarketingGate, MarketingPolicy
from acd.intake import CallIntake
from acd.max_wait import MaxWaitActions
from acd.membership import FallbackMembership
from acd.models import (
    AcdConfig,
    AgentProfile,
    AgentState,
    PauseReason,
    QueueConfig,
    WaitingCall,
)
from acd.queue_file import check_queues
from acd.router import Assignment, MaxWait, Overflowed, RingTimedOut, Router
from acd.stats import QueueStatistics
from acd.store import AcdStore, policy_settings, restore_policies
from cti.bus import EventBus, Subscription
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
    MemberStatusChanged,
    SwitchResynced,
)
from cti.switch import Switch

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# Told the whole set of queues before a change is made (the admin page writes the queues file);
# if it raises, nothing changes.
Persist = Callable[[Mapping[str, QueueConfig]], Awaitable[None]]

CONSUMED = (
    CallOffered,
    CallQueued,
    CallRinging,
    CallAnswered,
    CallTransferred,
    ConsultStarted,
    ConsultAnswered,
    ConsultCancelled,
    ConferenceStarted,
    ConferenceLeft,
    CallEnded,
    CallAbandoned,
    SwitchResynced,
    MemberStatusChanged,
)
STATS_INTERVAL_S = 1.0


class AcdService:
    def __init__(
        self,
        bus: EventBus,
        switch: Switch,
        clock: Clock,
        config: AcdConfig,
        *,
        policies: Iterable[MarketingPolicy] = (),
        store: AcdStore | None = None,  # thresholds and callbacks kept across restarts (acd.store)
    ) -> None:
        self._bus = bus
        self._store = store
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
        self._agent_of_call: dict[str, str] = {}
        self._forms_open: set[str] = set()  # agents with a wrap-up form not yet saved or discarded
        self._subscription: Subscription | None = None
        self._tasks: list[asyncio.Task] = []
        self._wake = asyncio.Event()
        self._last_stats = self._clock()
        self._queue_change = asyncio.Lock()  # one queue change at a time, persisted in order
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
            store=store,
        )
        self._delivery = Delivery(
            bus=bus,
            switch=switch,
            clock=clock,
            config=config,
            states=self.states,
            router=self.router,
            stats=self.stats,
            gate=self.gate,
            fallback=self.fallback,
            callbacks=self.callbacks,
            agent_of_call=self._agent_of_call,
        )
        self._intake = CallIntake(
            clock=clock,
            config=config,
            states=self.states,
            router=self.router,
            stats=self.stats,
            fallback=self.fallback,
            callbacks=self.callbacks,
            delivery=self._delivery,
            agent_of_call=self._agent_of_call,
            wake=self._wake.set,
        )
        self._max_wait = MaxWaitActions(
            bus=bus, switch=switch, config=config, callbacks=self.callbacks, dialed=self._intake.dialed
        )

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._store is not None:
            await restore_policies(self._store, self.gate, self.config.queues)
        recent_legs = getattr(self._store, "recent_queue_legs", None)
        if recent_legs is not None:  # the wallboard's last half hour, counted again (docs/restart.md)
            now = self._clock()
            try:
                self.stats.restore(await recent_legs(now - self.stats.window), now)
            except Exception:  # the figures start empty, as they did before: not a reason to stop
                log.exception("acd_stats_not_restored")
        await self.callbacks.start()
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
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that comes
            # as the wake-up does, and stop() then waits for this task for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            try:
                await self.run_due()
            except Exception:
                log.exception("acd_timers_failed")

    # --- what the IVR and the agents' desktops ask ---------------------------------------------

    async def call_waiting(self, call: WaitingCall) -> None:
        """What the IVR decided for a caller (through the composition root)."""
        await self._intake.call_waiting(call)

    async def login(self, agent: str, *, extension: str = "", paused_reason: str = "") -> None:
        profile = self.states.get(agent).profile
        queues = self.config.queues_for_skills(profile.skills)
        now = self._clock()
        events = self.states.login(now, agent, queues, extension=extension, paused_reason=paused_reason)
        # A wrap-up form still open (kept across a restart) holds the agent as it did before.
        held = any(map(self.config.holds_open_wrapup, queues))
        if held and not paused_reason and agent in self._forms_open:
            events += self.states.hold_in_wrapup(now, agent)
            self._wake.set()
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

    def pause_after_call(self, agent: str, reason: str) -> None:
        """Pause with ``reason`` when the current call and its wrap-up are over ("" cancels)."""
        self.states.pause_after_call(agent, reason)

    async def wrapup_form(self, agent: str, *, open: bool) -> None:
        """The agent has a wrap-up form open (or none any more). While one is open the agent stays
        in wrap-up past its time, unless their queue says ``offer_during_wrapup``; when the last
        one closes, a wrap-up past its time ends."""
        if open:
            self._forms_open.add(agent)
            return
        self._forms_open.discard(agent)
        with contextlib.suppress(AcdError):
            await self._apply(self.states.release_wrapup(self._clock(), agent))

    def _held_in_wrapup(self, record: AgentRecord) -> bool:
        return record.profile.agent in self._forms_open and self.config.holds_open_wrapup(record.queue)

    async def outbound_started(self, agent: str, call_id: str) -> None:
        """The agent is dialing out (click-to-dial, a marketing task): busy until that call ends."""
        events = self.states.outbound(self._clock(), agent, call_id)
        self._agent_of_call[call_id] = agent
        await self._apply(events)

    async def outbound_ended(self, agent: str, *, connected: bool = True) -> None:
        """The agent's outbound call is over, when its end cannot come as a ``CallEnded`` (the
        call never got through, or its call id was not known when it started). A call that
        never ``connected`` leaves no wrap-up: the agent is back where they were."""
        record = self.states.get(agent)
        if record.state is not AgentState.OUTBOUND:
            return
        call_id = record.call_id
        self._agent_of_call.pop(call_id, None)
        now = self._clock()
        if connected:
            await self._apply(self.states.hang_up(now, agent, call_id, wrapup_s=self.config.wrapup_s))
        else:
            await self._apply(self.states.outbound_failed(now, agent, call_id))

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

    async def set_marketing_policy(self, policy: MarketingPolicy) -> MarketingPolicy | None:
        """A supervisor's threshold for a group, saved first (if saving fails nothing changes), so
        it holds after a restart. Returns the policy it replaced."""
        if self._store is not None:
            await self._store.save_marketing_policy(policy.group, policy_settings(policy))
        before = self.gate.policy(policy.group)
        self.gate.set_policy(policy)
        return before

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

    async def set_queue(self, queue: QueueConfig, *, persist: Persist | None = None) -> QueueConfig | None:
        """Add a queue, or replace one's settings, at run time. Checked as the queues file is
        (AcdConfigError). ``persist`` gets the new queues first; if it fails nothing changes.
        Waiting calls keep their place and are routed and timed under the new settings from the
        next decision on. Returns the settings replaced, None for a new queue."""
        async with self._queue_change:
            previous = self.config.queues.get(queue.name)
            queues = {**self.config.queues, queue.name: queue}
            check_queues(queues)
            config = replace(self.config, queues=queues)
            if persist is not None:
                await persist(config.queues)
            self._reconfigure(config)
            assignments = self.router.set_queue(queue, self._clock())
            self.stats.set_queue(queue)
            self._queues_changed(queue.name, queue.service_level_s, removed=False)
            await self._delivery.deliver_all(assignments)
            return previous

    async def remove_queue(self, name: str, *, persist: Persist | None = None) -> QueueConfig:
        """Remove a queue at run time: refused (QueueInUse) while another queue overflows to it or
        a caller or a callback waits in it; UnknownQueue when there is none; AcdConfigError for
        the last queue. ``persist`` as for ``set_queue``. Returns the settings removed."""
        async with self._queue_change:
            queue = self.config.queues.get(name)
            if queue is None:
                raise UnknownQueue(name)
            feeding = sorted(q.name for q in self.config.queues.values() if q.overflow_to == name)
            if feeding:
                raise QueueInUse(name, f"{', '.join(feeding)} overflow(s) to it")
            self._check_unused(name)
            queues = {key: value for key, value in self.config.queues.items() if key != name}
            check_queues(queues)
            if persist is not None:
                await persist(queues)
                try:
                    self._check_unused(name)  # a caller may have joined while the file was written
                except QueueInUse:
                    await persist(self.config.queues)
                    raise
            self.router.remove_queue(name)
            self._reconfigure(replace(self.config, queues=queues))
            self.stats.remove_queue(name)
            self._queues_changed(name, queue.service_level_s, removed=True)
            return queue

    def _check_unused(self, name: str) -> None:
        calls, callbacks = self.router.calls_in(name), self.callbacks.queue.waiting_in(name)
        if calls:
            raise QueueInUse(name, f"{calls} caller(s) wait in it; remove it when they have been served")
        if callbacks:
            raise QueueInUse(name, f"{callbacks} callback(s) wait in it")

    def _reconfigure(self, config: AcdConfig) -> None:
        self.config = config
        for part in (self._intake, self._delivery, self._max_wait, self.callbacks):
            part.reconfigure(config)

    def _queues_changed(self, name: str, service_level_s: float, *, removed: bool) -> None:
        """Logged-in agents serve the queues their skills now match; the change is published."""
        touched = {name} if not removed else set()
        for record in self.states.logged_in():
            queues = self.config.queues_for_skills(record.profile.skills)
            if queues != record.queues:
                record.queues = queues
                touched.update(self.stats.reseat(record.profile.agent, queues))
        self._bus.publish(QueueConfigured(self._clock(), name, service_level_s, removed=removed))
        self._delivery.publish_stats(q for q in touched if q in self.config.queues)
        self._wake.set()

    async def request_callback(self, request: CallbackRequest) -> Admitted:
        """A caller asked to be called back (the IVR's callback node): they keep their place.
        Raises ``UnknownQueue``, ``CallbackQueueFull``, or ``ValueError`` for a request without
        a number."""
        return await self.callbacks.request(request)

    def callbacks_waiting(self) -> list[CallbackView]:
        """Every callback not done, in the order they would be served."""
        return self.callbacks.queue.views()

    def cancel_callback(self, callback_id: str) -> CallbackRequest:
        """Take a waiting callback out of the queue (a supervisor cancels it, or someone dials it
        by hand); raises ``CallbackNotWaiting`` when it is not waiting."""
        return self.callbacks.cancel(callback_id)

    def snapshot(self, queue: str) -> QueueStatsUpdated:
        return self.stats.snapshot(queue, self._clock())

    # --- domain events -------------------------------------------------------------------------

    async def handle(self, event: object) -> None:
        await self._intake.handle(event)

    # --- time ----------------------------------------------------------------------------------

    async def run_due(self) -> None:
        """Everything the clock decided: wrap-ups over, overflows, maximum waits, ring timeouts."""
        now = self._clock()
        await self._apply(self.states.expire_wrapups(now, held=self._held_in_wrapup))
        await self.callbacks.run_due(now)
        for outcome in self.router.due(now):
            if isinstance(outcome, Assignment):
                await self._delivery.deliver_all([outcome])
            elif isinstance(outcome, Overflowed):
                self._bus.publish(
                    CallOverflowed(
                        now, outcome.call.call_id, outcome.call.queue, outcome.to_queue, outcome.wait_seconds
                    )
                )
            elif isinstance(outcome, MaxWait):
                await self._max_wait.reached(now, outcome)
            elif isinstance(outcome, RingTimedOut):
                await self._delivery.missed(now, outcome.agent, outcome.call.call_id)
        if (now - self._last_stats).total_seconds() >= STATS_INTERVAL_S:
            self._last_stats = now
            self._delivery.publish_stats(self.stats.queues)

    async def _apply(self, events: list[AgentStateChanged], *, deliver: bool = True) -> list[Assignment]:
        return await self._delivery.apply(events, deliver=deliver)
