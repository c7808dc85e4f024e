"""Customer search, timeline, edit, merge, export and erasure, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm import recordings
from crm.contacts import NewContact, record_contact
from crm.customer_records import (
    ERASED_NAME,
    CustomerChanges,
    CustomerErased,
    erase_customer,
    export_customer,
    merge_customers,
    update_customer,
)
from crm.customer_search import search_customers
from crm.customer_timeline import customer_timeline
from crm.customers import NewCustomer, create_customer
from crm.errors import DuplicatePhoneNumber
from crm.kinds import Channel, NoticeTopic, TicketKind
from crm.models import Customer, CustomerPhone, Ticket
from crm.notices import subscribe
from crm.recording_tables import NewRecording
from crm.service import Crm
from crm.tickets import NewTicket, assign_ticket

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


async def _two(crm: Crm) -> tuple[int, int]:
    first = await create_customer(
        crm.db,
        NewCustomer("王芳", phones=["13800138000", "010-6552 9988"], email="wf@example.cn", consent_sms=True),
    )
    second = await create_customer(
        crm.db, NewCustomer("王 芳", phones=["13912345678"], id_number="110105199001011234", tags=["宽带"])
    )
    return first, second


async def test_a_customer_is_found_by_name_any_part_of_a_number_or_a_ticket_number(crm: Crm) -> None:
    first, second = await _two(crm)
    ref = await crm.open_ticket(NewTicket(second, TicketKind.FIELD_DISPATCH, "上门安装", opened_by="8001"))
    assert [h.id for h in await search_customers(crm.db, "王芳")] == [first]
    assert [(h.id, h.matched) for h in await search_customers(crm.db, "0013")] == [(first, "phone")]
    assert [h.id for h in await search_customers(crm.db, "6552-99")] == [first]
    assert [h.id for h in await search_customers(crm.db, "010 6552")] == [first]
    [hit] = await search_customers(crm.db, ref.number.lower())
    assert (hit.id, hit.matched, hit.open_tickets) == (second, "ticket", 1)
    assert [h.id for h in await search_customers(crm.db, ref.number[1:])] == [second]
    assert await search_customers(crm.db, "%") == ()
    assert await search_customers(crm.db, "   ") == ()


async def test_an_edit_changes_the_card_and_replaces_the_numbers(crm: Crm) -> None:
    first, _ = await _two(crm)
    changed = await update_customer(
        crm.db, first, CustomerChanges(name="王芳芳", vip_level=3, phones=["13800138000", "13700000001"])
    )
    assert changed == ["name", "vip_level", "phones"]
    async with crm.db.read() as session:
        phones = (
            await session.scalars(select(CustomerPhone.e164).where(CustomerPhone.customer_id == first))
        ).all()
    assert sorted(phones) == ["+8613700000001", "+8613800138000"]
    with pytest.raises(DuplicatePhoneNumber):
        await update_customer(crm.db, first, CustomerChanges(phones=["13912345678"]))
    assert await update_customer(crm.db, first, CustomerChanges(name="王芳芳")) == []


async def test_merging_moves_numbers_contacts_tickets_and_subscriptions_to_the_survivor(crm: Crm) -> None:
    first, second = await _two(crm)
    await record_contact(crm.db, NewContact(second, Channel.CALL_IN, at=NOW, agent="8001", note="报修"))
    await crm.open_ticket(NewTicket(second, TicketKind.COMPLAINT, "网速慢", opened_by="8001"))
    await subscribe(crm.db, second, NoticeTopic.TICKET_PROGRESS, Channel.SMS)
    await subscribe(crm.db, first, NoticeTopic.TICKET_PROGRESS, Channel.SMS)
    result = await merge_customers(crm.db, first, second)
    assert result.moved["phones"] == 1 and result.moved["contacts"] == 1 and result.moved["tickets"] == 1
    async with crm.db.read() as session:
        survivor = await session.get(Customer, first)
        assert await session.get(Customer, second) is None
        owners = set((await session.scalars(select(Ticket.customer_id))).all())
    assert survivor is not None
    assert survivor.id_number == "110105199001011234" and survivor.tags == ["宽带"]
    assert survivor.email == "wf@example.cn"
    assert survivor.consent_sms is False  # only one of the two records gave it
    assert owners == {first}
    assert [h.id for h in await search_customers(crm.db, "13912345678")] == [first]


async def test_the_timeline_holds_contacts_ticket_steps_and_the_calls_recording(crm: Crm) -> None:
    first, _ = await _two(crm)
    ref = await crm.open_ticket(
        NewTicket(first, TicketKind.SERVICE_REQUEST, "报修", opened_by="8001"), now=NOW
    )
    await assign_ticket(crm.db, ref.id, None, team="field-east", actor="sup", now=NOW + timedelta(minutes=1))
    await record_contact(
        crm.db,
        NewContact(
            first,
            Channel.CALL_IN,
            at=NOW - timedelta(minutes=1),
            agent="8001",
            call_id="c1",
            ticket_id=ref.id,
        ),
    )
    recording_id = await recordings.add_recording(
        crm.db,
        NewRecording(call_id="c1", channel="PJSIP/1001-1", spool_path="c1.wav", started_at=NOW),
    )
    entries = await customer_timeline(crm.db, first)
    assert [(e.kind, e.action) for e in entries] == [
        ("ticket", "assigned"),
        ("ticket", "opened"),
        ("contact", ""),
    ]
    contact = entries[-1]
    assert (contact.recording_id, contact.ticket_number) == (recording_id, ref.number)
    assert "field-east" in entries[0].note


async def test_an_erased_customer_keeps_the_figures_and_the_held_recordings_only(crm: Crm) -> None:
    first, _ = await _two(crm)
    await crm.open_ticket(
        NewTicket(first, TicketKind.COMPLAINT, "态度差", opened_by="8001", description="细节")
    )
    await record_contact(
        crm.db, NewContact(first, Channel.CALL_IN, at=NOW, agent="8001", call_id="c2", note="x")
    )
    kept = await recordings.add_recording(crm.db, NewRecording("c2", "c2.wav", NOW))
    freed = await recordings.add_recording(crm.db, NewRecording("c3", "c3.wav", NOW))
    for recording_id in (kept, freed):
        await recordings.update_recording(crm.db, recording_id, customer_id=first)
    await recordings.set_hold(crm.db, kept, held=True, reason="诉讼 2026-17", by="sup")
    exported = await export_customer(crm.db, first)
    assert exported["customer"]["email"] == "wf@example.cn" and len(exported["phones"]) == 2
    assert exported["tickets"][0]["steps"][0]["action"] == "opened"
    result = await erase_customer(crm.db, first, now=NOW)
    assert result.recordings_kept == ((kept, "诉讼 2026-17"),) and result.recordings_purged == (freed,)
    after = await export_customer(crm.db, first)
    assert after["customer"]["name"] == ERASED_NAME and after["customer"]["email"] is None
    assert after["phones"] == [] and after["contacts"][0]["note"] == ""
    assert after["tickets"][0]["subject"] == ERASED_NAME and after["tickets"][0]["kind"] == "complaint"
    assert await search_customers(crm.db, "王芳") == ()
    with pytest.raises(CustomerErased):
        await update_customer(crm.db, first, CustomerChanges(name="x"))
