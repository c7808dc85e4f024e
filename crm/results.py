"""What the CRM hands to other packages (ivr/, acd/, agent_api/): frozen, typed values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm.kinds import CampaignKind, Channel, Purpose, QuestionKind, TicketKind, TicketStatus
from crm.rules import Reason
from crm.sla import SlaState


@dataclass(frozen=True, slots=True)
class CallerMatch:
    """Who is calling, as routing and the IVR need it."""

    customer_id: int
    name: str
    segment: str
    vip_level: int
    language: str
    has_open_complaint: bool
    owner_agent: str | None


@dataclass(frozen=True, slots=True)
class CustomerCard:
    id: int
    name: str
    segment: str
    vip_level: int
    tags: tuple[str, ...]
    language: str
    owner_agent: str | None
    consent_marketing: bool
    consent_sms: bool
    consent_email: bool
    phones: tuple[str, ...]
    email: str | None
    id_number: str | None  # masked unless the role may see it
    address: str | None  # masked unless the role may see it
    do_not_contact: bool
    has_open_complaint: bool


@dataclass(frozen=True, slots=True)
class ContactSummary:
    id: int
    at: datetime
    channel: Channel
    purpose: Purpose
    agent: str | None
    call_id: str | None
    campaign_id: int | None
    ticket_id: int | None
    disposition: str
    note: str
    # The caller's score of the call (1–5) and the state of its post-call survey ("" when none was
    # asked, else asked | answered | unanswered: docs/survey.md).
    satisfaction: int | None = None
    survey: str = ""


@dataclass(frozen=True, slots=True)
class TicketSummary:
    id: int
    number: str
    kind: TicketKind
    status: TicketStatus
    subject: str
    assignee: str | None
    opened_at: datetime
    due_at: datetime
    sla: SlaState
    escalation_level: int


@dataclass(frozen=True, slots=True)
class TicketStatusView:
    """Self-service lookup by ticket number: what a caller may hear about their ticket."""

    number: str
    kind: TicketKind
    status: TicketStatus
    opened_at: datetime
    due_at: datetime
    sla: SlaState
    last_step_at: datetime
    last_action: str
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class QuestionView:
    id: int
    position: int
    text: str
    kind: QuestionKind
    choices: tuple[str, ...]
    scale_min: int | None
    scale_max: int | None
    required: bool = False  # an accepted offer is saved only with an answer to it


@dataclass(frozen=True, slots=True)
class OfferCard:
    campaign_id: int
    name: str
    kind: CampaignKind
    script: str
    offer_text: str
    questions: tuple[QuestionView, ...]


@dataclass(frozen=True, slots=True)
class RefusedOffer:
    campaign_id: int
    name: str
    reasons: tuple[tuple[Reason, str], ...]


@dataclass(frozen=True, slots=True)
class Eligibility:
    offers: tuple[OfferCard, ...]
    refused: tuple[RefusedOffer, ...]


@dataclass(frozen=True, slots=True)
class ScreenPop:
    caller_number: str
    e164: str | None  # None when the caller ID is not a phone number (withheld, garbage)
    customer: CustomerCard | None  # None: unknown caller
    contacts: tuple[ContactSummary, ...]
    open_tickets: tuple[TicketSummary, ...]
    offers: tuple[OfferCard, ...]
    refused: tuple[RefusedOffer, ...]

    @property
    def known(self) -> bool:
        return self.customer is not None
