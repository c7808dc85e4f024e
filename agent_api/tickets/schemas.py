"""Request and answer bodies of the tickets and teams API."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, Field

from crm.kinds import TeamKind, TicketKind, TicketStatus

Username = Field(None, min_length=1, max_length=64, pattern=r"^[^\s\x00-\x1f]+$")
TeamName = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
Note = Field("", max_length=4000)


class View(enum.StrEnum):
    ALL = "all"
    MINE = "mine"
    TEAM = "team"
    OVERDUE = "overdue"
    DUE_TODAY = "due_today"
    ESCALATED = "escalated"


class TicketQuery(BaseModel):
    view: View = View.ALL
    node: TicketStatus | None = None
    kind: TicketKind | None = None
    queue: str | None = Field(None, max_length=64)
    team: str | None = Field(None, max_length=64)
    customer_id: int | None = Field(None, ge=1, le=2**62)
    q: str = Field("", max_length=100)
    include_closed: bool = False
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


class TicketRowOut(BaseModel):
    id: int
    number: str
    kind: TicketKind
    status: TicketStatus  # the node of the closed loop
    subject: str
    customer_id: int
    customer_name: str
    assignee: str | None
    team: str | None
    queue: str
    opened_by: str
    opened_at: datetime
    due_at: datetime
    closed_at: datetime | None
    sla: str
    escalation_level: int
    satisfaction: int | None


class TicketList(BaseModel):
    tickets: list[TicketRowOut]
    total: int


class NewTicketIn(BaseModel):
    customer_id: int = Field(ge=1, le=2**62)
    kind: TicketKind
    subject: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=4000)
    team: str | None = TeamName
    assignee: str | None = Username


class DispatchBody(BaseModel):
    team: str | None = TeamName
    assignee: str | None = Username
    note: str = Note


class NoteBody(BaseModel):
    note: str = Note


class RequiredNote(BaseModel):
    note: str = Field(min_length=1, max_length=4000)


class FollowUpBody(BaseModel):
    satisfaction: int | None = Field(
        None, ge=1, le=5, description="1 (poor) to 5 (very good); none: not reached"
    )
    channel: str = Field("call", pattern=r"^(call|sms)$")
    note: str = Note


class StepOut(BaseModel):
    at: datetime
    actor: str
    action: str
    assignee: str | None
    team: str | None
    note: str


class TicketContactOut(BaseModel):
    id: int
    at: datetime
    channel: str
    agent: str | None
    call_id: str | None
    disposition: str
    note: str


class TicketPage(BaseModel):
    ticket: TicketRowOut
    description: str
    evaluation: str | None
    resolved_at: datetime | None
    due_estimated: bool
    steps: list[StepOut]
    contacts: list[TicketContactOut]
    # For the technician who visits: where and whom to call (the ticket went to them).
    visit_address: str | None = None
    visit_phones: list[str] = []


class TeamIn(BaseModel):
    title: str = Field("", max_length=200)
    kind: TeamKind = TeamKind.DESK
    members: list[str] = Field(default_factory=list, max_length=500)
    leader: str = Field("", max_length=64)
    email: str = Field("", max_length=254, pattern=r"^$|^[^@\s]{1,64}@[^@\s]{1,189}$")


class TeamOut(BaseModel):
    name: str
    title: str
    kind: TeamKind
    members: list[str]
    leader: str
    email: str


class Teams(BaseModel):
    teams: list[TeamOut]
