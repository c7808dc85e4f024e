"""Agent state changes followed, and calls delivered to the agents' phones.

``Delivery.apply`` publishes what the agent state machine decided and follows it everywhere it
matters: the router's index of free agents, the queue statistics, the marketing gate's slots, the
agents' pauses in the fallback queues and the callbacks waiting for a free agent. The assignments
that follow are delivered: ``switch.redirect(caller channel, context=hotline-deliver,
exten=extension)``; a ``SwitchError`` puts the call back at its place (after
``retry_delivery_s``) and frees the agent.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, MutableMapping
from datetime import datetime

from acd.agents import DELIVERY_FAILED, AgentRecord, AgentStates
from acd.callback_dialer import CallbackDialer
from acd.callbacks import CallbackRequest
from acd.errors import AcdError
from acd.events import AgentStateChanged, CallDelivering, CallDeliveryFailed
from acd.gate import Load, MarketingGate, combined_load
from acd.membership import FallbackMembership
from acd.models import AcdConfig, AgentState, PauseReason
from acd.router import Assignment, Router
from acd.stats import QueueStatistics
from cti.bus import EventBus
from cti.errors import SwitchError
from cti.events import MemberStatusChanged
from cti.switch import Switch

log = logging.getLogger(__name__)


class Delivery:
    def __init__(
        self,
        *,
        bus: EventBus,
        switch: Switch,
        clock: Callable[[], datetime],
        config: AcdConfig,
        states: AgentStates,
        router: Router,
        stats: QueueStatistics,
        gate: MarketingGate,
        fallback: FallbackMembership,
        callbacks: CallbackDialer,
        agent_of_call: MutableMapping[str, str],
    ) -> None:
        # interface → the server its phone is homed on, as each server's resync lists them
        self.homes: dict[str, str] = {}
        self._bus = bus
        self._switch = switch
        self._clock = clock
        self._config = config
        self._states = states
        self._router = router
        self._stats = stats
        self._gate = gate
        self._fallback = fallback
        self._callbacks = callbacks
        self._agent_of_call = agent_of_call
        # The switch treats a repeated request id as the same request (and does not send it
        # again); a call delivered again after a transfer starts its attempts at 1 again.
        self._deliveries = itertools.count(1)

    def reconfigure(self, config: AcdConfig) -> None:
        """Queues changed at run time (AcdService.set_queue): the next decision uses ``config``."""
        self._config = config

    # --- applying agent state changes ----------------------------------------------------------

    async def apply(self, events: list[AgentStateChanged], *, deliver: bool = True) -> list[Assignment]:
        """Publish state changes and follow them: router index, statistics, marketing slots,
        fallback-queue pauses; new assignments are delivered (or returned when ``deliver`` is off)."""
        assignments: list[Assignment] = []
        callbacks: list[tuple[str, CallbackRequest, int]] = []
        touched: set[str] = set()
        for event in events:
            self._bus.publish(event)
            touched.update(self._stats.feed(event))
            record = self._states.get(event.agent)
            claimed = None
            if event.state is AgentState.AVAILABLE and record.state is AgentState.AVAILABLE:
                claimed = self._callbacks.claim(event.agent, record.profile.skills)
            if claimed is not None:
                self._router.agent_unavailable(event.agent)
                callbacks.append((event.agent, *claimed))
            elif event.state is AgentState.AVAILABLE:
                assignments += self._router.agent_available(
                    event.agent,
                    event.at,
                    idle_since=record.idle_since,
                    calls_handled=record.calls_handled,
                    home=self.homes.get(record.phone, ""),
                )
            else:
                self._router.agent_unavailable(event.agent)
            if event.state in (AgentState.AVAILABLE, AgentState.LOGGED_OUT) or (
                event.state is AgentState.PAUSED and event.reason != PauseReason.MARKETING
            ):
                self._gate.finished(event.agent, record.profile.group)
            await self._fallback.follow(event)
        self.publish_stats(touched)
        for agent, request, attempt in callbacks:
            assignments += await self._callbacks.begin(agent, request, attempt)
        if deliver:
            await self.deliver_all(assignments)
            return []
        return assignments

    async def rehome(self, server: str, phones: Iterable[str]) -> None:
        """A server listed the phones homed on it (after a resync)."""
        for interface in [i for i, home in self.homes.items() if home == server]:
            del self.homes[interface]
        self.homes.update(dict.fromkeys(phones, server))
        await self._reindex(self._states)

    async def phone_seen(self, event: MemberStatusChanged) -> None:
        """A server said whether it can ring a phone now: the phone's home follows."""
        reachable, home = event.reachable, self.homes.get(event.interface)
        if reachable and home != event.server:
            self.homes[event.interface] = event.server
        elif reachable is False and home == event.server:
            del self.homes[event.interface]
        else:
            return
        record = self._states.by_interface(event.interface)  # who answers on that phone now
        await self._reindex([] if record is None else [record])

    async def _reindex(self, records: Iterable[AgentRecord]) -> None:
        """Available agents whose phone changed server are indexed under its server now, and may
        take a caller there at once."""
        now = self._clock()
        assignments: list[Assignment] = []
        for record in records:
            home = self.homes.get(record.phone, "")
            agent = record.profile.agent
            if self._router.is_available(agent) and self._router.agent_home(agent) != home:
                assignments += self._router.agent_available(
                    agent, now, idle_since=record.idle_since, calls_handled=record.calls_handled, home=home
                )
        await self.deliver_all(assignments)

    def publish_stats(self, queues: Iterable[str]) -> None:
        queues = tuple(queues)
        if not queues:
            return
        now = self._clock()
        loads: dict[str, Load] = {}
        for snapshot in self._stats.snapshots(now):
            loads[snapshot.queue] = Load(snapshot.waiting, snapshot.longest_wait_s, snapshot.service_level)
            if snapshot.queue in queues:
                self._bus.publish(snapshot)
        for policy in self._gate.policies():
            if any(queue in queues for queue in policy.queues):
                self._bus.publish_all(
                    self._gate.update_load(now, policy.group, combined_load(loads, policy.queues))
                )

    # --- delivery ------------------------------------------------------------------------------

    async def deliver_all(self, assignments: list[Assignment]) -> None:
        work = list(assignments)
        while work:
            work.extend(await self._deliver(work.pop(0)))

    async def _deliver(self, assignment: Assignment) -> list[Assignment]:
        now = self._clock()
        call, agent = assignment.call, assignment.agent
        record = self._states.get(agent)
        try:
            ringing = self._states.ring(now, agent, call.call_id, call.queue)
        except AcdError as exc:
            # The router and the state machine disagree: a bug, but the caller must not be lost.
            log.error("acd_agent_not_ringable", extra={"kv": {"agent": agent, "error": str(exc)}})
            self._router.delivery_failed(call.call_id, now)
            return []
        self._agent_of_call[call.call_id] = agent
        more = await self.apply(ringing, deliver=False)
        self._bus.publish(
            CallDelivering(
                now, call.call_id, call.queue, agent, record.extension, assignment.attempt, assignment.sticky
            )
        )
        request_id = f"acd-{call.call_id}-{next(self._deliveries)}"
        try:
            # The dialplan's Dial rings for HOTLINE_RING_S: the ACD's ring time, not the global's.
            await self._switch.set_var(
                call.channel,
                "HOTLINE_RING_S",
                str(max(1, round(self._config.ring_timeout_s))),
                request_id=f"{request_id}-ring",
            )
            await self._switch.redirect(
                call.channel,
                context=self._config.deliver_context,
                exten=record.extension,
                request_id=request_id,
            )
        except SwitchError as exc:
            now = self._clock()
            if self._router.delivering_agent(call.call_id) != agent:
                return more  # the call ended while we waited for the switch
            fields = {"call_id": call.call_id, "agent": agent, "error": str(exc)}
            log.warning("acd_delivery_failed", extra={"kv": fields})
            self._bus.publish(CallDeliveryFailed(now, call.call_id, call.queue, agent, str(exc)))
            self._router.delivery_failed(call.call_id, now)
            self._agent_of_call.pop(call.call_id, None)
            more += await self.apply(
                self._states.ring_cancelled(now, agent, call.call_id, DELIVERY_FAILED), deliver=False
            )
        return more

    async def missed(self, at: datetime, agent: str, call_id: str) -> None:
        """Ring-no-answer: the agent is paused as "missed"."""
        if not agent:
            return
        if self._agent_of_call.get(call_id) == agent:
            del self._agent_of_call[call_id]
        log.info("acd_ring_no_answer", extra={"kv": {"call_id": call_id, "agent": agent}})
        await self.apply(self._states.ring_no_answer(at, agent, call_id))
