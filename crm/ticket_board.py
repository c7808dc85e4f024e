"""The ticket list and the ticket's own page: filters, the SLA state of each, every step.

The filters are the ones a desk works by: mine, my team's, overdue, due today, escalated, by
node (status), kind and queue, a customer's, and a number or words of the subject. Closed tickets
are left out unless the node asked for is ``closed`` or ``include_closed`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from sqlalchemy import Select, func, or_, select

from crm.db import Database
from crm.errors import NotFound
from crm.kinds import TicketAction, TicketKind, TicketStatus
from crm.models import Contact, Customer, Ticket, TicketStep
from crm.sla import SHANGHAI, SlaState, sla_state
from crm.tickets import TicketStepView


@dataclass(frozen=True, slots=True)
class TicketFilter:
    assignee: str | None = None  # "mine"
    teams: tuple[str, ...] | None = None  # "my team": any of these
    # A technician's whole list: the tickets that went to them or to one of their teams.
    worker: tuple[str, tuple[str, ...]] | None = None
    overdue: bool = False
    due_today: bool = False
    escalated: bool = False  # warned before the deadline or escalated after it
    status: TicketStatus | None = None  # the node
    kind: TicketKind | None = None
    queue: str | None = None
    team: str | None = None
    customer_id: int | None = None
    text: str = ""  # a ticket number, or words of the subject
    include_closed: bool = False
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class TicketRow:
    id: int
    number: str
    kind: TicketKind
    status: TicketStatus
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
    sla: SlaState
    escalation_level: int
    satisfaction: int | None


@dataclass(frozen=True, slots=True)
class TicketContact:
    id: int
    at: datetime
    channel: str
    agent: str | None
    call_id: str | None
    disposition: str
    note: str


@dataclass(frozen=True, slots=True)
class TicketDetail:
    ticket: TicketRow
    description: str
    evaluation: str | None
    resolved_at: datetime | None
    steps: tuple[TicketStepView, ...]
    contacts: tuple[TicketContact, ...]


_ROW = select(
    Ticket.id,
    Ticket.number,
    Ticket.kind,
    Ticket.status,
    Ticket.subject,
    Ticket.customer_id,
    Customer.name.label("customer_name"),
    Ticket.assignee,
    Ticket.team,
    Ticket.queue,
    Ticket.opened_by,
    Ticket.opened_at,
    Ticket.due_at,
    Ticket.closed_at,
    Ticket.escalation_level,
    Ticket.satisfaction,
).join(Customer, Customer.id == Ticket.customer_id)


def _row(r: object, now: datetime) -> TicketRow:
    return TicketRow(
        id=r.id,  # type: ignore[attr-defined]
        number=r.number or "",  # type: ignore[attr-defined]
        kind=TicketKind(r.kind),  # type: ignore[attr-defined]
        status=TicketStatus(r.status),  # type: ignore[attr-defined]
        subject=r.subject,  # type: ignore[attr-defined]
        customer_id=r.customer_id,  # type: ignore[attr-defined]
        customer_name=r.customer_name,  # type: ignore[attr-defined]
        assignee=r.assignee,  # type: ignore[attr-defined]
        team=r.team,  # type: ignore[attr-defined]
        queue=r.queue or "",  # type: ignore[attr-defined]
        opened_by=r.opened_by,  # type: ignore[attr-defined]
        opened_at=r.opened_at,  # type: ignore[attr-defined]
        due_at=r.due_at,  # type: ignore[attr-defined]
        closed_at=r.closed_at,  # type: ignore[attr-defined]
        sla=sla_state(r.due_at, now, r.closed_at),  # type: ignore[attr-defined]
        escalation_level=r.escalation_level,  # type: ignore[attr-defined]
        satisfaction=r.satisfaction,  # type: ignore[attr-defined]
    )


def end_of_today(now: datetime, tz: tzinfo) -> datetime:
    """The local midnight that ends ``now``'s day: a ticket due today is due at it."""
    day = now.astimezone(tz).date() + timedelta(days=1)
    return datetime.combine(day, time(0, 0), tzinfo=tz)


