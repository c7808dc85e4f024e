"""The ticket list's filters, the in-progress node, and the SLA clock's warnings and mails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.customers import NewCustomer, create_customer
from crm.errors import InvalidTransition
from crm.kinds import NoticeTopic, TeamKind, TicketAction, TicketKind, TicketStatus
from crm.models import OutboxMessage
from crm.service import Crm
from crm.sla import SHANGHAI, SlaState
from crm.teams import save_team, teams_of
from crm.ticket_board import TicketFilter, list_tickets, ticket_detail
from crm.tickets import NewTicket, assign_ticket, start_ticket

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai


async def _tickets(crm: Crm) -> tuple[int, int, int]:
    customer = await create_customer(crm.db, NewCustomer("李雷", phones=["13800138000"]))
    a = await crm.open_ticket(
        NewTicket(customer, TicketKind.COMPLAINT, "装机迟到", opened_by="8001", queue="support"), now=NOW
    )
    b = await crm.open_ticket(
        NewTicket(customer, TicketKind.FIELD_DISPATCH, "上门维修", opened_by="8001", team="field-east"),
        now=NOW - timedelta(days=6),
    )
    c = await crm.open_ticket(
        NewTicket(customer, TicketKind.CONSULTATION, "资费咨询", opened_by="8002", assignee="8002"),
        now=NOW - timedelta(days=4),
    )
    return a.id, b.id, c.id


async def test_the_list_filters_by_person_team_node_kind_queue_and_deadline(crm: Crm) -> None:
    a, b, c = await _tickets(crm)

    async def ids(**kw: object) -> list[int]:
        rows, total = await list_tickets(crm.db, TicketFilter(**kw), now=NOW, tz=SHANGHAI)  # type: ignore[arg-type]
        assert total == len(rows)
        return [r.id for r in rows]

    assert await ids() == [b, c, a]  # soonest due first
    assert await ids(assignee="8002") == [c]
    assert await ids(teams=("field-east",)) == [b]
    assert await ids(status=TicketStatus.OPEN) == [a]
    assert await ids(kind=TicketKind.FIELD_DISPATCH) == [b]
    assert await ids(queue="support") == [a]
    assert await ids(overdue=True) == [b]
    assert await ids(due_today=True) == [c]
    assert await ids(text="维修") == [b]
    rows, _ = await list_tickets(crm.db, TicketFilter(), now=NOW, tz=SHANGHAI)
    assert [r.sla for r in rows] == [SlaState.OVERDUE, SlaState.DUE_SOON, SlaState.ON_TIME]
    assert rows[0].customer_name == "李雷"


async def test_a_ticket_sent_to_a_team_becomes_the_members_when_they_take_it_up(crm: Crm) -> None:
    _, b, _ = await _tickets(crm)
    await save_team(crm.db, "field-east", kind=TeamKind.FIELD, members=["tech1"], create=True)
    assert await teams_of(crm.db, "tech1") == ("field-east",)
    await start_ticket(crm.db, b, actor="tech1", now=NOW)
    detail = await ticket_detail(crm.db, b, now=NOW)
    assert (detail.ticket.status, detail.ticket.assignee) == (TicketStatus.IN_PROGRESS, "tech1")
    assert [s.action for s in detail.steps] == [
        TicketAction.OPENED,
        TicketAction.ASSIGNED,
        TicketAction.STARTED,
    ]
    assert detail.steps[1].team == "field-east"
    with pytest.raises(InvalidTransition):
        await start_ticket(crm.db, b, actor="tech1", now=NOW)
    await assign_ticket(crm.db, b, "tech2", actor="sup", now=NOW)
    assert (await ticket_detail(crm.db, b, now=NOW)).ticket.status is TicketStatus.ASSIGNED


async def test_a_ticket_is_warned_a_day_before_its_deadline_and_escalated_after_it_by_mail(crm: Crm) -> None:
    customer = await create_customer(crm.db, NewCustomer("韩梅梅", phones=["13700000000"]))
    await save_team(crm.db, "desk", email="desk@example.cn", create=True)
    ref = await crm.open_ticket(
        NewTicket(customer, TicketKind.COMPLAINT, "投诉", opened_by="8001", team="desk"), now=NOW
    )
    crm.escalation_email = "sup@example.cn"
    assert await crm.escalate_overdue(now=ref.due_at - timedelta(days=2)) == []
    assert await crm.escalate_overdue(now=ref.due_at - timedelta(hours=20)) == []
    assert await crm.escalate_overdue(now=ref.due_at - timedelta(hours=19)) == []  # warned once only
    assert await crm.escalate_overdue(now=ref.due_at + timedelta(hours=1)) == [(ref.number, 1)]
    rows, _ = await list_tickets(crm.db, TicketFilter(escalated=True), now=NOW, tz=SHANGHAI)
    assert [r.id for r in rows] == [ref.id]
    async with crm.db.read() as session:
        mails = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert [(m.address, m.topic) for m in mails] == [
        ("desk@example.cn", NoticeTopic.ESCALATION),
        ("sup@example.cn", NoticeTopic.ESCALATION),
        ("desk@example.cn", NoticeTopic.ESCALATION),
        ("sup@example.cn", NoticeTopic.ESCALATION),
    ]
    assert "即将超时" in mails[0].subject and "第 1 级" in mails[2].subject
    detail = await ticket_detail(crm.db, ref.id, now=NOW)
    assert [s.action for s in detail.steps][-2:] == [TicketAction.WARNED, TicketAction.ESCALATED]
