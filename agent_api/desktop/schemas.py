"""Request and answer models of the agent desktop API."""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from crm.kinds import Disposition, OfferOutcome, TicketKind

Extension = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,8}$")]
PhoneNumber = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{3,20}$")]
Short = Annotated[str, StringConstraints(max_length=200)]
Text = Annotated[str, StringConstraints(max_length=4000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginBody(Strict):
    extension: Extension | None = None


class HotDeskPending(BaseModel):
    """A hot desk asked for: its phone rings with the code to confirm (never sent here)."""

    extension: str
    expires_in_s: int
    message: str


class ConfirmBody(Strict):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{4,8}$")]


class PauseBody(Strict):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=40)]


class PauseAfterBody(Strict):
    """The pause to take once this call and its wrap-up are over; "" cancels it."""

    reason: Annotated[str, StringConstraints(max_length=40)]


class TransferKind(enum.StrEnum):
    AGENT = "agent"
    QUEUE = "queue"
    NUMBER = "number"


class TransferBody(Strict):
    kind: TransferKind
    target: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_+-]{1,40}$")]


class HoldBody(Strict):
    on: bool


class MuteBody(Strict):
    muted: StrictBool  # "yes" or 1 is a mistake to report, not a mute to guess


class DtmfBody(Strict):
    digits: Annotated[str, StringConstraints(pattern=r"^[0-9*#A-D]{1,20}$")]


class DialBody(Strict):
    number: PhoneNumber


class OfferResult(Strict):
    campaign_id: int = Field(ge=1)
    outcome: OfferOutcome
    answers: dict[str, str | int | list[Short]] = Field(default_factory=dict, max_length=50)


class NewTicketForm(Strict):
    kind: TicketKind
    subject: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    description: Text = ""


class TicketUpdateForm(Strict):
    ticket_id: int = Field(ge=1)
    note: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    resolve: bool = False  # the call solved it: resolved, waiting for the customer's evaluation


class WrapUpBody(Strict):
    # Text, not the enum: the wrap-up checks it, to answer 400 with the allowed list.
    disposition: Annotated[
        str,
        StringConstraints(min_length=1, max_length=40),
        Field(json_schema_extra={"enum": [d.value for d in Disposition]}),
    ]
    notes: Text = ""
    offer: OfferResult | None = None  # one offer's outcome; ``offers`` holds one per offer shown
    offers: list[OfferResult] = Field(default_factory=list, max_length=20)
    new_ticket: NewTicketForm | None = None
    ticket_update: TicketUpdateForm | None = None
    ready: bool = False  # end wrap-up at once


class WrapUpDone(BaseModel):
    contact_id: int
    ticket_number: str | None = None
    presentation_id: int | None = None  # the first offer's, as before several were recorded
    presentation_ids: list[int] = Field(default_factory=list)


class CallView(BaseModel):
    call_id: str
    queue: str
    caller: str
    held: bool
    answered: bool
    recording_paused: bool = False
    muted: bool = False


class AgentStatus(BaseModel):
    agent: str
    state: str
    reason: str
    since: str | None
    extension: str
    queues: list[str]
    reason_codes: list[str]
    calls: list[CallView]
    pending_wrapups: list[str]
    state_s: float = 0.0  # seconds in this state (talk, hold, wrap-up timers count from it)
    wrapup_left_s: float | None = None  # seconds of wrap-up left (negative: held past its time)
    wrapup_extended: bool = False  # this wrap-up was extended (once per wrap-up)
    pause_after: str = ""  # the pause asked for once this call and its wrap-up are over


class DialResult(BaseModel):
    success: bool
    channel: str = ""
