"""What agent_api needs from the packages below it, as protocols so tests pass small fakes.

``acd.service.AcdService`` and ``crm.service.Crm`` satisfy ``Acd`` and ``CrmLookups`` as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Protocol

from acd.callbacks import CallbackView
from acd.events import MarketingDecision, MarketingWork, QueueStatsUpdated
from acd.gate import MarketingPolicy
from acd.models import AcdConfig, AgentProfile, PauseReason, QueueConfig, WaitingCall
from acd.service import Persist
from crm.kinds import CampaignStatus, Channel, Role
from crm.restart_state import PendingWrapup
from crm.results import ScreenPop
from crm.tickets import NewTicket, TicketRef

# Pause reasons the ACD sets itself (ring-no-answer, an admitted marketing task, a phone that
# unregistered): neither an agent nor a supervisor chooses them.
ACD_SET_REASONS = frozenset({PauseReason.MISSED, PauseReason.MARKETING, PauseReason.UNREACHABLE})


class AgentRecordLike(Protocol):
    state: Any
    since: datetime | None
    reason: str
    call_id: str
    queue: str
    extension: str
    queues: tuple[str, ...]

    @property
    def profile(self) -> Any: ...


class AgentStatesLike(Protocol):
    def get(self, agent: str) -> Any: ...

    def by_interface(self, interface: str) -> Any | None: ...

    def holder_of(self, extension: str, *, besides: str) -> str | None: ...

    def __iter__(self) -> Iterator[Any]: ...


class GateLike(Protocol):
    def set_policy(self, policy: MarketingPolicy) -> None: ...

    def policy(self, group: str) -> MarketingPolicy | None: ...

    def policies(self) -> list[MarketingPolicy]: ...

    def is_open(self, group: str) -> bool: ...

    def marketing_agents(self, group: str) -> dict[str, MarketingWork]: ...


class RouterLike(Protocol):
    def calls(self) -> list[WaitingCall]: ...


class Acd(Protocol):
    config: AcdConfig
    states: AgentStatesLike
    gate: GateLike
    router: RouterLike

    def callbacks_waiting(self) -> list[CallbackView]: ...

    async def login(self, agent: str, *, extension: str = "", paused_reason: str = "") -> None: ...

    async def logout(self, agent: str) -> None: ...

    async def pause(self, agent: str, reason: str) -> None: ...

    async def ready(self, agent: str) -> None: ...

    def extend_wrapup(self, agent: str, seconds: float) -> datetime: ...

    def pause_after_call(self, agent: str, reason: str) -> None: ...

    async def wrapup_form(self, agent: str, *, open: bool) -> None: ...

    async def outbound_started(self, agent: str, call_id: str) -> None: ...

    async def outbound_ended(self, agent: str, *, connected: bool = True) -> None: ...

    async def marketing_request(
        self, agent: str, work: MarketingWork, *, call_id: str = ""
    ) -> MarketingDecision: ...

    async def set_marketing_policy(self, policy: MarketingPolicy) -> MarketingPolicy | None: ...

    def marketing_finished(self, agent: str) -> bool: ...

    def update_agent(self, profile: AgentProfile) -> None: ...

    async def set_queue(
        self, queue: QueueConfig, *, persist: Persist | None = None
    ) -> QueueConfig | None: ...

    async def remove_queue(self, name: str, *, persist: Persist | None = None) -> QueueConfig: ...

    def snapshot(self, queue: str) -> QueueStatsUpdated: ...


class CrmLookups(Protocol):
    """The part of ``crm.service.Crm`` the desktop and the admin pages use."""

    async def screen_pop(
        self,
        caller_number: str,
        *,
        channel: Channel = ...,
        role: Role = ...,
        now: datetime | None = ...,
        call_id: str = ...,
        agent: str = ...,
    ) -> ScreenPop: ...

    async def open_ticket(self, new: NewTicket, now: datetime | None = ...) -> TicketRef: ...

    async def set_campaign_status(self, campaign_id: int, status: CampaignStatus) -> None: ...


class WrapupStore(Protocol):
    """Where the desktop keeps the calls agents have still to wrap up, across restarts
    (``crm.restart_state.RestartState``)."""

    async def pending_wrapups(self) -> list[PendingWrapup]: ...

    async def keep_wrapup(self, wrapup: PendingWrapup) -> None: ...

    async def drop_wrapup(self, agent: str, call_id: str) -> None: ...


def queues_of(config: AcdConfig) -> Iterable[str]:
    return tuple(config.queues)
