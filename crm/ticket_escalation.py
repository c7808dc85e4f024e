"""The SLA clock at work: open tickets warned before their deadline and escalated after it.

A warning when less than a day is left (the ``due_soon`` of the pages), then one escalation level
when the deadline passes and one more for each working day that ends overdue (crm/sla.py decides,
this module stores). Each is a step on the ticket, so it shows on the ticket's page, the customer's
timeline and the supervisors' escalated list, and a mail in the notices outbox to the team's
address and the center's supervisors' address. The outbox's dedupe key makes a run repeated after a
crash send nothing twice; sending is the outbox's business (crm/notices.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db import Database, utcnow
from crm.kinds import Channel, NoticeTopic, OutboxStatus, TicketAction, TicketStatus
from crm.models import OutboxMessage, Team, Ticket, TicketStep
from crm.sla import SHANGHAI, Escalation, WorkCalendar, escalation_due

WARN_BEFORE = timedelta(days=1)


async def escalate_overdue(
    db: Database,
    *,
    calendar: WorkCalendar,
    now: datetime | None = None,
    tz: tzinfo = SHANGHAI,
    supervisors_email: str = "",
) -> list[tuple[str, int]]:
    """Warn the tickets due within a day, raise the level of the overdue ones; returns the
    (number, new level) pairs raised."""
    now = now or utcnow()
    raised: list[tuple[str, int]] = []
    async with db.write() as session:
        tickets = (
            await session.scalars(
                select(Ticket).where(
                    Ticket.status != TicketStatus.CLOSED.value, Ticket.due_at <= now + WARN_BEFORE
                )
            )
        ).all()
        warned = set(
            (
                await session.scalars(
                    select(TicketStep.ticket_id).where(
                        TicketStep.ticket_id.in_([t.id for t in tickets]),
                        TicketStep.action == TicketAction.WARNED.value,
                    )
                )
            ).all()
        )
        for ticket in tickets:
            due = escalation_due(
                ticket.due_at,
                now,
                level=ticket.escalation_level,
                warned=ticket.id in warned,
                calendar=calendar,
                tz=tz,
                warn_before=WARN_BEFORE,
            )
            if due is None:
                continue
            deadline = f"{ticket.due_at.astimezone(tz):%Y-%m-%d %H:%M}"
            if due.warning:
                note = f"due {deadline}, less than a day left"
                action = TicketAction.WARNED
            else:
                ticket.escalation_level = due.level
                note = f"overdue since {deadline}, level {due.level}"
                action = TicketAction.ESCALATED
                raised.append((ticket.number or str(ticket.id), due.level))
            session.add(TicketStep(ticket_id=ticket.id, at=now, actor="sla", action=action.value, note=note))
            addresses = await _recipients(session, ticket, supervisors_email)
            await _mail(session, ticket, due, addresses, deadline, now)
    return raised


async def _recipients(session: AsyncSession, ticket: Ticket, supervisors_email: str) -> list[str]:
    addresses = []
    if ticket.team:
        team_email = await session.scalar(select(Team.email).where(Team.name == ticket.team))
        if team_email:
            addresses.append(team_email)
    if supervisors_email:
        addresses.append(supervisors_email)
    return list(dict.fromkeys(addresses))


async def _mail(
    session: AsyncSession,
    ticket: Ticket,
    due: Escalation,
    addresses: Sequence[str],
    deadline: str,
    now: datetime,
) -> None:
    number = ticket.number or str(ticket.id)
    if due.warning:
        subject = f"工单 {number} 即将超时（{deadline} 到期）"
        stage = "warn"
    else:
        subject = f"工单 {number} 已超时，升级至第 {due.level} 级"
        stage = f"level{due.level}"
    body = "\n".join(
        (
            subject,
            f"主题：{ticket.subject}",
            f"类型：{ticket.kind}　节点：{ticket.status}",
            f"处理人：{ticket.assignee or '-'}　班组：{ticket.team or '-'}",
            f"到期：{deadline}",
            f"/tickets/{ticket.id}",
        )
    )
    for address in addresses:
        key = f"escalation:{number}:{stage}:{address}"[:200]
        if await session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)):
            continue
        session.add(
            OutboxMessage(
                dedupe_key=key,
                customer_id=None,
                channel=Channel.EMAIL.value,
                address=address,
                topic=NoticeTopic.ESCALATION.value,
                subject=subject,
                body=body,
                status=OutboxStatus.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
