"""Ticket routes: the list with its filters, one ticket with its steps, and every move of the
closed loop 受理 → 派单 → 处理 → 回访 → 关闭 (docs/tickets.md).

Each move answers the ticket's page as it is after it, so a page shows what the server stored.
"""

from __future__ import annotations

from aiohttp import web

from agent_api.context import audit, require, services
from agent_api.crm_errors import crm_errors
from agent_api.errors import InvalidBody
from agent_api.openapi import endpoint
from agent_api.security import Principal
from agent_api.tickets.access import (
    STAFF,
    WORKERS,
    check_field_access,
    desk,
    field_only,
    my_teams,
)
from agent_api.tickets.schemas import (
    DispatchBody,
    FollowUpBody,
    NewTicketIn,
    NoteBody,
    RequiredNote,
    StepOut,
    TicketContactOut,
    TicketList,
    TicketPage,
    TicketQuery,
    TicketRowOut,
    View,
)
from crm import tickets
from crm.customers import load_card
from crm.kinds import Channel, Role
from crm.ticket_board import TicketFilter, TicketRow, list_tickets, ticket_detail

TICKET_ID = {"ticket_id": "integer"}


def row_out(row: TicketRow) -> TicketRowOut:
    return TicketRowOut(
        id=row.id,
        number=row.number,
        kind=row.kind,
        status=row.status,
        subject=row.subject,
        customer_id=row.customer_id,
        customer_name=row.customer_name,
        assignee=row.assignee,
        team=row.team,
        queue=row.queue,
        opened_by=row.opened_by,
        opened_at=row.opened_at,
        due_at=row.due_at,
        closed_at=row.closed_at,
        sla=row.sla.value,
        escalation_level=row.escalation_level,
        satisfaction=row.satisfaction,
    )


async def ticket_page(request: web.Request, principal: Principal, ticket_id: int) -> TicketPage:
    crm = desk(request)
    db = services(request).db
    with crm_errors():
        detail = await ticket_detail(db, ticket_id, now=crm.clock())
    await check_field_access(request, principal, detail.ticket)
    page = TicketPage(
        ticket=row_out(detail.ticket),
        description=detail.description,
        evaluation=detail.evaluation,
        resolved_at=detail.resolved_at,
        due_estimated=not crm.calendar.covers(detail.ticket.due_at.astimezone(crm.tz).date()),
        steps=[
            StepOut(
                at=s.at, actor=s.actor, action=s.action.value, assignee=s.assignee, team=s.team, note=s.note
            )
            for s in detail.steps
        ],
        contacts=[TicketContactOut.model_validate(c, from_attributes=True) for c in detail.contacts],
    )
    if field_only(principal):
        # The technician visits: the address in clear and the numbers, and nothing else of the card.
        async with db.read() as session:
            card = await load_card(session, detail.ticket.customer_id, Role.ADMIN)
        if card is not None:
            page.visit_address = card.address
            page.visit_phones = list(card.phones)
    return page


@endpoint(
    "GET",
    "/api/tickets",
    summary="Tickets by view (mine, my team, overdue, due today, escalated) and node, kind, queue",
    roles=WORKERS,
    query=TicketQuery,
    response=TicketList,
    tag="tickets",
)
async def search_tickets(request: web.Request, principal: Principal | None, query: TicketQuery) -> TicketList:
    me = require(principal)
    crm = desk(request)
    view = query.view
    assignee = me.username if view is View.MINE else None
    team_names = await my_teams(request, me) if view is View.TEAM else None
    worker = (me.username, await my_teams(request, me)) if field_only(me) else None
    rows, total = await list_tickets(
        services(request).db,
        _filter(query, assignee=assignee, teams=team_names, worker=worker),
        now=crm.clock(),
        tz=crm.tz,
    )
    return TicketList(tickets=[row_out(r) for r in rows], total=total)


def _filter(
    query: TicketQuery,
    *,
    assignee: str | None,
    teams: tuple[str, ...] | None,
    worker: tuple[str, tuple[str, ...]] | None,
) -> TicketFilter:
    return TicketFilter(
        assignee=assignee,
        teams=teams,
        worker=worker,
        overdue=query.view is View.OVERDUE,
        due_today=query.view is View.DUE_TODAY,
        escalated=query.view is View.ESCALATED,
        status=query.node,
        kind=query.kind,
        queue=query.queue or None,
        team=query.team or None,
        customer_id=query.customer_id,
        text=query.q,
        include_closed=query.include_closed,
        limit=query.limit,
        offset=query.offset,
    )


@endpoint(
    "POST",
    "/api/tickets",
    summary="Take a ticket in (受理) for a customer, dispatched at once if a team or person is named",
    roles=STAFF,
    body=NewTicketIn,
    response=TicketPage,
    tag="tickets",
)
async def create_ticket(request: web.Request, principal: Principal | None, body: NewTicketIn) -> TicketPage:
    me = require(principal)
    with crm_errors():
        async with services(request).db.read() as session:
            if await load_card(session, body.customer_id, Role.AGENT) is None:
                raise InvalidBody(f"no customer {body.customer_id}")
        ref = await desk(request).open_ticket(
            tickets.NewTicket(
                customer_id=body.customer_id,
                kind=body.kind,
                subject=body.subject,
                opened_by=me.username,
                description=body.description,
                assignee=body.assignee,
                team=body.team,
            )
        )
    return await ticket_page(request, me, ref.id)


