"""The CRM's public face for other packages: ivr/, acd/ and agent_api/ call these.

``Crm`` holds what every lookup needs (database, calendar, time zone, the campaign catalog) so
callers pass only their question. ``CrmLookups`` is the protocol they depend on, so their tests
can hand in a small fake.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

from crm import campaigns as campaign_store
from crm import customers, ticket_escalation, tickets
from crm.db import Database, utcnow
from crm.kinds import CampaignStatus, Channel, Role
from crm.reporting.holdbacks import RuleHoldbacks
from crm.results import CallerMatch, Eligibility, ScreenPop, TicketStatusView
from crm.screen_pop import CampaignCatalog, eligible_offers, screen_pop
from crm.sla import ChinaWorkCalendar, WorkCalendar


class CrmLookups(Protocol):
    async def find_caller(self, number: str) -> CallerMatch | None: ...

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

    async def eligible_offers(
        self, customer_id: int, channel: Channel, now: datetime | None = ...
    ) -> Eligibility: ...

    async def ticket_status(self, number: str) -> TicketStatusView | None: ...


class Crm:
    def __init__(
        self,
        db: Database,
        *,
        tz: tzinfo | str = "Asia/Shanghai",
        calendar: WorkCalendar | None = None,
        ticket_working_days: int = 3,
        catalog_refresh_s: float = 5.0,
        clock: Callable[[], datetime] = utcnow,
        escalation_email: str = "",
    ) -> None:
        self.db = db
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self.calendar = calendar or ChinaWorkCalendar()
        self.ticket_working_days = ticket_working_days
        self.catalog = CampaignCatalog(db, refresh_s=catalog_refresh_s)
        self.clock = clock
        self.escalation_email = escalation_email  # the supervisors' address for overdue tickets
        # Offers a contact rule held back on a call's pop; the composition root sets the sink.
        self.rule_holdbacks = RuleHoldbacks()

    async def find_caller(self, number: str) -> CallerMatch | None:
        """The customer owning ``number`` (any format) with VIP level, segment, open complaint; or None."""
        return await customers.find_customer_by_phone(self.db, number)

    async def screen_pop(
        self,
        caller_number: str,
        *,
        channel: Channel = Channel.CALL_IN,
        role: Role = Role.AGENT,
        now: datetime | None = None,
        call_id: str = "",
        agent: str = "",
    ) -> ScreenPop:
        """Customer card (or unknown caller), last contacts, open tickets with SLA, eligible offers.
        With the ``call_id`` (and the ``agent`` it rings), the offers a contact rule held back
        are handed to the report facts, once per call."""
        now = now or self.clock()
        pop = await screen_pop(
            self.db,
            self.catalog,
            caller_number,
            tz=self.tz,
            channel=channel,
            role=role,
            now=now,
        )
        self.rule_holdbacks.popped(pop, at=now, call_id=call_id, agent=agent)
        return pop

    async def eligible_offers(
        self, customer_id: int, channel: Channel, now: datetime | None = None
    ) -> Eligibility:
        return await eligible_offers(
            self.db, self.catalog, customer_id, channel, tz=self.tz, now=now or self.clock()
        )

    async def ticket_status(self, number: str) -> TicketStatusView | None:
        """Self-service: a ticket's state by its number, or None if there is no such ticket."""
        return await tickets.ticket_status(self.db, number, now=self.clock())

    async def open_ticket(self, new: tickets.NewTicket, now: datetime | None = None) -> tickets.TicketRef:
        return await tickets.open_ticket(
            self.db,
            new,
            calendar=self.calendar,
            working_days=self.ticket_working_days,
            now=now or self.clock(),
            tz=self.tz,
        )

    async def escalate_overdue(self, now: datetime | None = None) -> list[tuple[str, int]]:
        """Warn the tickets due within a day and escalate the overdue ones (steps and mails)."""
        return await ticket_escalation.escalate_overdue(
            self.db,
            calendar=self.calendar,
            now=now or self.clock(),
            tz=self.tz,
            supervisors_email=self.escalation_email,
        )

    async def create_campaign(self, new: campaign_store.NewCampaign) -> int:
        campaign_id = await campaign_store.create_campaign(self.db, new, now=self.clock())
        self.catalog.invalidate()
        return campaign_id

    async def set_campaign_status(self, campaign_id: int, status: CampaignStatus) -> None:
        await campaign_store.set_campaign_status(self.db, campaign_id, status, now=self.clock())
        self.catalog.invalidate()

    def rules_changed(self) -> None:
        """Call after editing contact rules or campaigns through the store functions directly."""
        self.catalog.invalidate()
