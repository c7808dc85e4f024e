"""The kinds and states of CRM records, as text enums (stored as their values)."""

from __future__ import annotations

import enum


class Channel(enum.StrEnum):
    CALL_IN = "call_in"
    CALL_OUT = "call_out"
    SMS = "sms"
    EMAIL = "email"
    WEB = "web"
    VISIT = "visit"
    CALLBACK = "callback"


class Purpose(enum.StrEnum):
    """Why a contact happened; a campaign contact carries its campaign's kind."""

    SERVICE = "service"
    MARKETING = "marketing"
    INFO_COLLECTION = "info_collection"
    QUESTIONNAIRE = "questionnaire"
    NOTICE = "notice"


class Disposition(enum.StrEnum):
    """How an agent's wrap-up sums up a call; a follow-up call on a ticket is ``follow_up`` too.
    Contacts imported from elsewhere may carry other dispositions; a wrap-up may not."""

    RESOLVED = "resolved"
    FOLLOW_UP = "follow_up"
    INFO = "info"
    COMPLAINT = "complaint"


class CampaignKind(enum.StrEnum):
    MARKETING = "marketing"
    INFO_COLLECTION = "info_collection"
    QUESTIONNAIRE = "questionnaire"
    NOTICE = "notice"


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    ONLINE = "online"
    PAUSED = "paused"
    ENDED = "ended"


class OfferOutcome(enum.StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    LATER = "later"
    NOT_SUITABLE = "not_suitable"
    # Shown on the pop, not put to the customer: kept so reports tell it from an offer made.
    NOT_PRESENTED = "not_presented"


class QuestionKind(enum.StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    SCALE = "scale"
    TEXT = "text"


class TicketKind(enum.StrEnum):
    COMPLAINT = "complaint"
    CONSULTATION = "consultation"
    SERVICE_REQUEST = "service_request"
    FIELD_DISPATCH = "field_dispatch"


class TicketStatus(enum.StrEnum):
    """Each status is one node of the closed loop (受理 → 派单 → 处理 → 回访 → 关闭)."""

    OPEN = "open"  # 受理: taken in, not yet dispatched
    ASSIGNED = "assigned"  # 派单: dispatched to a team or a person, not yet taken up
    IN_PROGRESS = "in_progress"  # 处理: the person it went to is working on it
    RESOLVED = "resolved"  # 回访: handled, waiting for the follow-up with the customer
    CLOSED = "closed"  # 关闭


class TicketAction(enum.StrEnum):
    OPENED = "opened"
    ASSIGNED = "assigned"
    STARTED = "started"
    NOTE = "note"
    WARNED = "warned"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    EVALUATED = "evaluated"
    FOLLOWED_UP = "followed_up"
    CLOSED = "closed"
    REOPENED = "reopened"


class TeamKind(enum.StrEnum):
    DESK = "desk"  # a service desk in the center
    FIELD = "field"  # technicians who visit the customer


class RuleKind(enum.StrEnum):
    FREQUENCY_CAP = "frequency_cap"
    QUIET_HOURS = "quiet_hours"


class Role(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ANALYST = "analyst"
    ADMIN = "admin"
    TECHNICIAN = "technician"  # field service: works the tickets dispatched to them, from a phone


class NoticeTopic(enum.StrEnum):
    TICKET_PROGRESS = "ticket_progress"
    DELIVERY_PROGRESS = "delivery_progress"
    OFFERS = "offers"
    REPORTS = "reports"  # scheduled custom reports, to staff addresses rather than customers
    ESCALATION = "escalation"  # a ticket near or past its deadline, to the team and supervisors
    SURVEY = "survey"  # the post-call satisfaction survey by SMS (crm/call_surveys.py)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # Left in SENDING by a crash: it may or may not have gone out, so it is never retried.
    UNKNOWN = "unknown"


class PhoneKind(enum.StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"
    TOLL_FREE = "toll_free"
    OTHER = "other"
