"""The agent desktop: screen-pops as the phone rings, call controls, wrap-up.

Screen-pops are built from the bus (``on_ringing``): the caller's CRM record, the IVR path, the
wait, the last contacts and open tickets, and — only when the marketing gate admits this agent
for this call — the eligible offers and questionnaires. The pop is kept per agent until the call
ends, so a page that reconnects gets it again and a page never shows a call that has ended; the
wrap-up then stores one contact record in the CRM with what the agent was actually shown.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from acd.events import AgentStateChanged, MarketingWork
from agent_api.calls import CallBook, CallInfo
from agent_api.ports import Acd, CrmLookups
from agent_api.ws_hub import Hub, frame
from crm.kinds import Role
from crm.results import ScreenPop
from cti.events import CallRinging

log = logging.getLogger(__name__)

LOOKUP_TIMEOUT_S = 2.0
PENDING_WRAPUPS = 20  # per agent; older unfinished wrap-ups are forgotten
# Per agent; a call's end can be lost (its record evicted from the call book), so the oldest
# live pops beyond this are forgotten rather than kept for ever.
ACTIVE_POPS = 8
CONTACTS_SHOWN = 5


@dataclasses.dataclass(frozen=True, slots=True)
class Popped:
    """What the agent was shown for a call: what the wrap-up may refer to."""

    call_id: str
    customer_id: int | None
    caller: str
    offers: frozenset[int]
    marketing: bool
    payload: dict[str, Any]


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


class Desktop:
    def __init__(self, acd: Acd, crm: CrmLookups, hub: Hub, calls: CallBook, clock: Callable[[], datetime]):
        self._acd = acd
        self._crm = crm
        self._hub = hub
        self.calls = calls
        self._clock = clock
        self._active: dict[str, OrderedDict[str, Popped]] = {}  # agent → ringing/talking calls
        self._pending: dict[str, OrderedDict[str, Popped]] = {}  # agent → calls to wrap up

    def agent_of_interface(self, interface: str) -> str | None:
        record = self._acd.states.by_interface(interface)
        return record.profile.agent if record is not None else None

    async def on_ringing(self, event: CallRinging) -> None:
        agent = self.agent_of_interface(event.agent)
        if agent is None:
            return
        call = self.calls.get(event.call_id) or CallInfo(event.call_id)
        lookup_failed = False
        try:
            async with asyncio.timeout(LOOKUP_TIMEOUT_S):
                pop = await self._crm.screen_pop(call.caller or "", role=Role.AGENT)
        except Exception as exc:
            # The phone rings anyway: the agent gets the call without the customer's record.
            fields = {"call_id": event.call_id, "error": type(exc).__name__}
            log.warning("screen_pop_lookup_failed", extra={"kv": fields})
            pop = ScreenPop(call.caller, None, None, (), (), (), ())
            lookup_failed = True
        marketing = {"admitted": False, "reason": "no-offer"}
        offers: tuple[Any, ...] = ()
        if pop.offers:
            decision = await self._acd.marketing_request(agent, MarketingWork.OFFER, call_id=event.call_id)
            marketing = {"admitted": decision.admitted, "reason": str(decision.reason)}
            if decision.admitted:
                offers = pop.offers
        payload = {
            "call_id": event.call_id,
            "rung_at": event.at.isoformat(),
            "queue": call.queue or event.queue,
            "caller": call.caller,
            "caller_name": call.caller_name,
            "known": pop.customer is not None,
            "customer": _plain(pop.customer),
            "ivr_path": list(call.ivr_path),
            "wait_s": round(call.wait_seconds(event.at), 1),
            "contacts": _plain(pop.contacts[:CONTACTS_SHOWN]),
            "tickets": _plain(pop.open_tickets),
            "offers": _plain(offers),
            "marketing": marketing,
            "answered": call.answered,
            "held": call.held,
            "lookup_failed": lookup_failed,
        }
        popped = Popped(
            call_id=event.call_id,
            customer_id=pop.customer.id if pop.customer is not None else None,
            caller=call.caller,
            offers=frozenset(o.campaign_id for o in offers),
            marketing=bool(offers),
            payload=payload,
        )
        active = self._active.setdefault(agent, OrderedDict())
        active[event.call_id] = popped
        while len(active) > ACTIVE_POPS:
            active.popitem(last=False)
        self._hub.send_user(agent, frame("pop", **payload))

    def call_changed(self, call_id: str) -> None:
        """Answered, held or resumed: tell the agent whose call it is."""
        call = self.calls.get(call_id)
        if call is None:
            return
        agent = self.agent_of_interface(call.agent_interface)
        if agent is None or call_id not in self._active.get(agent, {}):
            return
        self._hub.send_user(agent, frame("call", call_id=call_id, answered=call.answered, held=call.held))

    def calls_ended(self, call_ids: list[str]) -> None:
        for call_id in call_ids:
            for agent, active in list(self._active.items()):
                popped = active.pop(call_id, None)
                if popped is None:
                    continue
                pending = self._pending.setdefault(agent, OrderedDict())
                pending[call_id] = popped
                while len(pending) > PENDING_WRAPUPS:
                    pending.popitem(last=False)
                if popped.marketing:
                    self._acd.marketing_finished(agent)
                self._hub.send_user(agent, frame("ended", call_id=call_id))
                if not active:
                    del self._active[agent]

    def state_changed(self, event: AgentStateChanged) -> None:
        self._hub.send_user(event.agent, frame("state", **self.status_payload(event.agent)))

    # --- what the pages and the API read ---------------------------------------------------------

    def active(self, agent: str) -> list[Popped]:
        return list(self._active.get(agent, {}).values())

    def owns_call(self, agent: str, call_id: str) -> CallInfo | None:
        """The call, if it is this agent's live call (an agent controls only their own calls)."""
        if call_id not in self._active.get(agent, {}):
            return None
        return self.calls.get(call_id)

    def take_pending(self, agent: str, call_id: str) -> Popped | None:
        """The ended (or live) call this agent may wrap up; it can be wrapped up once."""
        pending = self._pending.get(agent, {})
        if call_id in pending:
            return pending.pop(call_id)
        return None

    def restore_pending(self, agent: str, popped: Popped) -> None:
        self._pending.setdefault(agent, OrderedDict())[popped.call_id] = popped

    def pending(self, agent: str) -> list[str]:
        return list(self._pending.get(agent, {}))

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
        }

    def _current(self, popped: Popped) -> dict[str, Any]:
        call = self.calls.get(popped.call_id)
        if call is None:
            return popped.payload
        return {**popped.payload, "answered": call.answered, "held": call.held}

    def hello(self, agent: str) -> str:
        return frame(
            "hello",
            status=self.status_payload(agent),
            pops=[self._current(p) for p in self.active(agent)],
            pending=self.pending(agent),
        )
