from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.contacts import timeline
from crm.customers import NewCustomer, create_customer
from crm.errors import InvalidTransition, TicketNotClosable
from crm.kinds import Channel, TicketAction, TicketKind, TicketStatus
from crm.service import Crm
from crm.sla import SHANGHAI, SlaState
from crm.tickets import (
    NewTicket,
    add_ticket_note,
    assign_ticket,
    close_ticket,
    record_evaluation,
    record_follow_up,
    reopen_ticket,
    resolve_ticket,
    ticket_history,
)

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai


async def customer(crm: Crm) -> int:
    return await create_customer(crm.db, NewCustomer(name="王芳", phones=["13800138000"]))


async def test_a_ticket_is_due_three_working_days_after_it_opens(crm: Crm) -> None:
    ref = await crm.open_ticket(
        NewTicket(await customer(crm), TicketKind.COMPLAINT, "装机迟到", opened_by="8001")
    )
    assert ref.due_at == datetime(2026, 11, 24, 0, 0, tzinfo=SHANGHAI)
    assert ref.number == "T261118000001"
    assert ref.due_estimated is False


async def test_every_processing_step_is_stored_with_who_what_to_whom_and_when(crm: Crm) -> None:
    ref = await crm.open_ticket(
        NewTicket(
            await customer(crm),
            TicketKind.COMPLAINT,
            "装机迟到",
            opened_by="8001",
            description="约了上午没来",
        )
    )
    minute = timedelta(minutes=1)
    await assign_ticket(crm.db, ref.id, "field-team-3", actor="sup-01", note="派单", now=NOW + minute)
    await add_ticket_note(crm.db, ref.id, "已联系师傅", actor="field-team-3", now=NOW + 2 * minute)
    await resolve_ticket(crm.db, ref.id, actor="field-team-3", note="已上门安装", now=NOW + 3 * minute)
    await record_follow_up(crm.db, ref.id, 4, agent="8002", call_id="1763431200.7", now=NOW + 4 * minute)
    await close_ticket(crm.db, ref.id, actor="8002", now=NOW + 5 * minute)

    steps = await ticket_history(crm.db, ref.id)
    assert [(s.action, s.actor, s.assignee) for s in steps] == [
        (TicketAction.OPENED, "8001", None),
        (TicketAction.ASSIGNED, "sup-01", "field-team-3"),
        (TicketAction.NOTE, "field-team-3", None),
        (TicketAction.RESOLVED, "field-team-3", None),
        (TicketAction.FOLLOWED_UP, "8002", None),
        (TicketAction.CLOSED, "8002", None),
    ]
    assert [s.at for s in steps] == [NOW + i * minute for i in range(6)]
    assert steps[0].note == "约了上午没来"
    assert steps[4].note.startswith("satisfaction 4")
    status = await crm.ticket_status(ref.number)
    assert status is not None
    assert (status.status, status.sla, status.last_action) == (TicketStatus.CLOSED, SlaState.MET, "closed")


async def test_a_ticket_cannot_close_without_an_evaluation_or_a_scored_follow_up(crm: Crm) -> None:
    ref = await crm.open_ticket(
        NewTicket(await customer(crm), TicketKind.CONSULTATION, "资费咨询", opened_by="8001")
    )
    await resolve_ticket(crm.db, ref.id, actor="8001", note="已解答")
    with pytest.raises(TicketNotClosable, match="satisfaction"):
        await close_ticket(crm.db, ref.id, actor="8001")
    await record_follow_up(crm.db, ref.id, None, agent="8002", note="无人接听")
    with pytest.raises(TicketNotClosable):
        await close_ticket(crm.db, ref.id, actor="8001")
    await record_evaluation(crm.db, ref.id, 5, comment="很满意")
    await close_ticket(crm.db, ref.id, actor="8001")
    with pytest.raises(InvalidTransition):
        await assign_ticket(crm.db, ref.id, "8003", actor="sup-01")


async def test_a_follow_up_call_is_recorded_as_a_contact_on_the_ticket(crm: Crm) -> None:
    customer_id = await customer(crm)
    ref = await crm.open_ticket(
        NewTicket(customer_id, TicketKind.SERVICE_REQUEST, "改套餐", opened_by="8001")
    )
    await record_follow_up(crm.db, ref.id, 3, agent="8002", call_id="abc")
    [contact] = await timeline(crm.db, customer_id)
    assert (contact.channel, contact.ticket_id, contact.call_id) == (Channel.CALL_OUT, ref.id, "abc")


async def test_a_reopened_ticket_needs_a_new_score_to_close_again(crm: Crm) -> None:
    ref = await crm.open_ticket(
        NewTicket(await customer(crm), TicketKind.COMPLAINT, "网速慢", opened_by="8001")
    )
    await record_evaluation(crm.db, ref.id, 2)
    await close_ticket(crm.db, ref.id, actor="8001")
    await reopen_ticket(crm.db, ref.id, actor="8001", note="客户再次来电")
    with pytest.raises(TicketNotClosable):
        await close_ticket(crm.db, ref.id, actor="8001")


async def test_overdue_tickets_escalate_once_per_working_day_with_a_step_each_time(crm: Crm) -> None:
    ref = await crm.open_ticket(
        NewTicket(await customer(crm), TicketKind.COMPLAINT, "装机迟到", opened_by="8001")
    )
    assert await crm.escalate_overdue(now=ref.due_at - timedelta(minutes=1)) == []
    assert await crm.escalate_overdue(now=ref.due_at + timedelta(hours=9)) == [(ref.number, 1)]
    assert await crm.escalate_overdue(now=ref.due_at + timedelta(hours=10)) == []
    assert await crm.escalate_overdue(now=ref.due_at + timedelta(days=1, hours=9)) == [(ref.number, 2)]
    steps = await ticket_history(crm.db, ref.id)
    assert [s.action for s in steps].count(TicketAction.ESCALATED) == 2
    later = Crm(crm.db, clock=lambda: ref.due_at + timedelta(days=2))
    status = await later.ticket_status(ref.number.lower())
    assert status is not None and status.sla is SlaState.OVERDUE


async def test_an_unknown_ticket_number_is_none_not_an_error(crm: Crm) -> None:
    assert await crm.ticket_status("T000000999999") is None


async def test_satisfaction_outside_one_to_five_is_refused(crm: Crm) -> None:
    ref = await crm.open_ticket(NewTicket(await customer(crm), TicketKind.COMPLAINT, "x", opened_by="8001"))
    with pytest.raises(ValueError, match="1 to 5"):
        await record_evaluation(crm.db, ref.id, 9)
