"""Request and answer models of the supervisor API."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cti.switch import SpyMode

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class QueueFigures(BaseModel):
    queue: str
    waiting: int
    longest_wait_s: float
    service_level: float
    abandon_rate: float
    answered: int
    abandoned: int
    asa_s: float
    aht_s: float
    offered: int = 0  # answered + abandoned in the window; 0: the service level means nothing yet
    answered_within_sl: int = 0
    service_level_s: float = 20.0  # the T of "answered within T seconds"


class WaitingLine(BaseModel):
    """A caller waiting in a queue, as the wallboard lists them (the number's last digits only)."""

    call_id: str
    queue: str
    wait_s: float
    priority: int
    caller: str


class CallbackLine(BaseModel):
    queue: str
    number: str  # the last digits only
    phase: str
    attempts: int
    wait_s: float


class AgentLine(BaseModel):
    agent: str
    name: str
    state: str
    reason: str
    seconds_in_state: float
    queues: list[str]
    call_id: str


class MarketingLine(BaseModel):
    group: str
    queues: list[str]
    max_agents: int | None
    max_percent: float | None
    limit: int
    marketing_agents: int
    gate_open: bool
    stop_waiting: int | None
    resume_waiting: int | None = None
    stop_longest_wait_s: float | None
    resume_longest_wait_s: float | None = None
    stop_service_level: float | None
    resume_service_level: float | None = None
    min_hold_s: float = 60.0


class Wallboard(BaseModel):
    at: str
    queues: list[QueueFigures]
    agents: list[AgentLine]
    marketing: list[MarketingLine]
    window_s: float = 1800.0  # the figures count the calls of this last stretch of time
    waiting_calls: list[WaitingLine] = []  # longest waiting first, at most BOARD_LIST_MAX
    callbacks: list[CallbackLine] = []  # in serving order, at most BOARD_LIST_MAX


class PolicyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    queues: list[Name] = Field(min_length=1, max_length=50)
    max_agents: int | None = Field(default=None, ge=0, le=10_000)
    max_percent: float | None = Field(default=None, ge=0, le=100)
    stop_waiting: int | None = Field(default=None, ge=0, le=100_000)
    resume_waiting: int | None = Field(default=None, ge=0, le=100_000)
    stop_longest_wait_s: float | None = Field(default=None, ge=0, le=86_400)
    resume_longest_wait_s: float | None = Field(default=None, ge=0, le=86_400)
    stop_service_level: float | None = Field(default=None, ge=0, le=1)
    resume_service_level: float | None = Field(default=None, ge=0, le=1)
    min_hold_s: float = Field(default=60.0, ge=0, le=86_400)


class SpyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: SpyMode


class ForcePauseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(min_length=1, max_length=40)]


class SpyResult(BaseModel):
    success: bool
    channel: str = ""
    reason: str = ""  # the switch's reason when the supervisor's phone was not connected
    message: str = ""  # what happened, in the page's language