def _filtered(query: Select, f: TicketFilter, now: datetime, tz: tzinfo) -> Select:  # type: ignore[type-arg]
    open_only = Ticket.status != TicketStatus.CLOSED.value
    if f.status is not None:
        query = query.where(Ticket.status == f.status.value)
    elif not f.include_closed:
        query = query.where(open_only)
    if f.assignee is not None:
        query = query.where(Ticket.assignee == f.assignee)
    if f.teams is not None:
        query = query.where(Ticket.team.in_(f.teams))
    if f.team:
        query = query.where(Ticket.team == f.team)
    if f.worker is not None:
        username, teams = f.worker
        query = query.where(or_(Ticket.assignee == username, Ticket.team.in_(teams)))
    if f.overdue:
        query = query.where(open_only, Ticket.due_at <= now)
    if f.due_today:
        query = query.where(open_only, Ticket.due_at > now, Ticket.due_at <= end_of_today(now, tz))
    if f.escalated:
        warned = select(TicketStep.ticket_id).where(
            TicketStep.action.in_([TicketAction.WARNED.value, TicketAction.ESCALATED.value])
        )
        query = query.where(open_only, or_(Ticket.escalation_level > 0, Ticket.id.in_(warned)))
    if f.kind is not None:
        query = query.where(Ticket.kind == f.kind.value)
    if f.queue:
        query = query.where(Ticket.queue == f.queue)
    if f.customer_id is not None:
        query = query.where(Ticket.customer_id == f.customer_id)
    text = f.text.strip()
    if text:
        number = text.upper()
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                Ticket.number == number,
                Ticket.number == "T" + number,
                Ticket.subject.like(pattern, escape="\\"),
            )
        )
    return query


async def list_tickets(
    db: Database, f: TicketFilter, *, now: datetime, tz: tzinfo = SHANGHAI
) -> tuple[tuple[TicketRow, ...], int]:
    """The matching tickets, soonest due first (overdue ones at the top), and how many match."""
    query = _filtered(_ROW, f, now, tz).order_by(Ticket.due_at, Ticket.id).limit(f.limit).offset(f.offset)
    counted = _filtered(select(func.count()).select_from(Ticket), f, now, tz)
    async with db.read() as session:
        rows = (await session.execute(query)).all()
        total = int(await session.scalar(counted) or 0)
    return tuple(_row(r, now) for r in rows), total


async def ticket_detail(db: Database, ticket_id: int, *, now: datetime) -> TicketDetail:
    async with db.read() as session:
        row = (await session.execute(_ROW.where(Ticket.id == ticket_id))).first()
        if row is None:
            raise NotFound("ticket", ticket_id)
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        steps = (
            await session.scalars(
                select(TicketStep).where(TicketStep.ticket_id == ticket_id).order_by(TicketStep.id)
            )
        ).all()
        contacts = (
            await session.scalars(
                select(Contact).where(Contact.ticket_id == ticket_id).order_by(Contact.at, Contact.id)
            )
        ).all()
    return TicketDetail(
        ticket=_row(row, now),
        description=ticket.description,
        evaluation=ticket.evaluation,
        resolved_at=ticket.resolved_at,
        steps=tuple(
            TicketStepView(s.at, s.actor, TicketAction(s.action), s.assignee, s.note, s.team) for s in steps
        ),
        contacts=tuple(
            TicketContact(c.id, c.at, c.channel, c.agent, c.call_id, c.disposition, c.note) for c in contacts
        ),
    )


async def ticket_queues(db: Database) -> tuple[str, ...]:
    """The queues tickets came on, for the list's filter."""
    async with db.read() as session:
        rows = await session.scalars(select(Ticket.queue).where(Ticket.queue != "").distinct().limit(200))
        return tuple(sorted(rows))
