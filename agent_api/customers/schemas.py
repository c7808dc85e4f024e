"""Request and answer bodies of the customers API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from agent_api.tickets.schemas import TicketRowOut

Text = Field(max_length=200)


class SearchQuery(BaseModel):
    q: str = Field(min_length=1, max_length=100)
    limit: int = Field(50, ge=1, le=200)


class CustomerHitOut(BaseModel):
    id: int
    name: str
    segment: str
    vip_level: int
    phones: list[str]
    open_tickets: int
    matched: str


class SearchResult(BaseModel):
    customers: list[CustomerHitOut]


class CustomerIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    phones: list[str] = Field(default_factory=list, max_length=10)
    segment: str = Field("regular", min_length=1, max_length=40)
    vip_level: int = Field(0, ge=0, le=9)
    tags: list[str] = Field(default_factory=list, max_length=20)
    language: str = Field("zh-CN", pattern=r"^(zh-CN|en)$")
    email: str | None = Field(None, max_length=254, pattern=r"^$|^[^@\s]{1,64}@[^@\s]{1,189}$")
    id_number: str | None = Field(None, max_length=32, pattern=r"^[0-9A-Za-z]*$")
    address: str | None = Field(None, max_length=500)
    consent_marketing: bool = False
    consent_sms: bool = False
    consent_email: bool = False


class CustomerPatch(BaseModel):
    """Only the fields sent change; ``phones`` replaces every number."""

    name: str | None = Field(None, min_length=1, max_length=200)
    phones: list[str] | None = Field(None, max_length=10)
    segment: str | None = Field(None, min_length=1, max_length=40)
    vip_level: int | None = Field(None, ge=0, le=9)
    tags: list[str] | None = Field(None, max_length=20)
    language: str | None = Field(None, pattern=r"^(zh-CN|en)$")
    owner_agent: str | None = Field(None, max_length=64)
    email: str | None = Field(None, max_length=254, pattern=r"^$|^[^@\s]{1,64}@[^@\s]{1,189}$")
    id_number: str | None = Field(None, max_length=32, pattern=r"^[0-9A-Za-z]*$")
    address: str | None = Field(None, max_length=500)
    consent_marketing: bool | None = None
    consent_sms: bool | None = None
    consent_email: bool | None = None


class CardOut(BaseModel):
    id: int
    name: str
    segment: str
    vip_level: int
    tags: list[str]
    language: str
    owner_agent: str | None
    consent_marketing: bool
    consent_sms: bool
    consent_email: bool
    phones: list[str]
    email: str | None
    id_number: str | None  # masked: see the unmask route
    address: str | None  # masked: see the unmask route
    do_not_contact: bool
    has_open_complaint: bool


class SubscriptionOut(BaseModel):
    topic: str
    channel: str
    since: datetime


class CustomerPage(BaseModel):
    card: CardOut
    erased_at: datetime | None
    subscriptions: list[SubscriptionOut]
    open_tickets: list[TicketRowOut]
    past_tickets: list[TicketRowOut]


class TimelineQuery(BaseModel):
    limit: int = Field(200, ge=1, le=500)


class AnswerOut(BaseModel):
    question: str
    answer: str


class TimelineEntryOut(BaseModel):
    at: datetime
    kind: str
    channel: str
    agent: str | None
    disposition: str
    note: str
    call_id: str | None
    recording_id: int | None
    ticket_id: int | None
    ticket_number: str
    action: str
    campaign_id: int | None
    campaign_name: str
    outcome: str | None
    answers: list[AnswerOut]
    subject: str
    status: str
    satisfaction: int | None = Field(
        None, description="the caller's score of the call, 1–5 (post-call survey)"
    )
    survey: str = Field("", description='the call\'s survey: "" (none asked), asked, answered or unanswered')


class Timeline(BaseModel):
    entries: list[TimelineEntryOut]


class SensitiveOut(BaseModel):
    id_number: str | None
    address: str | None


class MergeBody(BaseModel):
    other_id: int = Field(ge=1, le=2**62, description="the duplicate record, merged into this one")


class MergeOut(BaseModel):
    survivor: int
    merged: int
    moved: dict[str, int]


class EraseBody(BaseModel):
    reason: str = Field(min_length=1, max_length=200, description="the request it answers")


class KeptRecording(BaseModel):
    id: int
    hold_reason: str


class ErasureOut(BaseModel):
    customer_id: int
    recordings_purged: list[int]
    recordings_kept: list[KeptRecording]


class ExportOut(BaseModel):
    """Everything held on the customer, in clear (a download)."""

    customer: dict[str, Any]
    phones: list[dict[str, Any]]
    subscriptions: list[dict[str, Any]]
    do_not_contact: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    tickets: list[dict[str, Any]]
    offers: list[dict[str, Any]]
    answers: list[dict[str, Any]]
    notices: list[dict[str, Any]]
    recordings: list[dict[str, Any]]
