"""Contacts: every interaction on every channel, and a customer's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import select

from crm.call_surveys import apply_to_contact
from crm.db import Database, utcnow
from crm.kinds import Channel, Purpose
from crm.models import CallSurvey, Campaign, Contact
from crm.reporting.facts import count_contacts, upsert_contact_counts
from crm.results import ContactSummary
from crm.sla import SHANGHAI


@dataclass(frozen=True, slots=True)
class NewContact:
    customer_id: int | None
    channel: Channel
    at: datetime | None = None
    agent: str | None = None
    call_id: str | None = None
    campaign_id: int | None = None
    ticket_id: int | None = None
    disposition: str = ""
    note: str = ""
    queue: str = ""  # the queue a call came through


async def record_contact(db: Database, new: NewContact, *, tz: tzinfo = SHANGHAI) -> int:
    """Store one contact; a campaign contact takes its campaign's kind as its purpose. The
    contact is counted in ``contact_day_counts`` (its local day in ``tz``) in the same transaction."""
    async with db.write() as session:
        purpose = Purpose.SERVICE
        if new.campaign_id is not None:
            kind = await session.scalar(select(Campaign.kind).where(Campaign.id == new.campaign_id))
            if kind is None:
                raise ValueError(f"no campaign {new.campaign_id}")
            purpose = Purpose(kind)
        contact = Contact(
            customer_id=new.customer_id,
            channel=new.channel.value,
            purpose=purpose.value,
            at=new.at or utcnow(),
            agent=new.agent,
            call_id=new.call_id,
            queue=new.queue,
            campaign_id=new.campaign_id,
            ticket_id=new.ticket_id,
            disposition=new.disposition,
            note=new.note,
        )
        session.add(contact)
        await session.flush()
        # The caller may have answered the post-call survey before the agent wrapped up.
        await apply_to_contact(session, contact)
        counted = {
            "at": contact.at,
            "queue": new.queue,
            "channel": contact.channel,
            "purpose": contact.purpose,
            "agent": new.agent,
            "campaign_id": new.campaign_id,
            "disposition": new.disposition,
        }
        await upsert_contact_counts(session, count_contacts([counted], tz), is_sqlite=db.is_sqlite)
        return contact.id


async def timeline(db: Database, customer_id: int, limit: int = 50) -> tuple[ContactSummary, ...]:
    """The customer's contacts, newest first."""
    async with db.read() as session:
        rows = await session.execute(
            CONTACT_COLUMNS.where(Contact.customer_id == customer_id)
            .order_by(Contact.at.desc(), Contact.id.desc())
            .limit(limit)
        )
        return tuple(contact_summary(row) for row in rows)


CONTACT_COLUMNS = select(
    Contact.id,
    Contact.at,
    Contact.channel,
    Contact.purpose,
    Contact.agent,
    Contact.call_id,
    Contact.campaign_id,
    Contact.ticket_id,
    Contact.disposition,
    Contact.note,
    Contact.satisfaction,
    CallSurvey.status.label("survey"),
).outerjoin_from(Contact, CallSurvey, CallSurvey.call_id == Contact.call_id)


def contact_summary(row: object) -> ContactSummary:
    return ContactSummary(
        id=row.id,  # type: ignore[attr-defined]
        at=row.at,  # type: ignore[attr-defined]
        channel=Channel(row.channel),  # type: ignore[attr-defined]
        purpose=Purpose(row.purpose),  # type: ignore[attr-defined]
        agent=row.agent,  # type: ignore[attr-defined]
        call_id=row.call_id,  # type: ignore[attr-defined]
        campaign_id=row.campaign_id,  # type: ignore[attr-defined]
        ticket_id=row.ticket_id,  # type: ignore[attr-defined]
        disposition=row.disposition,  # type: ignore[attr-defined]
        note=row.note,  # type: ignore[attr-defined]
        satisfaction=row.satisfaction,  # type: ignore[attr-defined]
        survey=row.survey or "",  # type: ignore[attr-defined]
    )
