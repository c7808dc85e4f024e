"""A customer's record as the back office keeps it: edit, merge two records of one person, export
everything held on them, erase it on request (PIPL). See docs/customers.md for the choices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.customers import refuse_taken_numbers, unique_numbers
from crm.db import Database, utcnow
from crm.errors import CrmError, NotFound
from crm.models import (
    Answer,
    Contact,
    Customer,
    CustomerPhone,
    DoNotContact,
    OfferPresentation,
    OutboxMessage,
    Subscription,
    Ticket,
    TicketStep,
)
from crm.phones import normalize_phone
from crm.recording_tables import RecordingRow
from crm.reporting.tables import IvrSessionRow, OfferHoldbackRow, QueueLegRow
from crm.restart_state import PendingWrapupRow

ERASED_NAME = "（已删除）"


class CustomerErased(CrmError):
    """The record was erased on request; it cannot be edited, merged or brought back."""

    error_id = "customer_erased"

    def __init__(self, customer_id: int) -> None:
        super().__init__(f"customer {customer_id} was erased on request")
        self.customer_id = customer_id


class SameCustomer(CrmError):
    error_id = "same_customer"


@dataclass(frozen=True, slots=True)
class CustomerChanges:
    """What an edit changes; None leaves a field as it is. ``phones`` replaces the numbers."""

    name: str | None = None
    segment: str | None = None
    vip_level: int | None = None
    tags: Sequence[str] | None = None
    language: str | None = None
    owner_agent: str | None = None
    email: str | None = None
    id_number: str | None = None
    address: str | None = None
    consent_marketing: bool | None = None
    consent_sms: bool | None = None
    consent_email: bool | None = None
    phones: Sequence[str] | None = None


@dataclass(frozen=True, slots=True)
class Sensitive:
    id_number: str | None
    address: str | None


@dataclass(frozen=True, slots=True)
class MergeResult:
    survivor: int
    merged: int
    moved: dict[str, int] = field(default_factory=dict)  # table → rows moved to the survivor


@dataclass(frozen=True, slots=True)
class ErasureResult:
    customer_id: int
    recordings_purged: tuple[int, ...]  # released to the retention purge
    recordings_kept: tuple[tuple[int, str], ...]  # (id, hold reason): under legal hold, kept


async def _live_customer(session: AsyncSession, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("customer", customer_id)
    if customer.erased_at is not None:
        raise CustomerErased(customer_id)
    return customer


async def update_customer(
    db: Database, customer_id: int, changes: CustomerChanges, *, now: datetime | None = None
) -> list[str]:
    """Apply ``changes``; returns the names of the fields that changed (for the audit log)."""
    numbers = None if changes.phones is None else [normalize_phone(raw) for raw in changes.phones]
    changed: list[str] = []
    async with db.write() as session:
        customer = await _live_customer(session, customer_id)
        for name in (
            "name",
            "segment",
            "vip_level",
            "language",
            "owner_agent",
            "email",
            "id_number",
            "address",
            "consent_marketing",
            "consent_sms",
            "consent_email",
        ):
            value = getattr(changes, name)
            if value is not None and getattr(customer, name) != value:
                setattr(customer, name, value if value != "" or name == "name" else None)
                changed.append(name)
        if changes.tags is not None and list(changes.tags) != list(customer.tags or ()):
            customer.tags = list(dict.fromkeys(changes.tags))
            changed.append("tags")
        if numbers is not None:
            wanted = unique_numbers(numbers)
            await refuse_taken_numbers(session, wanted, allow=customer_id)
            have = {
                p.e164: p
                for p in await session.scalars(
                    select(CustomerPhone).where(CustomerPhone.customer_id == customer_id)
                )
            }
            keep = {n.e164 for n in wanted}
            for e164, row in have.items():
                if e164 not in keep:
                    await session.delete(row)
            for number in wanted:
                if number.e164 not in have:
                    session.add(
                        CustomerPhone(customer_id=customer_id, e164=number.e164, kind=number.kind.value)
                    )
            if keep != set(have):
                changed.append("phones")
        if changed:
            customer.updated_at = now or utcnow()
    return changed


async def sensitive_fields(db: Database, customer_id: int) -> Sensitive:
    """The ID number and address in clear, for a role that may see them (the caller audits)."""
    async with db.read() as session:
        customer = await session.get(Customer, customer_id)
        if customer is None:
            raise NotFound("customer", customer_id)
        return Sensitive(customer.id_number, customer.address)


# Where a customer's id appears; merging moves these rows to the survivor.
_OWNED = (
    ("contacts", Contact),
    ("tickets", Ticket),
    ("offer_presentations", OfferPresentation),
    ("answers", Answer),
    ("do_not_contact", DoNotContact),
    ("outbox", OutboxMessage),
    ("recordings", RecordingRow),
    ("queue_legs", QueueLegRow),
    ("ivr_sessions", IvrSessionRow),
    ("offer_holdbacks", OfferHoldbackRow),
    ("pending_wrapups", PendingWrapupRow),
)


async def merge_customers(
    db: Database, survivor_id: int, merged_id: int, *, now: datetime | None = None
) -> MergeResult:
    """Two records of one person become one: the other's numbers, contacts, tickets, offers,
    subscriptions and recordings move to the survivor, whose card fields win; a field the
    survivor left empty takes the other's value; tags are joined, the higher VIP level kept, and
    a consent stays given only if both records gave it. The merged record is deleted."""
    if survivor_id == merged_id:
        raise SameCustomer("a customer cannot be merged into itself")
    moved: dict[str, int] = {}
    async with db.write() as session:
        survivor = await _live_customer(session, survivor_id)
        merged = await _live_customer(session, merged_id)
        result = await session.execute(
            update(CustomerPhone)
            .where(CustomerPhone.customer_id == merged_id)
            .values(customer_id=survivor_id)
        )
        moved["phones"] = result.rowcount or 0  # type: ignore[attr-defined]
        for name, model in _OWNED:
            result = await session.execute(
                update(model).where(model.customer_id == merged_id).values(customer_id=survivor_id)  # type: ignore[attr-defined]
            )
            moved[name] = result.rowcount or 0  # type: ignore[attr-defined]
        have = {
            (s.topic, s.channel)
            for s in await session.scalars(
                select(Subscription).where(Subscription.customer_id == survivor_id)
            )
        }
        moved["subscriptions"] = 0
        for sub in await session.scalars(select(Subscription).where(Subscription.customer_id == merged_id)):
            if (sub.topic, sub.channel) in have:
                await session.delete(sub)
            else:
                sub.customer_id = survivor_id
                moved["subscriptions"] += 1
        for name in ("email", "id_number", "address", "owner_agent"):
            if not getattr(survivor, name) and getattr(merged, name):
                setattr(survivor, name, getattr(merged, name))
        survivor.tags = list(dict.fromkeys([*(survivor.tags or ()), *(merged.tags or ())]))
        survivor.vip_level = max(survivor.vip_level, merged.vip_level)
        survivor.consent_marketing = survivor.consent_marketing and merged.consent_marketing
        survivor.consent_sms = survivor.consent_sms and merged.consent_sms
        survivor.consent_email = survivor.consent_email and merged.consent_email
        survivor.updated_at = now or utcnow()
        await session.flush()
        await session.execute(delete(Customer).where(Customer.id == merged_id))
    return MergeResult(survivor_id, merged_id, moved)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _row_dict(row: Any, *names: str) -> dict[str, Any]:
    return {name: _plain(getattr(row, name)) for name in names}


async def export_customer(db: Database, customer_id: int) -> dict[str, Any]:
    """Everything Hotline holds on one customer, in clear, as JSON-ready values (a PIPL access
    request). Recordings are listed, not included: the audio is fetched one by one."""
    async with db.read() as session:
        customer = await session.get(Customer, customer_id)
        if customer is None:
            raise NotFound("customer", customer_id)

        async def rows(model: Any, *where: Any, order: Any) -> list[Any]:
            return list((await session.scalars(select(model).where(*where).order_by(order))).all())

        tickets = await rows(Ticket, Ticket.customer_id == customer_id, order=Ticket.id)
        steps = await rows(TicketStep, TicketStep.ticket_id.in_([t.id for t in tickets]), order=TicketStep.id)
        presentations = await rows(
            OfferPresentation, OfferPresentation.customer_id == customer_id, order=OfferPresentation.id
        )
        return {
            "customer": _row_dict(
                customer,
                "id",
                "name",
                "segment",
                "vip_level",
                "tags",
                "language",
                "owner_agent",
                "email",
                "id_number",
                "address",
                "consent_marketing",
                "consent_sms",
                "consent_email",
                "created_at",
                "updated_at",
                "erased_at",
            ),
            "phones": [
                _row_dict(p, "e164", "kind")
                for p in await rows(
                    CustomerPhone, CustomerPhone.customer_id == customer_id, order=CustomerPhone.id
                )
            ],
            "subscriptions": [
                _row_dict(s, "topic", "channel", "created_at")
                for s in await rows(
                    Subscription, Subscription.customer_id == customer_id, order=Subscription.id
                )
            ],
            "do_not_contact": [
                _row_dict(d, "e164", "reason", "added_at")
                for d in await rows(
                    DoNotContact, DoNotContact.customer_id == customer_id, order=DoNotContact.id
                )
            ],
            "contacts": [
                _row_dict(
                    c,
                    "id",
                    "at",
                    "channel",
                    "purpose",
                    "agent",
                    "call_id",
                    "queue",
                    "campaign_id",
                    "ticket_id",
                    "disposition",
                    "note",
                )
                for c in await rows(Contact, Contact.customer_id == customer_id, order=Contact.at)
            ],
            "tickets": [
                _row_dict(
                    t,
                    "id",
                    "number",
                    "kind",
                    "status",
                    "subject",
                    "description",
                    "assignee",
                    "team",
                    "queue",
                    "opened_by",
                    "opened_at",
                    "due_at",
                    "resolved_at",
                    "closed_at",
                    "satisfaction",
                    "evaluation",
                )
                | {
                    "steps": [
                        _row_dict(s, "at", "actor", "action", "assignee", "team", "note")
                        for s in steps
                        if s.ticket_id == t.id
                    ]
                }
                for t in tickets
            ],
            "offers": [
                _row_dict(p, "id", "campaign_id", "channel", "agent", "presented_at", "outcome", "outcome_at")
                for p in presentations
            ],
            "answers": [
                _row_dict(
                    a,
                    "presentation_id",
                    "question_id",
                    "value_text",
                    "value_number",
                    "value_choices",
                    "answered_at",
                )
                for a in await rows(Answer, Answer.customer_id == customer_id, order=Answer.id)
            ],
            "notices": [
                _row_dict(
                    n, "channel", "address", "topic", "subject", "body", "status", "created_at", "sent_at"
                )
                for n in await rows(
                    OutboxMessage, OutboxMessage.customer_id == customer_id, order=OutboxMessage.id
                )
            ],
            "recordings": [
                _row_dict(
                    r,
                    "id",
                    "call_id",
                    "started_at",
                    "duration_s",
                    "agent",
                    "held",
                    "hold_reason",
                    "retain_until",
                )
                for r in await rows(
                    RecordingRow, RecordingRow.customer_id == customer_id, order=RecordingRow.id
                )
            ],
        }


async def erase_customer(db: Database, customer_id: int, *, now: datetime | None = None) -> ErasureResult:
    """Erase the person's data on request. What identifies them goes: name, numbers, e-mail, ID
    number, address, tags, the notes and texts of their contacts, tickets and answers, the
    subscriptions and the notices not yet sent. What the reports counted stays, anonymous: the
    contacts' channels, times and dispositions, the tickets' kinds, times and scores. Recordings
    are released to the retention purge, except those under legal hold, which are kept and said
    so. A do-not-contact entry stays: it is how their objection is honoured."""
    now = now or utcnow()
    async with db.write() as session:
        customer = await _live_customer(session, customer_id)
        customer.name = ERASED_NAME
        customer.tags = []
        customer.email = customer.id_number = customer.address = customer.owner_agent = None
        customer.consent_marketing = customer.consent_sms = customer.consent_email = False
        customer.erased_at = customer.updated_at = now
        await session.execute(delete(CustomerPhone).where(CustomerPhone.customer_id == customer_id))
        await session.execute(delete(Subscription).where(Subscription.customer_id == customer_id))
        await session.execute(update(Contact).where(Contact.customer_id == customer_id).values(note=""))
        ticket_ids = select(Ticket.id).where(Ticket.customer_id == customer_id)
        await session.execute(
            update(Ticket)
            .where(Ticket.customer_id == customer_id)
            .values(subject=ERASED_NAME, description="", evaluation=None)
        )
        await session.execute(update(TicketStep).where(TicketStep.ticket_id.in_(ticket_ids)).values(note=""))
        await session.execute(update(Answer).where(Answer.customer_id == customer_id).values(value_text=None))
        await session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.customer_id == customer_id, OutboxMessage.sent_at.is_(None)
            )
        )
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.customer_id == customer_id).values(address="", body="")
        )
        for model in (QueueLegRow, IvrSessionRow):
            await session.execute(
                update(model).where(model.customer_id == customer_id).values(caller="", customer_id=None)
            )
        await session.execute(
            update(OfferHoldbackRow)
            .where(OfferHoldbackRow.customer_id == customer_id)
            .values(customer_id=None)
        )
        purged: list[int] = []
        kept: list[tuple[int, str]] = []
        for recording in await session.scalars(
            select(RecordingRow).where(RecordingRow.customer_id == customer_id)
        ):
            if recording.held:
                kept.append((recording.id, recording.hold_reason))
            else:
                recording.retain_until = now
                recording.number = ""
                purged.append(recording.id)
    return ErasureResult(customer_id, tuple(purged), tuple(kept))
