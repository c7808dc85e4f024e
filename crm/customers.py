"""Customers and their phone numbers: create, update, find by any number, the do-not-contact list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from crm.db import Database, utcnow
from crm.errors import DuplicatePhoneNumber, NotFound
from crm.kinds import Role, TicketKind, TicketStatus
from crm.masking import mask_address, mask_id_number
from crm.models import Customer, CustomerPhone, DoNotContact, Ticket
from crm.phones import PhoneNumber, compact, fast_normalize, normalize_phone, try_normalize_phone
from crm.results import CallerMatch, CustomerCard


@dataclass(frozen=True, slots=True)
class NewCustomer:
    name: str
    phones: Sequence[str] = ()
    segment: str = "regular"
    vip_level: int = 0
    tags: Sequence[str] = ()
    consent_marketing: bool = False
    consent_sms: bool = False
    consent_email: bool = False
    language: str = "zh-CN"
    owner_agent: str | None = None
    email: str | None = None
    id_number: str | None = None
    address: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


async def create_customer(db: Database, new: NewCustomer, *, now: datetime | None = None) -> int:
    """Store a customer with its numbers (normalized); raises on a number another customer has."""
    numbers = [normalize_phone(raw) for raw in new.phones]
    async with db.write() as session:
        await refuse_taken_numbers(session, numbers)
        customer = _customer_row(new, now or utcnow())
        customer.phones = [CustomerPhone(e164=n.e164, kind=n.kind.value) for n in unique_numbers(numbers)]
        session.add(customer)
        await session.flush()
        return customer.id


async def add_phone(db: Database, customer_id: int, raw: str) -> str:
    number = normalize_phone(raw)
    async with db.write() as session:
        if await session.get(Customer, customer_id) is None:
            raise NotFound("customer", customer_id)
        await refuse_taken_numbers(session, [number], allow=customer_id)
        owner = await session.scalar(select(CustomerPhone).where(CustomerPhone.e164 == number.e164))
        if owner is None:
            session.add(CustomerPhone(customer_id=customer_id, e164=number.e164, kind=number.kind.value))
    return number.e164


async def update_consent(
    db: Database,
    customer_id: int,
    *,
    marketing: bool | None = None,
    sms: bool | None = None,
    email: bool | None = None,
    now: datetime | None = None,
) -> None:
    async with db.write() as session:
        customer = await session.get(Customer, customer_id)
        if customer is None:
            raise NotFound("customer", customer_id)
        if marketing is not None:
            customer.consent_marketing = marketing
        if sms is not None:
            customer.consent_sms = sms
        if email is not None:
            customer.consent_email = email
        customer.updated_at = now or utcnow()


async def add_to_do_not_contact(
    db: Database,
    *,
    customer_id: int | None = None,
    phone: str | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> None:
    if (customer_id is None) == (phone is None):
        raise ValueError("name either a customer or a phone number")
    e164 = normalize_phone(phone).e164 if phone is not None else None
    async with db.write() as session:
        session.add(DoNotContact(customer_id=customer_id, e164=e164, reason=reason, added_at=now or utcnow()))


async def count_customers(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Customer)) or 0)


async def find_customer_by_phone(db: Database, number: str) -> CallerMatch | None:
    """The customer who owns ``number`` (any format), or None; one indexed query."""
    # The caller IDs of a mainland line take the exact fast path; anything else the full parser.
    phone = fast_normalize(compact(number)) or try_normalize_phone(number)
    if phone is None:
        return None
    row = await db.first(_CALLER_QUERY, {"e164": phone.e164})
    if row is None:
        return None
    return CallerMatch(
        customer_id=row.id,
        name=row.name,
        segment=row.segment,
        vip_level=row.vip_level,
        language=row.language,
        has_open_complaint=bool(row.open_complaint),
        owner_agent=row.owner_agent,
    )


def open_complaint_clause(customer_id_column: object) -> object:
    return exists().where(
        and_(
            Ticket.customer_id == customer_id_column,
            Ticket.kind == TicketKind.COMPLAINT.value,
            Ticket.status != TicketStatus.CLOSED.value,
        )
    )


def do_not_contact_clause(customer_id_column: object) -> object:
    """The customer, or any of their numbers, is on the do-not-contact list."""
    listed = aliased(CustomerPhone)
    return or_(
        exists().where(DoNotContact.customer_id == customer_id_column),
        exists().where(DoNotContact.e164 == listed.e164, listed.customer_id == customer_id_column),
    )


_CALLER_QUERY = (
    select(
        Customer.id,
        Customer.name,
        Customer.segment,
        Customer.vip_level,
        Customer.language,
        Customer.owner_agent,
        open_complaint_clause(Customer.id).label("open_complaint"),
    )
    .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
    .where(CustomerPhone.e164 == bindparam("e164"))
)


async def customer_card(db: Database, customer_id: int, role: Role = Role.AGENT) -> CustomerCard:
    async with db.read() as session:
        card = await load_card(session, customer_id, role)
    if card is None:
        raise NotFound("customer", customer_id)
    return card


async def load_card(session: AsyncSession, customer_id: int, role: Role) -> CustomerCard | None:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        return None
    phones = (
        await session.scalars(
            select(CustomerPhone.e164)
            .where(CustomerPhone.customer_id == customer_id)
            .order_by(CustomerPhone.id)
        )
    ).all()
    flags = (
        await session.execute(
            select(
                open_complaint_clause(customer_id).label("complaint"),
                do_not_contact_clause(customer_id).label("dnc"),
            )
        )
    ).one()
    return card_from_row(customer, tuple(phones), bool(flags.dnc), bool(flags.complaint), role)


def card_from_row(
    customer: Any, phones: tuple[str, ...], dnc: bool, complaint: bool, role: Role
) -> CustomerCard:
    return CustomerCard(
        id=customer.id,
        name=customer.name,
        segment=customer.segment,
        vip_level=customer.vip_level,
        tags=tuple(customer.tags or ()),
        language=customer.language,
        owner_agent=customer.owner_agent,
        consent_marketing=customer.consent_marketing,
        consent_sms=customer.consent_sms,
        consent_email=customer.consent_email,
        phones=phones,
        email=customer.email,
        id_number=mask_id_number(customer.id_number, role),
        address=mask_address(customer.address, role),
        do_not_contact=dnc,
        has_open_complaint=complaint,
    )


def _customer_row(new: NewCustomer, now: datetime) -> Customer:
    return Customer(
        name=new.name,
        segment=new.segment,
        vip_level=new.vip_level,
        tags=list(new.tags),
        consent_marketing=new.consent_marketing,
        consent_sms=new.consent_sms,
        consent_email=new.consent_email,
        language=new.language,
        owner_agent=new.owner_agent,
        email=new.email,
        id_number=new.id_number,
        address=new.address,
        created_at=now,
        updated_at=now,
    )


async def refuse_taken_numbers(
    session: AsyncSession, numbers: Sequence[PhoneNumber], allow: int | None = None
) -> None:
    if not numbers:
        return
    rows = await session.execute(
        select(CustomerPhone.e164, CustomerPhone.customer_id).where(
            CustomerPhone.e164.in_([n.e164 for n in numbers])
        )
    )
    for e164, owner in rows:
        if owner != allow:
            raise DuplicatePhoneNumber(e164, owner)


def unique_numbers(numbers: Sequence[PhoneNumber]) -> list[PhoneNumber]:
    seen: dict[str, PhoneNumber] = {}
    for number in numbers:
        seen.setdefault(number.e164, number)
    return list(seen.values())
