"""What the IVR needs from the CRM, as a protocol: the composition root adapts crm/ to it.

The IVR finds the caller by number (to greet VIPs first, to route open complaints) and answers
self-service questions (ticket status, order and delivery progress). Every method either answers
or raises ``LookupUnavailable`` (database down, too slow); the menu then tells the caller and
goes on. ``None`` means "no such caller / ticket / order".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Protocol


class LookupSource(enum.StrEnum):
    TICKET = "ticket"
    ORDER = "order"


@dataclass(frozen=True, slots=True)
class CallerRecord:
    customer_id: str
    name: str
    vip_level: int = 0  # 0: not VIP
    segment: str = ""
    language: str = ""  # "zh", "en" or "" when unknown
    has_open_complaint: bool = False


@dataclass(frozen=True, slots=True)
class TicketStatus:
    ticket_number: str
    status: str  # a key the menu maps to a prompt: open, in_progress, resolved, closed…


@dataclass(frozen=True, slots=True)
class OrderProgress:
    order_number: str
    status: str  # placed, packed, shipped, out_for_delivery, delivered…
    expected: date | None = None


class CustomerLookup(Protocol):
    async def find_caller(self, number: str) -> CallerRecord | None: ...

    async def ticket_status(self, ticket_number: str) -> TicketStatus | None: ...

    async def order_progress(self, order_number: str) -> OrderProgress | None: ...


class SurveyAnswers(Protocol):
    """Where the post-call survey's answers go (docs/survey.md). Either may raise
    ``LookupUnavailable``; the caller is thanked all the same."""

    async def record_answer(self, call_id: str, caller: str, satisfaction: int | None) -> None: ...

    async def queue_sms_survey(self, call_id: str, caller: str) -> None: ...
