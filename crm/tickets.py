"""Tickets: complaints, consultations, service requests, field dispatch — every step recorded.

A ticket is due N working days after it is opened (crm/sla.py); overdue tickets are escalated one
level per working day. Closing needs the customer's evaluation or a follow-up call that recorded
a satisfaction score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db import Database, Reader, utcnow
from crm.errors import InvalidTransition, NotFound, TicketNotClosable
from crm.kinds import Channel, Disposition, NoticeTopic, TicketAction, TicketKind, TicketStatus
from crm.models import Contact, Ticket, TicketStep
from crm.notices import enqueue_in_session
from crm.results import TicketStatusView, TicketSummary
from crm.sla import SHANGHAI, WorkCalendar, due_date, sla_state


@dataclass(frozen=True, slots=True)
class NewTicket:
    customer_id: int
    kind: TicketKind
    subject: str
    opened_by: str
    description: str = ""
    assignee: str | None = None
    team: str | None = None
    queue: str = ""  # the queue of the call it was opened on


@dataclass(frozen=True, slots=True)
class TicketRef:
    id: int
    number: str
    due_at: datetime
    due_estimated: bool


@dataclass(frozen=True, slots=True)
class TicketStepView:
    at: datetime
    actor: str
    action: TicketAction
    assignee: str | None
    note: str
    team: str | None = None


def ticket_number(ticket_id: int, opened_at: datetime, tz: tzinfo) -> str:
    return f"T{opened_at.astimezone(tz):%y%m%d}{ticket_id:06d}"


async def open_ticket(
    db: Database,
    new: NewTicket,
    *,
    calendar: WorkCalendar,
    working_days: int = 3,
    now: datetime | None = None,
    tz: tzinfo = SHANGHAI,
) -> TicketRef:
    now = now or utcnow()
    due = due_date(now, working_days, calendar, tz)
    status = TicketStatus.ASSIGNED if new.assignee or new.team else TicketStatus.OPEN
    async with db.write() as session:
        ticket = Ticket(
            kind=new.kind.value,
            status=status.value,
            customer_id=new.customer_id,
            subject=new.subject,
            description=new.description,
            assignee=new.assignee,
            team=new.team,
            queue=new.queue,
            opened_by=new.opened_by,
            opened_at=now,
            due_at=due.at,
        )
        ticket.steps = [
            TicketStep(at=now, actor=new.opened_by, action=TicketAction.OPENED.value, note=new.description)
        ]
        if new.assignee or new.team:
            ticket.steps.append(
                TicketStep(
                    at=now,
                    actor=new.opened_by,
                    action=TicketAction.ASSIGNED.value,
                    assignee=new.assignee,
                    team=new.team,
                )
            )
        session.add(ticket)
        await session.flush()
        ticket.number = ticket_number(ticket.id, now, tz)
        return TicketRef(ticket.id, ticket.number, due.at, due.estimated)


async def assign_ticket(
    db: Database,
    ticket_id: int,
    assignee: str | None,
    *,
    actor: str,
    team: str | None = None,
    note: str = "",
    now: datetime | None = None,
) -> None:
    """Dispatch (派单) to a person, a team, or a person of a team. Dispatched to a team alone,
    the ticket waits for one of its members to take it up (``start_ticket``)."""
    if not assignee and not team:
        raise ValueError("dispatch to a team, a person, or both")
    async with db.write() as session:
        ticket = await _open_ticket_row(session, ticket_id, "assign")
        ticket.assignee = assignee or None
        if team:
            ticket.team = team
        ticket.status = TicketStatus.ASSIGNED.value
        step = _step(session, ticket, now, actor, TicketAction.ASSIGNED, note, assignee=assignee or None)
        step.team = team or None
        await _notify(session, ticket, step)


async def start_ticket(
    db: Database, ticket_id: int, *, actor: str, note: str = "", now: datetime | None = None
) -> None:
    """The person it went to takes it up (接单, the 处理 node); a ticket that went to a team
    only becomes theirs."""
    async with db.write() as session:
        ticket = await _ticket_row(session, ticket_id)
        if ticket.status not in (TicketStatus.OPEN, TicketStatus.ASSIGNED):
            raise InvalidTransition(f"ticket {ticket.number}", ticket.status, TicketStatus.IN_PROGRESS)
        ticket.assignee = ticket.assignee or actor
        ticket.status = TicketStatus.IN_PROGRESS.value
        _step(session, ticket, now, actor, TicketAction.STARTED, note, assignee=ticket.assignee)


async def add_ticket_note(
    db: Database, ticket_id: int, note: str, *, actor: str, now: datetime | None = None
) -> None:
    async with db.write() as session:
        ticket = await _ticket_row(session, ticket_id)
        _step(session, ticket, now, actor, TicketAction.NOTE, note)


async def resolve_ticket(
    db: Database, ticket_id: int, *, actor: str, note: str, now: datetime | None = None
) -> None:
    async with db.write() as session:
        ticket = await _open_ticket_row(session, ticket_id, "resolve")
        ticket.status = TicketStatus.RESOLVED.value
        step = _step(session, ticket, now, actor, TicketAction.RESOLVED, note)
        ticket.resolved_at = step.at
        await _notify(session, ticket, step)


async def record_evaluation(
    db: Database,
    ticket_id: int,
    satisfaction: int,
    *,
    comment: str = "",
    actor: str = "customer",
    now: datetime | None = None,
) -> None:
    """The customer's own evaluation (IVR survey, SMS reply, web), 1 (poor) to 5 (very good)."""
    _check_score(satisfaction)
    async with db.write() as session:
        await evaluate_in_session(session, ticket_id, satisfaction, comment=comment, actor=actor, now=now)


