"""What the ACD is told about queues, skills, agents and reason codes: typed values built once.

The composition root fills these from settings and from crm/ (agents, skills with levels,
queues); the ACD never reads another package's tables.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Protocol

from acd.errors import AcdConfigError

MAX_SKILL_LEVEL = 10


class AcdSettingsLike(Protocol):
    """The [acd] section of the settings (hotline.settings.AcdSettings)."""

    wrapup_s: float
    ring_timeout_s: float
    sticky_agent_s: float


class AgentState(enum.StrEnum):
    LOGGED_OUT = "logged-out"
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on-call"
    WRAP_UP = "wrap-up"
    PAUSED = "paused"
    OUTBOUND = "outbound"  # busy on an outbound call


class Strategy(enum.StrEnum):
    """How a queue chooses among the available agents who have the call's skill."""

    LONGEST_IDLE = "longest-idle"
    FEWEST_CALLS = "fewest-calls"
    BEST_SKILL = "best-skill"  # highest level first, then longest idle


class MaxWaitAction(enum.StrEnum):
    """What happens to a caller who has waited the queue's maximum."""

    CALLBACK = "callback"  # the caller is offered a callback (the dialplan takes the number)
    MESSAGE = "message"  # the caller leaves a message


class PauseReason(enum.StrEnum):
    """The reason codes every site has; a site may configure more (AcdConfig.reason_codes)."""

    BREAK = "break"
    LUNCH = "lunch"
    TRAINING = "training"
    MEETING = "meeting"
    MISSED = "missed"  # set by the ACD on ring-no-answer, never chosen by the agent
    MARKETING = "marketing"  # an outbound marketing task admitted by the gate
    UNREACHABLE = "unreachable"  # set by the ACD when the agent's phone unregistered


@dataclass(frozen=True, slots=True)
class QueueConfig:
    name: str
    skill: str = ""  # the skill a call needs when the IVR named none; defaults to the queue's name
    strategy: Strategy = Strategy.LONGEST_IDLE
    weight: int = 0  # queue priority: between calls of equal call priority, a higher weight goes first
    wrapup_s: float | None = None  # None: the site's default (settings [acd] wrapup_s)
    # False: an agent whose wrap-up form is still open stays in wrap-up past wrapup_s, so no call
    # is offered until it is saved or discarded; True: wrapup_s alone decides.
    offer_during_wrapup: bool = False
    service_level_s: float = 20.0  # "answered within T seconds" for the service level
    overflow_after_s: float | None = None
    overflow_to: str = ""
    max_wait_s: float | None = None
    max_wait_action: MaxWaitAction = MaxWaitAction.CALLBACK

    def __post_init__(self) -> None:
        if not self.name:
            raise AcdConfigError("a queue needs a name")
        if not self.skill:
            object.__setattr__(self, "skill", self.name)
        if (self.wrapup_s is not None and self.wrapup_s < 0) or self.service_level_s <= 0:
            raise AcdConfigError(f"queue {self.name}: wrapup_s must be ≥ 0 and service_level_s > 0")
        if (self.overflow_after_s is None) != (not self.overflow_to):
            raise AcdConfigError(f"queue {self.name}: overflow_after_s and overflow_to go together")
        if self.overflow_to == self.name:
            raise AcdConfigError(f"queue {self.name}: cannot overflow to itself")
        if self.overflow_after_s is not None and self.overflow_after_s < 0:
            raise AcdConfigError(f"queue {self.name}: overflow_after_s must be ≥ 0")
        if self.max_wait_s is not None and self.max_wait_s <= 0:
            raise AcdConfigError(f"queue {self.name}: max_wait_s must be > 0")


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """An agent (a person) as the ACD needs to know them."""

    agent: str  # the agent's login id
    extension: str  # where their phone rings: the exten of the hotline-deliver context
    skills: Mapping[str, int]  # skill → level 1..10, higher is better
    name: str = ""
    interface: str = ""  # the queue member interface; defaults to PJSIP/<extension>
    group: str = "default"  # the agent group a marketing policy is set for

    def __post_init__(self) -> None:
        if not self.agent or not self.extension:
            raise AcdConfigError("an agent profile needs an agent id and an extension")
        for skill, level in self.skills.items():
            if not 1 <= level <= MAX_SKILL_LEVEL:
                raise AcdConfigError(
                    f"agent {self.agent}: skill {skill!r} level {level} is outside 1..{MAX_SKILL_LEVEL}"
                )
        object.__setattr__(self, "skills", MappingProxyType(dict(self.skills)))
        if not self.interface:
            object.__setattr__(self, "interface", f"PJSIP/{self.extension}")


