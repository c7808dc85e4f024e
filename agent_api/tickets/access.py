"""Who works which tickets (docs/tickets.md).

- Agents, supervisors and administrators see every ticket and move it through the loop: take it
  in, dispatch it, handle it, follow it up, close and reopen it.
- A technician sees only the tickets dispatched to them or to one of their teams, and on them
  takes it up, adds progress and marks it handled: the follow-up and the closing are the desk's.
- Teams are kept by supervisors and administrators.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Protocol, cast

from aiohttp import web

from agent_api.context import services
from agent_api.errors import Forbidden
from agent_api.security import Principal, Role
from crm import teams
from crm.sla import WorkCalendar
from crm.ticket_board import TicketRow
from crm.tickets import NewTicket, TicketRef

STAFF = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
WORKERS = (*STAFF, Role.TECHNICIAN)
SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)


class TicketDesk(Protocol):
    """What the ticket routes need of ``crm.service.Crm``."""

    tz: tzinfo
    calendar: WorkCalendar
    clock: Callable[[], datetime]

    async def open_ticket(self, new: NewTicket, now: datetime | None = ...) -> TicketRef: ...


def desk(request: web.Request) -> TicketDesk:
    return cast(TicketDesk, services(request).crm)


def field_only(principal: Principal) -> bool:
    return principal.has(Role.TECHNICIAN) and not principal.has(*STAFF)


async def my_teams(request: web.Request, principal: Principal) -> tuple[str, ...]:
    return await teams.teams_of(services(request).db, principal.username)


async def check_field_access(request: web.Request, principal: Principal, ticket: TicketRow) -> None:
    """A technician may open a ticket only if it went to them or to one of their teams."""
    if not field_only(principal):
        return
    if ticket.assignee == principal.username:
        return
    if ticket.team and ticket.team in await my_teams(request, principal):
        return
    raise Forbidden("this ticket was not dispatched to you or your team")