async def evaluate_in_session(
    session: AsyncSession,
    ticket_id: int,
    satisfaction: int,
    *,
    comment: str = "",
    actor: str = "customer",
    now: datetime | None = None,
) -> None:
    """As :func:`record_evaluation`, inside the caller's write transaction."""
    _check_score(satisfaction)
    ticket = await _ticket_row(session, ticket_id)
    ticket.satisfaction = satisfaction
    ticket.evaluation = comment
    _step(
        session,
        ticket,
        now,
        actor,
        TicketAction.EVALUATED,
        f"satisfaction {satisfaction}. {comment}".strip(),
    )


async def record_follow_up(
    db: Database,
    ticket_id: int,
    satisfaction: int | None,
    *,
    agent: str,
    call_id: str | None = None,
    note: str = "",
    now: datetime | None = None,
    channel: Channel = Channel.CALL_OUT,
) -> int:
    """A follow-up (回访), a call or an SMS: stored as a contact on the ticket; a score, if given,
    counts for closing."""
    if satisfaction is not None:
        _check_score(satisfaction)
    async with db.write() as session:
        ticket = await _ticket_row(session, ticket_id)
        step = _step(session, ticket, now, agent, TicketAction.FOLLOWED_UP, note)
        contact = Contact(
            customer_id=ticket.customer_id,
            channel=channel.value,
            purpose="service",
            at=step.at,
            agent=agent,
            call_id=call_id,
            ticket_id=ticket.id,
            disposition=Disposition.FOLLOW_UP.value,
            note=note,
        )
        session.add(contact)
        if satisfaction is not None:
            ticket.satisfaction = satisfaction
            step.note = f"satisfaction {satisfaction}. {note}".strip()
        await session.flush()
        return contact.id


async def close_ticket(
    db: Database, ticket_id: int, *, actor: str, note: str = "", now: datetime | None = None
) -> None:
    async with db.write() as session:
        ticket = await _open_ticket_row(session, ticket_id, "close")
        if ticket.satisfaction is None:
            raise TicketNotClosable(
                f"ticket {ticket.number} has no satisfaction score: record the customer's evaluation "
                "or a follow-up call with a score first"
            )
        ticket.status = TicketStatus.CLOSED.value
        step = _step(session, ticket, now, actor, TicketAction.CLOSED, note)
        ticket.closed_at = step.at
        await _notify(session, ticket, step)


async def reopen_ticket(
    db: Database, ticket_id: int, *, actor: str, note: str, now: datetime | None = None
) -> None:
    async with db.write() as session:
        ticket = await _ticket_row(session, ticket_id)
        if ticket.status != TicketStatus.CLOSED:
            raise InvalidTransition(f"ticket {ticket.number}", ticket.status, TicketStatus.OPEN)
        ticket.status = TicketStatus.ASSIGNED.value if ticket.assignee else TicketStatus.OPEN.value
        ticket.closed_at = None
        ticket.satisfaction = None
        step = _step(session, ticket, now, actor, TicketAction.REOPENED, note)
        await _notify(session, ticket, step)