@dataclass(frozen=True, slots=True)
class AcdConfig:
    queues: Mapping[str, QueueConfig]
    agents: Mapping[str, AgentProfile] = field(default_factory=dict)
    reason_codes: frozenset[str] = frozenset()  # site-specific pause reasons beside PauseReason
    wrapup_s: float = 15.0  # for queues that set none, and for outbound calls
    ring_timeout_s: float = 15.0
    sticky_agent_s: float = 86400.0
    deliver_context: str = "hotline-deliver"
    callback_context: str = "hotline-callback"
    message_context: str = "hotline-message"
    fallback_suffix: str = "-fallback"  # the app_queue queue that takes callers when Hotline is down
    # A failed delivery (the switch refused the Redirect) is retried after this long, so a
    # broken channel cannot spin the router.
    retry_delivery_s: float = 1.0
    stats_window_s: float = 1800.0
    # Callbacks (acd/callbacks.py): the agent's phone is originated into this context with the
    # customer's number as the extension, presenting this caller id to the agent.
    callback_dial_context: str = "click-to-dial"
    callback_caller_id: str = ""
    callback_retry_s: float = 300.0  # a failed attempt is tried again this much later
    callback_max_attempts: int = 3
    callback_dedupe_s: float = 300.0  # a number just called back is not called again within this
    callback_ring_s: float = 30.0  # how long the agent's phone rings before the attempt fails
    # Where the admin page saves queue changes ([acd] queues_file); empty: changes are not saved.
    queues_file: str = ""

    def __post_init__(self) -> None:
        if self.callback_max_attempts < 1 or self.callback_retry_s < 0 or self.callback_ring_s <= 0:
            raise AcdConfigError("callbacks need max_attempts ≥ 1, retry_s ≥ 0 and ring_s > 0")
        for name, queue in self.queues.items():
            if name != queue.name:
                raise AcdConfigError(f"queue registered as {name!r} is named {queue.name!r}")
            if queue.overflow_to and queue.overflow_to not in self.queues:
                raise AcdConfigError(f"queue {name}: overflow_to {queue.overflow_to!r} is not a queue")
        for agent_id, profile in self.agents.items():
            if agent_id != profile.agent:
                raise AcdConfigError(f"agent registered as {agent_id!r} is {profile.agent!r}")
        object.__setattr__(self, "queues", MappingProxyType(dict(self.queues)))
        object.__setattr__(self, "agents", MappingProxyType(dict(self.agents)))

    @classmethod
    def from_settings(
        cls,
        acd: AcdSettingsLike,
        queues: Iterable[QueueConfig],
        agents: Iterable[AgentProfile] = (),
        *,
        reason_codes: Iterable[str] = (),
    ) -> AcdConfig:
        """The composition root's way in: settings [acd] plus queues and agents from crm/."""
        return cls(
            queues={queue.name: queue for queue in queues},
            agents={agent.agent: agent for agent in agents},
            reason_codes=frozenset(reason_codes),
            wrapup_s=acd.wrapup_s,
            ring_timeout_s=acd.ring_timeout_s,
            sticky_agent_s=acd.sticky_agent_s,
            queues_file=getattr(acd, "queues_file", ""),
        )

    def holds_open_wrapup(self, queue: str) -> bool:
        """Whether an open wrap-up form keeps an agent of this queue (or of an outbound call, "")
        out of the next call past the wrap-up time."""
        config = self.queues.get(queue)
        return config is None or not config.offer_during_wrapup

    def wrapup_for(self, queue: str) -> float:
        config = self.queues.get(queue)
        if config is None or config.wrapup_s is None:
            return self.wrapup_s
        return config.wrapup_s

    @property
    def all_reason_codes(self) -> frozenset[str]:
        return frozenset(PauseReason) | self.reason_codes

    def queues_for_skills(self, skills: Mapping[str, int]) -> tuple[str, ...]:
        """The queues an agent with these skills serves: those whose skill they have."""
        return tuple(name for name, queue in self.queues.items() if queue.skill in skills)


@dataclass(frozen=True, slots=True)
class WaitingCall:
    """A caller handed to the ACD (by the IVR, through the composition root) to be served."""

    call_id: str
    channel: str  # the caller's channel, the one the ACD redirects to the agent
    queue: str
    skill: str = ""  # empty: the queue's skill
    priority: int = 0  # higher first; VIP callers get a higher priority
    caller: str = ""
    customer_id: str = ""
    queued_at: datetime | None = None
    language: str = ""

    @property
    def customer_key(self) -> str:
        """Who the caller is, for last-agent stickiness: the customer when known, else the number."""
        return self.customer_id or self.caller
