"""The agent desktop: screen-pops as the phone rings, call controls, wrap-up.

Screen-pops are built from the bus (``on_ringing``): the caller's CRM record, the IVR path, the
wait, the last contacts and open tickets, and — only when the marketing gate admits this agent
for this call — the eligible offers and questionnaires. The pop is kept per agent until the call
ends, so a page that reconnects gets it again and a page never shows a call that has ended; the
wrap-up then stores one contact record in the CRM with what the agent was actually shown.

A click-to-dial (``dial_started`` … ``dial_placed``) holds the agent as outbound in the ACD
until the call is over; its pop shows the dialed customer and offers nothing.

The calls to wrap up wait in ``agent_api.desktop.pending``, kept across restarts until the agent
saves or discards each wrap-up.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from acd.errors import AcdError
from acd.events import AgentStateChanged, CallbackFailed, CallbackStarted, MarketingWork
from acd.models import AgentState
from agent_api.calls import CallBook, CallInfo
from agent_api.desktop.dialout import DialOut, DialOuts
from agent_api.desktop.pending import PendingWrapups, Popped
from agent_api.errors import Conflict
from agent_api.ports import Acd, CrmLookups, WrapupStore
from agent_api.ws_hub import Hub, frame
from crm.kinds import Channel, Role
from crm.results import ScreenPop
from cti.events import (
    CallAnswered,
    CallRinging,
    ConferenceLeft,
    ConferenceStarted,
    ConsultCancelled,
    ConsultStarted,
)

log = logging.getLogger(__name__)

LOOKUP_TIMEOUT_S = 2.0
# Per agent; a call's end can be lost (its record evicted from the call book), so the oldest
# live pops beyond this are forgotten rather than kept for ever.
ACTIVE_POPS = 8
CONTACTS_SHOWN = 5
# How long a placed click-to-dial waits for its call's events; a dial-out whose call never
# showed up would otherwise hold the agent as outbound for ever.
DIAL_BIND_TIMEOUT_S = 2.0
BUSY = (AgentState.RINGING, AgentState.ON_CALL, AgentState.OUTBOUND)
# Why the ACD stopped ringing an agent while the call went on (back to the queue, or answered by
# someone else): the call is gone from that agent's screen, with nothing to wrap up.
RING_LOST = frozenset({"missed", "answered-elsewhere", "delivery-failed"})


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list | frozenset | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def extension_of(interface: str) -> str:
    """``1002`` for ``PJSIP/1002``: how an agent's page names another agent's phone."""
    return interface.rpartition("/")[2]


def consult_view(call: CallInfo) -> dict[str, str]:
    """What the call card shows of a consult: its step and who is consulted."""
    return {"consult": call.consult, "consult_target": extension_of(call.consult_target)}


class Desktop:
    def __init__(
        self,
        acd: Acd,
        crm: CrmLookups,
        hub: Hub,
        calls: CallBook,
        clock: Callable[[], datetime],
        *,
        wrapups: WrapupStore | None = None,
    ):
        self._acd = acd
        self._crm = crm
        self._hub = hub
        self.calls = calls
        self._clock = clock
        self._active: dict[str, OrderedDict[str, Popped]] = {}  # agent → ringing/talking calls
        self.wrapups = PendingWrapups(wrapups, clock)  # agent → calls to wrap up
        self.dials = DialOuts()
        self._retiring: set[str] = set()
        # Agents who opened the desk page since the start: only they have wrap-up forms. An agent
        # with no page (a phone-only agent, the demo's robots) is not held by a form nobody sees.
        self._with_page: set[str] = set()  # disabled agents to log out once their call is over

    def agent_of_interface(self, interface: str) -> str | None:
        record = self._acd.states.by_interface(interface)
        return record.profile.agent if record is not None else None

    async def on_ringing(self, event: CallRinging, *, consult_from: str = "") -> None:
        """The pop, as the agent's phone rings; ``consult_from``: the agent who consults them
        about this call rings them (the pop is the caller's card all the same, without offers)."""
        agent = self.agent_of_interface(event.agent)
        if agent is None:
            return
        call = self.calls.get(event.call_id) or CallInfo(event.call_id)
        dial = self.dials.bind(agent, event)
        number = dial.number if dial is not None else call.caller
        lookup_failed = False
        try:
            async with asyncio.timeout(LOOKUP_TIMEOUT_S):
                pop = await self._crm.screen_pop(
                    number or "", role=Role.AGENT, call_id=event.call_id if dial is None else "", agent=agent
                )
        except Exception as exc:
            # The phone rings anyway: the agent gets the call without the customer's record.
            fields = {"call_id": event.call_id, "error": type(exc).__name__}
            log.warning("screen_pop_lookup_failed", extra={"kv": fields})
            pop = ScreenPop(number, None, None, (), (), (), ())
            lookup_failed = True
        marketing = {"admitted": False, "reason": "no-offer"}
        offers: tuple[Any, ...] = ()
        if pop.offers and dial is None and not consult_from:
            decision = await self._acd.marketing_request(agent, MarketingWork.OFFER, call_id=event.call_id)
            marketing = {"admitted": decision.admitted, "reason": str(decision.reason)}
            if decision.admitted:
                offers = pop.offers
        payload = {
            "call_id": event.call_id,
            "rung_at": event.at.isoformat(),
            "queue": call.queue or event.queue or (dial.queue if dial is not None else ""),
            "direction": "outbound" if dial is not None else "inbound",
            "caller": number,
            "caller_name": call.caller_name,
            "known": pop.customer is not None,
            "customer": _plain(pop.customer),
            "ivr_path": list(call.ivr_path),
            "ivr_keys": list(call.ivr_keys),
            "ivr_steps": list(call.ivr_steps),
            "wait_s": round(call.wait_seconds(event.at), 1),
            "contacts": _plain(pop.contacts[:CONTACTS_SHOWN]),
            "tickets": _plain(pop.open_tickets),
            "offers": _plain(offers),
            "marketing": marketing,
            "answered": call.answered,
            "held": call.held,
            "recording_paused": call.recording_paused,
            "muted": call.muted,
            "lookup_failed": lookup_failed,
            "consult_from": extension_of(consult_from),
            **consult_view(call),
        }
        popped = Popped(
            call_id=event.call_id,
            customer_id=pop.customer.id if pop.customer is not None else None,
            caller=number,
            offers=frozenset(o.campaign_id for o in offers),
            marketing=bool(offers),
            payload=payload,
            channel=Channel.CALL_OUT if dial is not None else Channel.CALL_IN,
            dial=dial,
        )
        active = self._active.setdefault(agent, OrderedDict())
        active[event.call_id] = popped
        while len(active) > ACTIVE_POPS:
            active.popitem(last=False)
        self._hub.send_user(agent, frame("pop", **payload))

    async def on_answered(self, event: CallAnswered) -> None:
        """An agent who answers a call not on their screen (they picked up after the ACD took the
        ring back, or no ring was seen) gets its pop now, then the answer."""
        agent = self.agent_of_interface(event.agent)
        if agent is not None and event.call_id not in self._active.get(agent, {}):
            ring = CallRinging(event.at, event.call_id, event.agent, event.queue, event.agent_channel)
            await self.on_ringing(ring)
        self.call_changed(event.call_id)

    def call_changed(self, call_id: str) -> None:
        """Answered, held or resumed, recording paused or resumed, a consult's step: tell the
        agents whose call it is (the consulted agent too, while they have it on their screen)."""
        call = self.calls.get(call_id)
        if call is None:
            return
        dial = self.dials.of_call(call_id)
        if dial is not None and call.answered:
            dial.answered = True
        for interface in dict.fromkeys((call.agent_interface, call.consult_target)):
            agent = self.agent_of_interface(interface) if interface else None
            if agent is None or call_id not in self._active.get(agent, {}):
                continue
            self._hub.send_user(
                agent,
                frame(
                    "call",
                    call_id=call_id,
                    answered=call.answered,
                    held=call.held,
                    recording_paused=call.recording_paused,
                    muted=call.muted,
                    **consult_view(call),
                ),
            )

    async def consult_changed(
        self, event: ConsultStarted | ConsultCancelled | ConferenceStarted | ConferenceLeft
    ) -> None:
        """The consult's steps (docs/transfers.md): the consulted agent gets the caller's pop as
        their phone rings, loses it without a wrap-up when the consult is cancelled; whoever
        leaves a three-way call has it to wrap up. A completed consult is a transfer and an
        answer, which the desktop already follows."""
        if isinstance(event, ConsultStarted):
            call = self.calls.get(event.call_id)
            ring = CallRinging(
                event.at, event.call_id, event.target, call.queue if call else "", event.target_channel
            )
            await self.on_ringing(ring, consult_from=event.agent)
        elif isinstance(event, ConsultCancelled):
            target = self.agent_of_interface(event.target)
            if target is not None:
                await self._ended_for(target, event.call_id, wrapup=False)
        elif isinstance(event, ConferenceLeft):
            await self.call_left(event.call_id, event.agent)
        self.call_changed(event.call_id)

    def recording_changed(self, call_id: str, paused: bool) -> None:
        """The call's recording was paused or resumed (from any page): every page shows it."""
        call = self.calls.get(call_id)
        if call is not None:
            call.recording_paused = paused
            self.call_changed(call_id)

    def mute_changed(self, call_id: str, muted: bool) -> None:
        """The agent's microphone was muted or unmuted on the switch: the agent's pages show it."""
        call = self.calls.get(call_id)
        if call is not None:
            call.muted = muted
            self.call_changed(call_id)

    async def calls_ended(self, call_ids: list[str]) -> None:
        for call_id in call_ids:
            for agent in list(self._active):
                await self._ended_for(agent, call_id)
            dial = self.dials.of_call(call_id)
            if dial is not None:
                await self._dial_over(dial, connected=dial.answered)

    async def call_left(self, call_id: str, interface: str) -> None:
        """The agent transferred the caller on: the call goes on, but it is over for them."""
        agent = self.agent_of_interface(interface)
        if agent is not None:
            await self._ended_for(agent, call_id)

    async def _ended_for(self, agent: str, call_id: str, *, wrapup: bool = True) -> None:
        active = self._active.get(agent)
        popped = active.pop(call_id, None) if active is not None else None
        if active is None or popped is None:
            return
        # A dial-out the agent never picked up dialed nobody: nothing to wrap up.
        wrapup = wrapup and (popped.dial is None or popped.dial.answered) and agent in self._with_page
        if wrapup:
            await self.wrapups.keep(agent, popped)
            await self._acd.wrapup_form(agent, open=True)
        if popped.marketing:
            self._acd.marketing_finished(agent)
        self._hub.send_user(agent, frame("ended", call_id=call_id, wrapup=wrapup))
        if not active:
            del self._active[agent]

    # --- click-to-dial ---------------------------------------------------------------------------

    def callback_started(self, event: CallbackStarted) -> None:
        """The ACD rings the agent's phone for a callback: that ring is the customer's call."""
        self.dials.start(event.agent, event.number, tracked=False, queue=event.queue)

    async def callback_failed(self, event: CallbackFailed) -> None:
        """An attempt whose phone never rang is over here; one that rang ends with its call."""
        dial = self.dials.of_agent(event.agent)
        if dial is not None and not dial.tracked and not dial.call_id:
            await self._dial_over(dial, connected=False)

    async def dial_started(self, agent: str, number: str) -> DialOut:
        """Before the switch rings the agent's phone: the ACD holds a logged-in agent as outbound
        (an agent who is not logged in gets no inbound calls anyway). Raises ``Conflict`` for an
        agent who is on a call or dialing already."""
        if self.dials.of_agent(agent) is not None:
            raise Conflict("your click-to-dial is still in progress")
        try:
            state = self._acd.states.get(agent).state
        except AcdError:
            state = AgentState.LOGGED_OUT  # not an ACD agent: nothing to tell the ACD
        if state in BUSY:
            raise Conflict(f"you are {state}: end that call before dialing out")
        tracked = state is not AgentState.LOGGED_OUT
        if tracked:
            try:
                await self._acd.outbound_started(agent, f"dial-{agent}-{number}")
            except AcdError as exc:
                raise Conflict(str(exc)) from None
        return self.dials.start(agent, number, tracked=tracked)

    async def dial_failed(self, dial: DialOut) -> None:
        """The switch could not ring the agent's phone, or the agent did not pick up."""
        await self._dial_over(dial, connected=dial.answered)

    async def dial_placed(self, dial: DialOut, *, bind_timeout_s: float = DIAL_BIND_TIMEOUT_S) -> None:
        """The agent picked up and the number is being dialed. Its call's events come on the bus;
        if none come (they were lost), the dial-out is ended rather than left holding the agent."""
        if dial.over:
            return
        dial.answered = True
        try:
            async with asyncio.timeout(bind_timeout_s):
                await dial.bound.wait()
        except TimeoutError:
            log.warning("click_to_dial_call_not_seen", extra={"kv": {"agent": dial.agent}})
            await self._dial_over(dial, connected=False)

    async def _dial_over(self, dial: DialOut, *, connected: bool) -> None:
        if not self.dials.finish(dial) or not dial.tracked:
            return
        try:
            await self._acd.outbound_ended(dial.agent, connected=connected)
        except AcdError:
            log.warning("click_to_dial_end_refused", extra={"kv": {"agent": dial.agent}})

    async def state_changed(self, event: AgentStateChanged) -> None:
        if event.previous is AgentState.RINGING and event.call_id and event.reason in RING_LOST:
            await self._ended_for(event.agent, event.call_id, wrapup=False)
        self._hub.send_user(event.agent, frame("state", **self.status_payload(event.agent)))
        if event.agent in self._retiring and event.state not in BUSY:
            self._retiring.discard(event.agent)
            if event.state is not AgentState.LOGGED_OUT:
                await self._logout(event.agent)

    async def retire(self, agent: str) -> str:
        """The account was disabled or is no agent any more: out of the ACD at once, so no call
        is offered to it — or, when a call is in progress, as soon as that call is over (the
        caller is not cut off). Returns "logged-out", "after-call", or "" (was not logged in)."""
        try:
            state = self._acd.states.get(agent).state
        except AcdError:
            return ""
        if state is AgentState.LOGGED_OUT:
            return ""
        if state in BUSY:
            self._retiring.add(agent)
            return "after-call"
        await self._logout(agent)
        return "logged-out"

    async def _logout(self, agent: str) -> None:
        try:
            await self._acd.logout(agent)
        except AcdError:
            log.warning("agent_logout_refused", extra={"kv": {"agent": agent}})

    # --- what the pages and the API read ---------------------------------------------------------

    def active(self, agent: str) -> list[Popped]:
        return list(self._active.get(agent, {}).values())

    def owns_call(self, agent: str, call_id: str) -> CallInfo | None:
        """The call, if it is this agent's live call (an agent controls only their own calls)."""
        if call_id not in self._active.get(agent, {}):
            return None
        return self.calls.get(call_id)

    def take_pending(self, agent: str, call_id: str) -> Popped | None:
        """The ended call this agent may wrap up; it can be wrapped up once."""
        return self.wrapups.take(agent, call_id)

    def restore_pending(self, agent: str, popped: Popped) -> None:
        self.wrapups.put_back(agent, popped)

    def pending(self, agent: str) -> list[str]:
        return self.wrapups.calls(agent)

    async def load_wrapups(self) -> int:
        """At start: the wrap-ups not saved before the stop wait again, and hold their agents."""
        restored = await self.wrapups.load()
        for agent in self.wrapups.agents():
            await self._acd.wrapup_form(agent, open=True)
        return restored

    async def wrapup_saved(self, agent: str, call_id: str, *, ready: bool) -> None:
        """The wrap-up is stored. ``ready``: the agent's wrap-up ends now, if no other form is
        still open (each open form holds them out of the next call)."""
        await self.wrapups.saved(agent, call_id)
        await self._forms_closed(agent, ready=ready)

    async def discard_wrapup(self, agent: str, call_id: str) -> bool:
        if not await self.wrapups.discard(agent, call_id):
            return False
        await self._forms_closed(agent, ready=False)
        return True

    async def _forms_closed(self, agent: str, *, ready: bool) -> None:
        if self.pending(agent):
            return
        try:
            if ready and self._acd.states.get(agent).state is AgentState.WRAP_UP:
                await self._acd.ready(agent)  # or the pause the agent asked for after the call
            await self._acd.wrapup_form(agent, open=False)
        except AcdError:
            log.warning("wrapup_end_refused", extra={"kv": {"agent": agent}})

    def status_payload(self, agent: str) -> dict[str, Any]:
        try:
            record = self._acd.states.get(agent)
        except Exception:
            return {"agent": agent, "state": "unknown", "reason": "", "since": None, "queues": []}
        return {
            "agent": agent,
            "state": str(record.state),
            "reason": record.reason,
            "since": record.since.isoformat() if record.since else None,
            "queues": list(record.queues),
            "extension": record.extension or record.profile.extension,
            "wrapup_left_s": (
                round((record.wrapup_until - self._clock()).total_seconds(), 1)
                if record.state is AgentState.WRAP_UP and record.wrapup_until is not None
                else None
            ),
            "state_s": round((self._clock() - record.since).total_seconds(), 1) if record.since else 0.0,
            "wrapup_extended": record.extended,
            "pause_after": record.pause_after,
        }

    def _current(self, popped: Popped) -> dict[str, Any]:
        call = self.calls.get(popped.call_id)
        if call is None:
            return popped.payload
        return {
            **popped.payload,
            "answered": call.answered,
            "held": call.held,
            "recording_paused": call.recording_paused,
            "muted": call.muted,
            **consult_view(call),
        }

    def hello(self, agent: str) -> str:
        self._with_page.add(agent)
        return frame(
            "hello",
            status=self.status_payload(agent),
            pops=[self._current(p) for p in self.active(agent)],
            pending=self.pending(agent),
            wrapups=[p.payload for p in self.wrapups.shown(agent)],
        )
