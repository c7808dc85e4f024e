"""Calling callers back: the callback queue (acd/callbacks.py) joined to the agents and the switch.

When an agent becomes free and the first callback they could take ranks before the first live
caller the router holds for them (acd/callbacks.py: the ordering rule), or when a callback starts
waiting while one of its agents is idle, the agent gets the callback:

1. the agent is busy on an outbound call at once (state ``outbound``, reason ``callback``), so
   no live caller is delivered to them meanwhile;
2. ``switch.originate`` rings the agent's phone (channel = their interface) into
   ``callback_dial_context`` with the customer's number as the extension: the agent hears the
   customer's phone ring, never the other way round. It runs on a task of its own: Asterisk
   answers an Originate only once the phone answered or gave up, and the ACD's events must not
   wait for that;
3. the outcome: the agent's phone answered (``CallAnswered`` on their interface names the call)
   → the agent is on that call until it ends → wrap-up; the Originate failed → the agent is free
   again (paused "missed" if it was their own phone that did not answer) and the callback is
   tried again after ``callback_retry_s``, up to ``callback_max_attempts``.

With a store, the queue is written behind to it and read back at ``start`` (acd/callback_journal.py):
a callback survives a restart of Hotline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from datetime import datetime

from acd.agents import CALLBACK, AgentStates
from acd.callback_journal import CallbackJournal
from acd.callbacks import (
    Admission,
    Admitted,
    CallbackQueue,
    CallbackRequest,
    GaveUp,
    Phase,
    normalize_number,
)
from acd.errors import CallbackNotWaiting
from acd.events import (
    AgentStateChanged,
    CallbackCompleted,
    CallbackFailed,
    CallbackScheduled,
    CallbackStarted,
)
from acd.models import AcdConfig, AgentState
from acd.router import Router
from acd.store import CallbackStore
from cti.bus import EventBus
from cti.errors import SwitchError
from cti.events import CallAnswered
from cti.switch import Switch

log = logging.getLogger(__name__)

# Asterisk's OriginateResponse Reason when the dialed phone rang out unanswered.
REASON_NO_ANSWER = "3"

Apply = Callable[..., Awaitable[list]]


@dataclass(slots=True)
class _Attempt:
    callback: CallbackRequest
    agent: str
    interface: str
    attempt: int
    call_id: str  # a placeholder until the switch names the call (CallAnswered on the interface)
    bound: bool = False


class CallbackDialer:
    def __init__(
        self,
        *,
        bus: EventBus,
        switch: Switch,
        clock: Callable[[], datetime],
        config: AcdConfig,
        states: AgentStates,
        router: Router,
        apply: Apply,
        agent_of_call: MutableMapping[str, str],
        wake: Callable[[], None],
        store: CallbackStore | None = None,
    ) -> None:
        self._bus = bus
        self._switch = switch
        self._clock = clock
        self._config = config
        self._states = states
        self._router = router
        self._apply = apply
        self._agent_of_call = agent_of_call
        self._wake = wake
        self.queue = CallbackQueue(
            config.queues,
            retry_delay_s=config.callback_retry_s,
            max_attempts=config.callback_max_attempts,
            dedupe_window_s=config.callback_dedupe_s,
        )
        self._active: dict[str, _Attempt] = {}  # agent interface → the attempt ringing or on it
        self._tasks: set[asyncio.Task[None]] = set()
        self._journal = CallbackJournal(self.queue, store) if store is not None else None

    def reconfigure(self, config: AcdConfig) -> None:
        """Queues changed at run time (AcdService.set_queue): the next decision uses ``config``."""
        self._config = config
        self.queue.set_queues(config.queues)

    async def start(self) -> None:
        """The callbacks kept across the last restart wait again, at their places."""
        if self._journal is None:
            return
        restored = await self._journal.load(self._clock())
        if restored:
            log.info("acd_callbacks_restored", extra={"kv": {"count": restored}})
        self._journal.start()

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._journal is not None:
            await self._journal.stop()

    def _changed(self) -> None:
        if self._journal is not None:
            self._journal.changed()

    async def wait_idle(self) -> None:
        """Until every Originate under way has its outcome applied (for tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- requests ------------------------------------------------------------------------------

    async def request(self, request: CallbackRequest) -> Admitted:
        """Queue a callback; raises ``UnknownQueue``, ``CallbackQueueFull`` or ``ValueError`` (no
        number)."""
        now = self._clock()
        admitted = self.queue.request(request, now)
        fields = {"callback_id": request.callback_id, "queue": request.queue, "outcome": admitted.outcome}
        if admitted.outcome is Admission.RECENT:
            log.warning("acd_callback_recently_done", extra={"kv": fields})
            return admitted
        self._changed()
        log.info("acd_callback_scheduled", extra={"kv": fields})
        waiting = admitted.request
        self._bus.publish(
            CallbackScheduled(
                now,
                waiting.callback_id,
                waiting.number,
                waiting.queue,
                waiting.skill,
                waiting.priority,
                waiting.requested_at,
                waiting.source,
                waiting.call_id,
                waiting.customer_id,
                merged=admitted.outcome is Admission.MERGED,
            )
        )
        if admitted.outcome is Admission.NEW:
            await self.offer(waiting)
        self._wake()
        return admitted

    async def offer(self, request: CallbackRequest) -> None:
        """A callback waits again (new, or its retry time came): an idle agent of its skill takes
        it. The router leaves no live caller waiting while such an agent is idle, so none is
        passed over."""
        queue = self._config.queues[request.queue]
        agent = self._router.best_available_agent(request.skill, queue.strategy)
        if not agent or self._states.get(agent).state is not AgentState.AVAILABLE:
            return
        attempt = self.queue.start(request.callback_id, agent)
        self._router.agent_unavailable(agent)
        await self.begin(agent, request, attempt)

    def cancel(self, callback_id: str) -> CallbackRequest:
        """Take a callback out of the queue by hand (cancelled, or taken by a person who dials
        it); one being dialed now cannot be: its attempt's outcome decides."""
        phase = self.queue.phase(callback_id)
        if phase is None:
            raise CallbackNotWaiting(callback_id, "is not in the callback queue")
        if phase is Phase.DIALING:
            raise CallbackNotWaiting(callback_id, "is being dialed now")
        request = self.queue.cancel(callback_id)
        assert request is not None
        self._changed()
        log.info("acd_callback_cancelled", extra={"kv": {"callback_id": callback_id, "queue": request.queue}})
        return request

    def claim(self, agent: str, skills: Iterable[str]) -> tuple[CallbackRequest, int] | None:
        """For an agent just free: the callback they take instead of a live caller, reserved."""
        best = self.queue.best_for(skills)
        if best is None:
            return None
        live = self._router.best_call_key(agent)
        if live is not None and live <= self.queue.key(best.callback_id)[:3]:
            return None  # a live caller has the same place or a better one
        return best, self.queue.start(best.callback_id, agent)

    async def run_due(self, now: datetime) -> None:
        for request in self.queue.due(now):
            self._changed()
            await self.offer(request)

    def next_due(self) -> datetime | None:
        return self.queue.next_due()

    # --- an attempt ----------------------------------------------------------------------------

    async def begin(self, agent: str, request: CallbackRequest, attempt: int) -> list:
        """The agent is busy with the callback at once; the Originate runs on a task of its own."""
        self._changed()  # the attempt is counted
        now = self._clock()
        record = self._states.get(agent)
        placeholder = f"callback-{request.callback_id}-{attempt}"
        events = self._states.outbound(now, agent, placeholder, queue=request.queue, reason=CALLBACK)
        # The phone the agent logged in at: on a hot desk, not their own.
        phone = record.phone
        active = _Attempt(request, agent, phone, attempt, placeholder)
        self._active[active.interface] = active
        self._bus.publish(
            CallbackStarted(now, request.callback_id, request.number, request.queue, agent, attempt)
        )
        more = await self._apply(events, deliver=False)
        task = asyncio.create_task(self._dial(active), name=f"acd-callback-{request.callback_id}-{attempt}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return more

    async def _dial(self, active: _Attempt) -> None:
        request = active.callback
        try:
            try:
                result = await self._switch.originate(
                    channel=active.interface,
                    context=self._config.callback_dial_context,
                    exten=normalize_number(request.number),
                    caller_id=self._caller_id(request),
                    variables={"HOTLINE_CALLBACK": request.callback_id, "HOTLINE_QUEUE": request.queue},
                    timeout_s=self._config.callback_ring_s,
                    request_id=f"acd-callback-{request.callback_id}-{active.attempt}",
                )
            except SwitchError as exc:
                await self._failed(active, str(exc), missed=False)
                return
            if result.success:
                await self._connected(active)
            else:
                error = f"originate failed (reason {result.reason or 'unknown'})"
                await self._failed(active, error, missed=result.reason == REASON_NO_ANSWER)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("acd_callback_failed", extra={"kv": {"callback_id": request.callback_id}})

    def _caller_id(self, request: CallbackRequest) -> str:
        """What the agent's phone shows: a callback, from the hotline number the caller dialed."""
        number = request.dialed or self._config.callback_caller_id
        return f'"Callback" <{number}>' if number else ""

    async def _connected(self, active: _Attempt) -> None:
        request = active.callback
        self.queue.completed(request.callback_id, self._clock())
        self._changed()
        fields = {"callback_id": request.callback_id, "agent": active.agent, "attempt": active.attempt}
        log.info("acd_callback_connected", extra={"kv": fields})
        self._bus.publish(
            CallbackCompleted(
                self._clock(),
                request.callback_id,
                request.number,
                request.queue,
                active.agent,
                active.attempt,
            )
        )

    async def _failed(self, active: _Attempt, error: str, *, missed: bool) -> None:
        now = self._clock()
        request = active.callback
        outcome = self.queue.failed(request.callback_id, now)
        self._changed()
        retry_at = None if isinstance(outcome, GaveUp) or outcome is None else outcome.at
        fields = {
            "callback_id": request.callback_id,
            "agent": active.agent,
            "attempt": active.attempt,
            "error": error,
            "gave_up": retry_at is None,
        }
        log.warning("acd_callback_attempt_failed", extra={"kv": fields})
        self._bus.publish(
            CallbackFailed(
                now,
                request.callback_id,
                request.number,
                request.queue,
                active.agent,
                active.attempt,
                error,
                retry_at,
            )
        )
        if self._active.get(active.interface) is active:
            del self._active[active.interface]
        self._agent_of_call.pop(active.call_id, None)
        events: list[AgentStateChanged] = self._states.outbound_failed(
            now, active.agent, active.call_id, missed=missed
        )
        await self._apply(events)
        self._wake()

    # --- news from the switch ------------------------------------------------------------------

    def answered(self, event: CallAnswered) -> bool:
        """The agent's phone answered the callback's Originate: the call gets its real id, and
        its end (``CallEnded``) is followed like any other. True when the news was this."""
        active = self._active.get(event.agent)
        if active is None or active.bound:
            return False
        if not self._states.rename_call(active.agent, active.call_id, event.call_id):
            return False
        active.call_id, active.bound = event.call_id, True
        self._agent_of_call[event.call_id] = active.agent
        return True

    def ended(self, call_id: str) -> None:
        for interface, active in list(self._active.items()):
            if active.call_id == call_id:
                del self._active[interface]

    def forget_agent(self, interface: str) -> None:
        self._active.pop(interface, None)