async def ticket_history(db: Database, ticket_id: int) -> tuple[TicketStepView, ...]:
    async with db.read() as session:
        rows = (
            await session.scalars(
                select(TicketStep).where(TicketStep.ticket_id == ticket_id).order_by(TicketStep.id)
            )
        ).all()
    return tuple(
        TicketStepView(s.at, s.actor, TicketAction(s.action), s.assignee, s.note, s.team) for s in rows
    )


async def ticket_status(db: Database, number: str, *, now: datetime | None = None) -> TicketStatusView | None:
    """Self-service lookup by ticket number (IVR, web); None for a number that does not exist."""
    now = now or utcnow()
    async with db.read() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number.strip().upper()))
        if ticket is None:
            return None
        last = await session.scalar(
            select(TicketStep)
            .where(TicketStep.ticket_id == ticket.id)
            .order_by(TicketStep.id.desc())
            .limit(1)
        )
    return TicketStatusView(
        number=ticket.number or "",
        kind=TicketKind(ticket.kind),
        status=TicketStatus(ticket.status),
        opened_at=ticket.opened_at,
        due_at=ticket.due_at,
        sla=sla_state(ticket.due_at, now, ticket.closed_at),
        last_step_at=last.at if last else ticket.opened_at,
        last_action=last.action if last else TicketAction.OPENED.value,
        closed_at=ticket.closed_at,
    )


OPEN_TICKETS_QUERY = select(
    Ticket.id,
    Ticket.number,
    Ticket.kind,
    Ticket.status,
    Ticket.subject,
    Ticket.assignee,
    Ticket.opened_at,
    Ticket.due_at,
    Ticket.escalation_level,
).where(Ticket.status != TicketStatus.CLOSED.value)


_OPEN_TICKETS_OF_CUSTOMER = (
    OPEN_TICKETS_QUERY.where(Ticket.customer_id == bindparam("customer_id")).order_by(Ticket.due_at).limit(50)
)


async def load_open_tickets(reader: Reader, customer_id: int, now: datetime) -> tuple[TicketSummary, ...]:
    rows = await reader.rows(_OPEN_TICKETS_OF_CUSTOMER, {"customer_id": customer_id})
    return tuple(
        TicketSummary(
            id=r.id,
            number=r.number or "",
            kind=TicketKind(r.kind),
            status=TicketStatus(r.status),
            subject=r.subject,
            assignee=r.assignee,
            opened_at=r.opened_at,
            due_at=r.due_at,
            sla=sla_state(r.due_at, now),
            escalation_level=r.escalation_level,
        )
        for r in rows
    )


async def _ticket_row(session: AsyncSession, ticket_id: int) -> Ticket:
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("ticket", ticket_id)
    return ticket


async def _open_ticket_row(session: AsyncSession, ticket_id: int, wanted: str) -> Ticket:
    ticket = await _ticket_row(session, ticket_id)
    if ticket.status == TicketStatus.CLOSED:
        raise InvalidTransition(f"ticket {ticket.number}", ticket.status, wanted)
    return ticket


_NOTIFIED = {
    TicketAction.ASSIGNED: "已受理，正在处理",
    TicketAction.RESOLVED: "已处理完毕，请您评价",
    TicketAction.CLOSED: "已办结",
    TicketAction.REOPENED: "已重新打开",
}


async def _notify(session: AsyncSession, ticket: Ticket, step: TicketStep) -> None:
    """Queue a ticket-progress notice for a customer who subscribed to one (same transaction)."""
    text = _NOTIFIED.get(TicketAction(step.action))
    if text is None:
        return
    await session.flush()
    await enqueue_in_session(
        session,
        ticket.customer_id,
        NoticeTopic.TICKET_PROGRESS,
        subject=f"工单 {ticket.number} 进度",
        body=f"您的工单 {ticket.number}（{ticket.subject}）{text}。",
        dedupe_key=f"ticket:{ticket.number}:step:{step.id}",
        now=step.at,
    )


def _step(
    session: AsyncSession,
    ticket: Ticket,
    now: datetime | None,
    actor: str,
    action: TicketAction,
    note: str = "",
    *,
    assignee: str | None = None,
) -> TicketStep:
    step = TicketStep(
        ticket_id=ticket.id,
        at=now or utcnow(),
        actor=actor,
        action=action.value,
        assignee=assignee,
        note=note,
    )
    session.add(step)
    return step


def _check_score(score: int) -> None:
    if not 1 <= score <= 5:
        raise ValueError(f"satisfaction must be 1 to 5, got {score}")