@endpoint(
    "GET",
    "/api/tickets/{ticket_id}",
    summary="One ticket: its node, SLA, every processing step (who did what when) and its contacts",
    roles=WORKERS,
    response=TicketPage,
    tag="tickets",
    path_types=TICKET_ID,
)
async def get_ticket(request: web.Request, principal: Principal | None, ticket_id: int) -> TicketPage:
    return await ticket_page(request, require(principal), ticket_id)


@endpoint(
    "POST",
    "/api/tickets/{ticket_id}/dispatch",
    summary="Dispatch (派单) to a team, a person, or a person of a team",
    roles=STAFF,
    body=DispatchBody,
    response=TicketPage,
    tag="tickets",
    path_types=TICKET_ID,
)
async def dispatch_ticket(
    request: web.Request, principal: Principal | None, ticket_id: int, body: DispatchBody
) -> TicketPage:
    me = require(principal)
    if not body.team and not body.assignee:
        raise InvalidBody("name a team, a person, or both")
    with crm_errors():
        await tickets.assign_ticket(
            services(request).db,
            ticket_id,
            body.assignee,
            team=body.team,
            actor=me.username,
            note=body.note,
            now=desk(request).clock(),
        )
    return await ticket_page(request, me, ticket_id)


async def _worked(request: web.Request, me: Principal, ticket_id: int) -> None:
    """The ticket exists and this worker may touch it (a technician: it went to them)."""
    await ticket_page(request, me, ticket_id)


@endpoint(
    "POST",
    "/api/tickets/{ticket_id}/start",
    summary="Take the ticket up (接单): it becomes yours and is being handled (处理)",
    roles=WORKERS,
    body=NoteBody,
    response=TicketPage,
    tag="tickets",
    path_types=TICKET_ID,
)
async def start_ticket(
    request: web.Request, principal: Principal | None, ticket_id: int, body: NoteBody
) -> TicketPage:
    me = require(principal)
    await _worked(request, me, ticket_id)
    with crm_errors():
        await tickets.start_ticket(
            services(request).db, ticket_id, actor=me.username, note=body.note, now=desk(request).clock()
        )
    return await ticket_page(request, me, ticket_id)


@endpoint(
    "POST",
    "/api/tickets/{ticket_id}/notes",
    summary="Add a progress note (a processing step)",
    roles=WORKERS,
    body=RequiredNote,
    response=TicketPage,
    tag="tickets",
    path_types=TICKET_ID,
)
async def note_ticket(
    request: web.Request, principal: Principal | None, ticket_id: int, body: RequiredNote
) -> TicketPage:
    me = require(principal)
    await _worked(request, me, ticket_id)
    with crm_errors():
        await tickets.add_ticket_note(
            services(request).db, ticket_id, body.note, actor=me.username, now=desk(request).clock()
        )
    return await ticket_page(request, me, ticket_id)


@endpoint(
    "POST",
    "/api/tickets/{ticket_id}/resolve",
    summary="Mark it handled: it waits for the follow-up (回访) with the customer",
    roles=WORKERS,
    body=RequiredNote,
    response=TicketPage,
    tag="tickets",
    path_types=TICKET_ID,
)
async def resolve_ticket(
    request: web.Request, principal: Principal | None, ticket_id: int, body: RequiredNote
) -> TicketPage:
    me = require(principal)
    await _worked(request, me, ticket_id)
    with crm_errors():
        await tickets.resolve_ticket(
            services(request).db, ticket_id, actor=me.username, note=body.note, now=desk(request).clock()
        )
    return await ticket_page(request, me, ticket_id)


@endpoint(
    "POST",
    "/api/tickets/{ticket_id}/follow-up",
    summary="Record the follow-up (回访) call or SMS with the customer's satisfaction, 1 to 5",
    roles=STAFF,
    body=FollowUpBody,
    response=TicketPage,
    tag="tickets",
    path_types=TICKET_ID,
)
async def follow_up_ticket(
    request: web.Request, principal: Principal | None, ticket_id: int, body: FollowUpBody
) -> TicketPage:
    me = require(principal)
    with crm_errors():
        await tickets.record_follow_up(
            services(request).db,
            ticket_id,
            body.satisfaction,
            agent=me.username,
            note=body.note,
            channel=Channel.CALL_OUT if body.channel == "call" else Channel.SMS,
            now=desk(request).clock(),
        )
    return await ticket_page(request, me, ticket_id)


@endpoint(
    "POST",
    "/api/tickets/{ticket_id}/close",
    summary="Close (关闭): needs a satisfaction score from the follow-up or the customer",
    roles=STAFF,
    body=NoteBody,
    response=TicketPage,
    tag="tickets",
    path_types=TICKET_ID,
)
async def close_ticket(
    request: web.Request, principal: Principal | None, ticket_id: int, body: NoteBody
) -> TicketPage:
    me = require(principal)
    with crm_errors():
        await tickets.close_ticket(
            services(request).db, ticket_id, actor=me.username, note=body.note, now=desk(request).clock()
        )
    return await ticket_page(request, me, ticket_id)


@endpoint(
    "POST",
    "/api/tickets/{ticket_id}/reopen",
    summary="Reopen a closed ticket (the customer came back): it needs a new score to close",
    roles=STAFF,
    body=RequiredNote,
    response=TicketPage,
    tag="tickets",
    path_types=TICKET_ID,
)
async def reopen_ticket(
    request: web.Request, principal: Principal | None, ticket_id: int, body: RequiredNote
) -> TicketPage:
    me = require(principal)
    with crm_errors():
        await tickets.reopen_ticket(
            services(request).db, ticket_id, actor=me.username, note=body.note, now=desk(request).clock()
        )
    await audit(request, me.username, "ticket-reopen", str(ticket_id))
    return await ticket_page(request, me, ticket_id)
