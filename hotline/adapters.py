"""The small translations between packages that must not import each other.

crm/ knows nothing of telephony and ivr/ and acd/ know nothing of each other; here the IVR's
view of a customer is made from the CRM's, and a caller the IVR queued is handed to the ACD.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Coroutine
from typing import Any

from acd.callbacks import CallbackRequest
from acd.events import CallbackSource
from acd.models import WaitingCall
from acd.service import AcdService
from crm import call_surveys
from crm.db import Database
from crm.kinds import TicketKind
from crm.kinds import TicketStatus as CrmTicketStatus
from crm.reporting.facts import IvrSessionFact
from crm.results import TicketStatusView
from crm.service import Crm
from cti.bus import EventBus, Subscription
from ivr.crm_port import CallerRecord, OrderProgress, TicketStatus
from ivr.errors import LookupUnavailable
from ivr.events import CallbackRequested, IvrCompleted, IvrOutcome
from ivr.nodes import NodeKind

log = logging.getLogger(__name__)

# What a caller hears of a ticket: the menu names prompts by these keys.
_TICKET_STATUS = {
    CrmTicketStatus.OPEN: "open",
    CrmTicketStatus.ASSIGNED: "in_progress",
    CrmTicketStatus.IN_PROGRESS: "in_progress",
    CrmTicketStatus.RESOLVED: "resolved",
    CrmTicketStatus.CLOSED: "closed",
}
# A field-dispatch ticket is the customer's service order: a technician's visit.
_ORDER_STATUS = {
    CrmTicketStatus.OPEN: "placed",
    CrmTicketStatus.ASSIGNED: "out_for_delivery",
    CrmTicketStatus.IN_PROGRESS: "out_for_delivery",
    CrmTicketStatus.RESOLVED: "delivered",
    CrmTicketStatus.CLOSED: "delivered",
}
REMEMBERED_DIALED = 1000
# Outcomes after which the dialplan queues the call on HOTLINE_QUEUE.
_QUEUED_OUTCOMES = frozenset({IvrOutcome.QUEUED, IvrOutcome.FAILED, IvrOutcome.NO_MENU})
# Outcomes that end the call in the IVR: served there when a lookup found what was asked.
_ENDED_IN_IVR = frozenset({IvrOutcome.HUNG_UP, IvrOutcome.CALLER_HUNG_UP})
_LOOKUP_MISSES = frozenset({"", "not-found", "unavailable"})


class CrmCustomerLookup:
    """ivr.crm_port.CustomerLookup over the CRM. Ticket numbers are typed on a phone keypad, so
    the leading ``T`` of a ticket number (``T261123000042``) may be left out."""

    def __init__(self, crm: Crm) -> None:
        self._crm = crm

    async def find_caller(self, number: str) -> CallerRecord | None:
        try:
            match = await self._crm.find_caller(number)
        except Exception as exc:
            raise LookupUnavailable(f"customer lookup failed: {type(exc).__name__}") from exc
        if match is None:
            return None
        return CallerRecord(
            customer_id=str(match.customer_id),
            name=match.name,
            vip_level=match.vip_level,
            segment=match.segment,
            language=match.language,
            has_open_complaint=match.has_open_complaint,
        )

    async def ticket_status(self, ticket_number: str) -> TicketStatus | None:
        view = await self._ticket(ticket_number)
        if view is None:
            return None
        return TicketStatus(view.number, _TICKET_STATUS.get(view.status, view.status.value))

    async def order_progress(self, order_number: str) -> OrderProgress | None:
        view = await self._ticket(order_number)
        if view is None or view.kind is not TicketKind.FIELD_DISPATCH:
            return None
        expected = None if view.closed_at else view.due_at.date()
        return OrderProgress(view.number, _ORDER_STATUS.get(view.status, view.status.value), expected)

    async def _ticket(self, number: str) -> TicketStatusView | None:
        number = number.strip()
        try:
            view = await self._crm.ticket_status(number)
            if view is None and number.isdigit():
                view = await self._crm.ticket_status("T" + number)
        except Exception as exc:
            raise LookupUnavailable(f"ticket lookup failed: {type(exc).__name__}") from exc
        return view


class CrmSurveyAnswers:
    """ivr.crm_port.SurveyAnswers over the CRM's post-call surveys (crm/call_surveys.py)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record_answer(self, call_id: str, caller: str, satisfaction: int | None) -> None:
        try:
            await call_surveys.record_ivr_answer(self._db, call_id, caller, satisfaction)
        except Exception as exc:
            raise LookupUnavailable(f"survey answer not stored: {type(exc).__name__}") from exc

    async def queue_sms_survey(self, call_id: str, caller: str) -> None:
        try:
            outcome = await call_surveys.queue_sms_survey(self._db, call_id, caller)
        except Exception as exc:
            raise LookupUnavailable(f"SMS survey not queued: {type(exc).__name__}") from exc
        if isinstance(outcome, call_surveys.SmsSkipped):
            log.info("sms_survey_skipped", extra={"kv": {"call_id": call_id, "reason": outcome.value}})


