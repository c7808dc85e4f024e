"""The campaign routes' bodies and answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from crm.kinds import CampaignKind, CampaignStatus, Channel, Purpose, QuestionKind, RuleKind

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    try:
        instant = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("a time between 2000 and 2099") from None
    if not EARLIEST <= instant < LATEST:
        raise ValueError("a time between 2000 and 2099")
    return instant


Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=4000)]
Choice = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Clock = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuestionIn(Strict):
    id: int | None = Field(default=None, ge=1, le=2**62)
    text: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    kind: QuestionKind
    choices: list[Choice] = Field(default_factory=list, max_length=30)
    scale_min: int | None = Field(default=None, ge=-100, le=100)
    scale_max: int | None = Field(default=None, ge=-100, le=100)
    required: bool = False


class CampaignBody(Strict):
    name: Name
    kind: CampaignKind
    channels: list[Channel] = Field(default_factory=list, max_length=10)
    target_rule: Annotated[str, StringConstraints(max_length=4000)] = "true"
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    priority: int = Field(default=0, ge=-100, le=100)
    script: Text = ""
    offer_text: Text = ""
    questions: list[QuestionIn] = Field(default_factory=list, max_length=50)


class QuestionOut(BaseModel):
    id: int
    text: str
    kind: QuestionKind
    choices: list[str]
    scale_min: int | None
    scale_max: int | None
    required: bool
    answered: bool  # has answers: it stays, and keeps its kind


class HistoryOut(BaseModel):
    at: datetime
    actor: str
    action: str
    detail: dict[str, object]


class CampaignOut(BaseModel):
    id: int
    name: str
    kind: CampaignKind
    status: CampaignStatus
    status_reason: str
    channels: list[Channel]
    target_rule: str
    starts_at: datetime | None
    ends_at: datetime | None
    priority: int
    script: str
    offer_text: str
    questions: list[QuestionOut]
    created_at: datetime
    updated_at: datetime
    problems: list[str]  # what keeps it from going online (keys; empty: it may)
    history: list[HistoryOut]


class CampaignRow(BaseModel):
    id: int
    name: str
    kind: CampaignKind
    status: CampaignStatus
    status_reason: str


class CampaignRows(BaseModel):
    campaigns: list[CampaignRow]


class StatusBody(Strict):
    status: CampaignStatus


class TargetCheckBody(Strict):
    rule: Annotated[str, StringConstraints(max_length=4000)]


class TargetCheck(BaseModel):
    valid: bool
    error: str = ""
    customers: int | None = None
    estimated: bool = False


class RuleBody(Strict):
    kind: RuleKind
    name: Name
    channels: list[Channel] = Field(default_factory=list, max_length=10)
    purposes: list[Purpose] = Field(default_factory=list, max_length=10)
    max_count: int | None = Field(default=None, ge=0, le=1000)
    window_days: int | None = Field(default=None, ge=1, le=3650)
    quiet_start: Clock | None = None
    quiet_end: Clock | None = None


class RulePatch(Strict):
    enabled: bool


class RuleOut(BaseModel):
    id: int
    name: str
    kind: RuleKind
    enabled: bool
    purposes: list[Purpose]
    channels: list[Channel]
    max_count: int | None
    window_days: int | None
    quiet_start: str | None
    quiet_end: str | None


class RuleList(BaseModel):
    rules: list[RuleOut]


class DncQuery(Strict):
    search: Annotated[str, StringConstraints(max_length=60)] = ""


class DncBody(Strict):
    phone: Annotated[str, StringConstraints(min_length=3, max_length=40)] | None = None
    customer_id: int | None = Field(default=None, ge=1, le=2**62)
    reason: Annotated[str, StringConstraints(max_length=200)] = ""


class DncOut(BaseModel):
    id: int
    customer_id: int | None
    customer_name: str
    phone: str
    reason: str
    added_at: datetime


class DncList(BaseModel):
    entries: list[DncOut]
    total: int


class Created(BaseModel):
    id: int
    kind: Literal["rule", "dnc"]
