"""What the ACD publishes on the bus: agent states, routing outcomes, queue statistics, marketing.

Every agent state change is an ``AgentStateChanged`` with its reason; every marketing decision
(admit or deny, and why) is a ``MarketingDecision`` so reports can show it later.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from acd.models import AgentState, MaxWaitAction


@dataclass(frozen=True, slots=True)
class AcdEvent:
    at: datetime


@dataclass(frozen=True, slots=True)
class AgentStateChanged(AcdEvent):
    agent: str
    state: AgentState
    previous: AgentState
    reason: str = ""  # the pause reason, or why the ACD changed the state (login, missed, …)
    queue: str = ""  # the queue of the call behind the change, when there is one
    call_id: str = ""
    interface: str = ""
    queues: tuple[str, ...] = ()  # the queues the agent serves while logged in
    previous_seconds: float = 0.0  # how long the agent was in the previous state
    desk: str = ""  # the extension of the desk they logged in at, when not their own (a hot desk)


@dataclass(frozen=True, slots=True)
class CallDelivering(AcdEvent):
    """The router chose an agent for a waiting call and asked the switch to ring them."""

    call_id: str
    queue: str
    agent: str
    extension: str
    attempt: int
    sticky: bool = False


@dataclass(frozen=True, slots=True)
class CallDeliveryFailed(AcdEvent):
    """The switch refused the delivery; the call keeps its place and is tried again."""

    call_id: str
    queue: str
    agent: str
    error: str


@dataclass(frozen=True, slots=True)
class CallOverflowed(AcdEvent):
    call_id: str
    queue: str
    to_queue: str
    wait_seconds: float


@dataclass(frozen=True, slots=True)
class MaxWaitReached(AcdEvent):
    """The caller waited the queue's maximum and was sent to a callback or message prompt."""

    call_id: str
    queue: str
    action: MaxWaitAction
    wait_seconds: float
    caller: str = ""
    customer_id: str = ""


class CallbackSource(enum.StrEnum):
    IVR = "ivr"  # the caller chose the IVR's callback option
    MAX_WAIT = "max-wait"  # the caller waited the queue's maximum and was offered a callback


@dataclass(frozen=True, slots=True)
class CallbackScheduled(AcdEvent):
    """A callback waits for an agent, in the place its caller's original queue time gives it
    (``merged``: the number already waited and this request joined that one)."""

    callback_id: str
    number: str
    queue: str
    skill: str
    priority: int
    requested_at: datetime
    source: CallbackSource
    call_id: str = ""
    customer_id: str = ""
    merged: bool = False


@dataclass(frozen=True, slots=True)
class CallbackStarted(AcdEvent):
    """An agent was given the callback: their phone rings first, then the customer's number."""

    callback_id: str
    number: str
    queue: str
    agent: str
    attempt: int


@dataclass(frozen=True, slots=True)
class CallbackCompleted(AcdEvent):
    """The agent answered and the customer's number was dialed; the rest is the agent's call."""

    callback_id: str
    number: str
    queue: str
    agent: str
    attempt: int


@dataclass(frozen=True, slots=True)
class CallbackFailed(AcdEvent):
    """An attempt did not get through. ``retry_at`` None: no attempt is left, the callback is over."""

    callback_id: str
    number: str
    queue: str
    agent: str
    attempt: int
    error: str
    retry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class QueueConfigured(AcdEvent):
    """A queue was added, changed or removed at run time (the admin page)."""

    queue: str
    service_level_s: float = 0.0
    removed: bool = False


@dataclass(frozen=True, slots=True)
class AgentsByState:
    available: int = 0
    ringing: int = 0
    on_call: int = 0
    wrap_up: int = 0
    paused: int = 0
    outbound: int = 0

    @property
    def logged_in(self) -> int:
        return self.available + self.ringing + self.on_call + self.wrap_up + self.paused + self.outbound


@dataclass(frozen=True, slots=True)
class QueueStatsUpdated(AcdEvent):
    """One queue's live figures for the wallboard, over the statistics window."""

    queue: str
    waiting: int
    longest_wait_s: float
    answered: int
    abandoned: int
    answered_within_sl: int
    service_level: float  # 0..1; 1.0 when no call was offered in the window
    abandon_rate: float  # 0..1
    asa_s: float  # average speed of answer
    aht_s: float  # average handle time: talk + wrap-up
    agents: AgentsByState = field(default_factory=AgentsByState)


class MarketingWork(enum.StrEnum):
    OFFER = "offer"  # an offer on the screen-pop of the agent's current call
    OUTBOUND = "outbound"  # an outbound marketing task while the agent is idle


class DecisionReason(enum.StrEnum):
    ADMITTED = "admitted"
    ALREADY_MARKETING = "already-marketing"  # the agent holds a slot already; no second one
    GATE_CLOSED = "gate-closed"  # the load conditions stopped marketing
    THRESHOLD_REACHED = "threshold-reached"  # the control threshold's agents are all marketing
    NO_POLICY = "no-policy"  # no supervisor set a policy for the agent's group
    NOT_LOGGED_IN = "not-logged-in"
    AGENT_NOT_READY = "agent-not-ready"  # outbound work needs an idle agent, an offer one on a call


@dataclass(frozen=True, slots=True)
class MarketingDecision(AcdEvent):
    agent: str
    group: str
    work: MarketingWork
    admitted: bool
    reason: DecisionReason
    detail: str = ""  # for a closed gate: which condition closed it
    marketing_agents: int = 0  # agents doing marketing in the group after this decision
    limit: int = 0  # the control threshold in agents at this moment
    call_id: str = ""


@dataclass(frozen=True, slots=True)
class MarketingGateChanged(AcdEvent):
    """A group's marketing gate opened or closed under the load conditions."""

    group: str
    open: bool
    detail: str
