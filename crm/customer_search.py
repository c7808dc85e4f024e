"""Finding a customer the way a desk does: by name, any part of any of their numbers, or the
number of one of their tickets or service orders (a field-dispatch ticket's number, with or
without its leading ``T``, as the IVR reads it). Erased customers are not found.

Names and digit fragments are matched with LIKE, which scans: fine at the size of a center's
customer base (the documented site has 40,000), and bounded by ``limit``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from crm.db import Database
from crm.kinds import TicketStatus
from crm.models import Customer, CustomerPhone, Ticket

_TICKET_NUMBER = re.compile(r"T?[0-9]{12}")
_PHONE_PART = re.compile(r"\+?[0-9][0-9 \-()]{1,30}")


@dataclass(frozen=True, slots=True)
class CustomerHit:
    id: int
    name: str
    segment: str
    vip_level: int
    phones: tuple[str, ...]
    open_tickets: int
    matched: str  # "name", "phone" or "ticket"


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def search_customers(db: Database, text: str, *, limit: int = 50) -> tuple[CustomerHit, ...]:
    text = text.strip()
    if not text:
        return ()
    matched: dict[int, str] = {}
    async with db.read() as session:
        compact = re.sub(r"[\s\-()]", "", text)
        if _TICKET_NUMBER.fullmatch(compact.upper()):
            number = compact.upper()
            number = number if number.startswith("T") else "T" + number
            for customer_id in await session.scalars(
                select(Ticket.customer_id).where(Ticket.number == number)
            ):
                matched.setdefault(customer_id, "ticket")
        if _PHONE_PART.fullmatch(text) and len(compact.lstrip("+")) >= 3:
            digits = compact.lstrip("+")
            parts = {digits}
            if digits.startswith("0") and len(digits) > 3:
                parts.add(digits[1:])  # a landline's trunk 0 is not in its E.164 form
            clause = or_(*(CustomerPhone.e164.like(_like(p), escape="\\") for p in parts))
            for customer_id in await session.scalars(
                select(CustomerPhone.customer_id).where(clause).distinct().limit(limit)
            ):
                matched.setdefault(customer_id, "phone")
        for customer_id in await session.scalars(
            select(Customer.id)
            .where(Customer.name.like(_like(text), escape="\\"), Customer.erased_at.is_(None))
            .order_by(Customer.id)
            .limit(limit)
        ):
            matched.setdefault(customer_id, "name")
        ids = list(matched)[:limit]
        if not ids:
            return ()
        customers = (
            await session.scalars(select(Customer).where(Customer.id.in_(ids), Customer.erased_at.is_(None)))
        ).all()
        phones: dict[int, list[str]] = {}
        for customer_id, e164 in await session.execute(
            select(CustomerPhone.customer_id, CustomerPhone.e164)
            .where(CustomerPhone.customer_id.in_(ids))
            .order_by(CustomerPhone.id)
        ):
            phones.setdefault(customer_id, []).append(e164)
        open_counts = dict(
            (
                await session.execute(
                    select(Ticket.customer_id, func.count())
                    .where(Ticket.customer_id.in_(ids), Ticket.status != TicketStatus.CLOSED.value)
                    .group_by(Ticket.customer_id)
                )
            ).all()
        )
    by_id = {c.id: c for c in customers}
    return tuple(
        CustomerHit(
            id=c.id,
            name=c.name,
            segment=c.segment,
            vip_level=c.vip_level,
            phones=tuple(phones.get(c.id, ())),
            open_tickets=int(open_counts.get(c.id, 0)),
            matched=matched[c.id],
        )
        for c in (by_id[i] for i in ids if i in by_id)
    )