def waiting_call(event: IvrCompleted) -> WaitingCall | None:
    """The caller the IVR sent to a queue, as the ACD takes it; None when the call went elsewhere."""
    if event.outcome not in _QUEUED_OUTCOMES or not event.queue:
        return None
    return WaitingCall(
        call_id=event.call_id,
        channel=event.channel,
        queue=event.queue,
        skill=event.skill,
        priority=event.priority,
        caller=event.caller,
        customer_id=event.customer_id or "",
        queued_at=event.at,
        language=event.language,
    )


def ivr_session_fact(event: IvrCompleted) -> list[IvrSessionFact]:
    """The caller's way through the IVR, as reports keep it (the call log's translator)."""
    self_service = event.outcome in _ENDED_IN_IVR and any(
        entry.kind == NodeKind.LOOKUP and entry.result not in _LOOKUP_MISSES for entry in event.path
    )
    customer = event.customer_id
    queued = event.outcome in _QUEUED_OUTCOMES
    return [
        IvrSessionFact(
            call_id=event.call_id,
            started_at=event.started_at or event.at,
            ended_at=event.at,
            nodes=tuple(entry.node for entry in event.path),
            outcome=event.outcome.value,
            caller=event.caller,
            dialed=event.dialed,
            customer_id=int(customer) if customer and customer.isdigit() else None,
            self_service=self_service,
            queue=event.queue if queued else "",
            language=event.language,
        )
    ]


def callback_request(event: CallbackRequested, dialed: str = "") -> CallbackRequest:
    """The IVR's callback node, as the ACD queues it: the caller's place is the time they asked;
    ``dialed``, the hotline number they called (from the IvrCompleted just before)."""
    return CallbackRequest(
        callback_id=f"cb-{event.call_id}",
        number=event.number,
        queue=event.queue,
        requested_at=event.at,
        skill=event.skill,
        priority=event.priority,
        customer_id=event.customer_id or "",
        language=event.language,
        call_id=event.call_id,
        source=CallbackSource.IVR,
        dialed=dialed,
    )


def forward_ivr_to_acd(bus: EventBus, acd: AcdService) -> Coroutine[Any, Any, None]:
    """Hand every caller the IVR queued, and every callback it took, to the ACD, for as long as
    the returned coroutine runs; subscribed at once, so no event published after the call is
    missed, however late the coroutine starts."""
    subscription = bus.subscribe("ivr-to-acd", IvrCompleted, CallbackRequested)
    return _forward_ivr_to_acd(bus, subscription, acd)


async def _forward_ivr_to_acd(bus: EventBus, subscription: Subscription, acd: AcdService) -> None:
    # The IVR publishes a call's IvrCompleted just before its CallbackRequested: the number the
    # caller dialed is kept from one to the other (a few, in case a request never follows).
    dialed: OrderedDict[str, str] = OrderedDict()
    try:
        async for event in subscription:
            if isinstance(event, CallbackRequested):
                try:
                    await acd.request_callback(callback_request(event, dialed.pop(event.call_id, "")))
                except Exception:
                    # The caller was promised a call: say so loudly (the number is in the bus's
                    # CallbackRequested for whoever follows up by hand).
                    log.exception("ivr_callback_to_acd_failed", extra={"kv": {"call_id": event.call_id}})
                continue
            dialed[event.call_id] = event.dialed
            while len(dialed) > REMEMBERED_DIALED:
                dialed.popitem(last=False)
            call = waiting_call(event)
            if call is None:
                continue
            try:
                await acd.call_waiting(call)
            except Exception:
                # The call still waits in its queue and the ACD still sees CallQueued from the
                # tracker; only the IVR's details (skill, priority) are lost for this call.
                log.exception("ivr_to_acd_failed", extra={"kv": {"call_id": call.call_id}})
    finally:
        bus.unsubscribe(subscription)
