"""The screen-pop: everything an agent needs as the phone rings, in one call.

Four indexed reads in one session (customer by number with its flags, numbers, recent contacts,
open tickets); the online campaigns and the contact rules come from :class:`CampaignCatalog`, an
in-process copy refreshed every few seconds and at once after an edit made through this process.
A campaign whose target rule fails for the customer is refused on this pop and paused for every
later one (crm.campaigns.record_rule_failure); the card and every other offer are shown as usual.
"""

from __future__ import annotations

import logging
import time as _time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import bindparam, or_, select

from crm import campaigns as campaign_store
from crm.contacts import CONTACT_COLUMNS, contact_summary
from crm.customers import card_from_row, do_not_contact_clause, open_complaint_clause
from crm.db import Database, Reader, utcnow
from crm.kinds import Channel, OfferOutcome, Purpose, Role
from crm.models import Campaign, Contact, Customer, CustomerPhone, OfferPresentation
from crm.phones import try_normalize_phone
from crm.results import ContactSummary, CustomerCard, Eligibility, OfferCard, RefusedOffer, ScreenPop
from crm.rules import CampaignView, ContactPolicy, CustomerFacts, PastContact, Reason, decide_offers
from crm.tickets import load_open_tickets

log = logging.getLogger(__name__)

HISTORY_LIMIT = 200  # contacts read per customer: enough for any cap window and the timeline
OFFER_NOT_MADE = OfferOutcome.NOT_PRESENTED.value
TIMELINE_SHOWN = 10
NEVER = 9999.0


class CampaignCatalog:
    """Online campaigns and enabled contact rules, reloaded at most every ``refresh_s`` seconds."""

    def __init__(self, db: Database, *, refresh_s: float = 5.0, clock: Callable[[], float] = _time.monotonic):
        self._db = db
        self._refresh_s = refresh_s
        self._clock = clock
        self._loaded_at: float | None = None
        self._campaigns: tuple[CampaignView, ...] = ()
        self._policy = ContactPolicy()

    def invalidate(self) -> None:
        self._loaded_at = None

    async def get(self) -> tuple[tuple[CampaignView, ...], ContactPolicy]:
        now = self._clock()
        if self._loaded_at is None or now - self._loaded_at >= self._refresh_s:
            self._campaigns = await campaign_store.online_campaigns(self._db)
            self._policy = await campaign_store.load_policy(self._db)
            self._loaded_at = now
        return self._campaigns, self._policy


_CUSTOMER_BY_PHONE = (
    select(
        Customer.__table__,
        open_complaint_clause(Customer.id).label("complaint"),
        do_not_contact_clause(Customer.id).label("dnc"),
    )
    .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
    .where(CustomerPhone.e164 == bindparam("e164"))
)
_CUSTOMER_BY_ID = select(
    Customer.__table__,
    open_complaint_clause(Customer.id).label("complaint"),
    do_not_contact_clause(Customer.id).label("dnc"),
).where(Customer.id == bindparam("customer_id"))
_PHONES = (
    select(CustomerPhone.e164)
    .where(CustomerPhone.customer_id == bindparam("customer_id"))
    .order_by(CustomerPhone.id)
)
_HISTORY = (
    CONTACT_COLUMNS.where(Contact.customer_id == bindparam("customer_id"))
    .order_by(Contact.at.desc(), Contact.id.desc())
    .limit(HISTORY_LIMIT)
)


# The offers made to a customer, newest first (one shown and not presented was not made).
_OFFERS_MADE = (
    select(
        OfferPresentation.presented_at,
        OfferPresentation.channel,
        OfferPresentation.campaign_id,
        OfferPresentation.contact_id,
        Campaign.kind,
    )
    .join(Campaign, Campaign.id == OfferPresentation.campaign_id)
    .where(
        OfferPresentation.customer_id == bindparam("customer_id"),
        or_(OfferPresentation.outcome.is_(None), OfferPresentation.outcome != OFFER_NOT_MADE),
    )
    .order_by(OfferPresentation.presented_at.desc())
    .limit(HISTORY_LIMIT)
)


async def screen_pop(
    db: Database,
    catalog: CampaignCatalog,
    caller_number: str,
    *,
    tz: tzinfo,
    channel: Channel = Channel.CALL_IN,
    role: Role = Role.AGENT,
    now: datetime | None = None,
) -> ScreenPop:
    now = now or utcnow()
    number = try_normalize_phone(caller_number)
    if number is None:
        return ScreenPop(caller_number, None, None, (), (), (), ())
    async with db.reader() as reader:
        row = await reader.first(_CUSTOMER_BY_PHONE, {"e164": number.e164})
        if row is None:
            return ScreenPop(caller_number, number.e164, None, (), (), (), ())
        card, history, tickets = await _customer_view(reader, row, role, now)
        offered = tuple(await reader.rows(_OFFERS_MADE, {"customer_id": row.id}))
    campaigns, policy = await catalog.get()
    eligibility = _eligibility(card, history, tickets, campaigns, policy, channel, now, tz, row, offered)
    await _disable_failed(db, catalog, eligibility, card.id, now)
    return ScreenPop(
        caller_number=caller_number,
        e164=number.e164,
        customer=card,
        contacts=history[:TIMELINE_SHOWN],
        open_tickets=tickets,
        offers=eligibility.offers,
        refused=eligibility.refused,
    )


async def eligible_offers(
    db: Database,
    catalog: CampaignCatalog,
    customer_id: int,
    channel: Channel,
    *,
    tz: tzinfo,
    now: datetime | None = None,
) -> Eligibility:
    """What this customer may be offered on ``channel`` now, and for every other campaign, why not."""
    now = now or utcnow()
    async with db.reader() as reader:
        row = await reader.first(_CUSTOMER_BY_ID, {"customer_id": customer_id})
        if row is None:
            return Eligibility((), ())
        card, history, tickets = await _customer_view(reader, row, Role.AGENT, now)
        offered = tuple(await reader.rows(_OFFERS_MADE, {"customer_id": row.id}))
    campaigns, policy = await catalog.get()
    eligibility = _eligibility(card, history, tickets, campaigns, policy, channel, now, tz, row, offered)
    await _disable_failed(db, catalog, eligibility, customer_id, now)
    return eligibility


async def _disable_failed(
    db: Database, catalog: CampaignCatalog, eligibility: Eligibility, customer_id: int, now: datetime
) -> None:
    """Pause the campaigns whose target rule failed on this customer. A failure to record it is
    logged, never passed on: the agent still gets the pop."""
    failed = [
        (refused.campaign_id, detail)
        for refused in eligibility.refused
        for reason, detail in refused.reasons
        if reason is Reason.RULE_FAILED
    ]
    for campaign_id, detail in failed:
        fields = {"campaign_id": campaign_id, "customer_id": customer_id, "reason": detail}
        try:
            changed = await campaign_store.record_rule_failure(
                db, campaign_id, detail, now=now, customer_id=customer_id
            )
        except Exception:
            log.exception("campaign_rule_failure_not_recorded", extra={"kv": fields})
            continue
        if changed:
            log.warning("campaign_paused_rule_failed", extra={"kv": fields})
    if failed:
        catalog.invalidate()


async def _customer_view(
    reader: Reader, row: Any, role: Role, now: datetime
) -> tuple[CustomerCard, tuple[ContactSummary, ...], tuple[Any, ...]]:
    params = {"customer_id": row.id}
    phones = tuple(await reader.scalars(_PHONES, params))
    history = tuple(contact_summary(r) for r in await reader.rows(_HISTORY, params))
    tickets = await load_open_tickets(reader, row.id, now)
    card = card_from_row(row, phones, bool(row.dnc), bool(row.complaint), role)
    return card, history, tickets


def _eligibility(
    card: CustomerCard,
    history: Sequence[ContactSummary],
    tickets: Sequence[Any],
    campaigns: Sequence[CampaignView],
    policy: ContactPolicy,
    channel: Channel,
    now: datetime,
    tz: tzinfo,
    customer: Any,
    offered: Sequence[Any] = (),
) -> Eligibility:
    past = tuple(PastContact(c.at, c.channel, c.purpose, c.campaign_id) for c in history)
    facts = CustomerFacts(
        customer_id=card.id,
        consent_marketing=card.consent_marketing,
        consent_sms=card.consent_sms,
        consent_email=card.consent_email,
        do_not_contact=card.do_not_contact,
        has_open_complaint=card.has_open_complaint,
        fields=target_fields(card, past, len(tickets), now, customer.created_at),
    )
    touches = (*past, *offers_made(history, offered))  # the caps count offers made on service calls
    decision = decide_offers(facts, campaigns, touches, policy, channel, now, tz)
    return Eligibility(
        offers=tuple(
            OfferCard(c.id, c.name, c.kind, c.script, c.offer_text, c.questions)  # type: ignore[arg-type]
            for c in decision.offers
        ),
        refused=tuple(
            RefusedOffer(r.campaign.id, r.campaign.name, tuple((x.reason, x.detail) for x in r.refusals))
            for r in decision.refused
        ),
    )


def offers_made(history: Sequence[ContactSummary], offered: Sequence[Any]) -> list[PastContact]:
    """The offers made to the customer as contacts of their campaigns' purpose, for the frequency
    caps: a service call on which an agent presented an offer was also a marketing contact on
    that channel. One call counts once per purpose however many offers it made, and not again
    when its contact is already stored under a campaign of that purpose."""
    stored = {(c.id, c.purpose) for c in history}
    out: list[PastContact] = []
    seen: set[tuple[int, Purpose]] = set()
    for row in offered:
        purpose = Purpose(row.kind)
        if row.contact_id is not None:
            key = (row.contact_id, purpose)
            if key in stored or key in seen:
                continue
            seen.add(key)
        out.append(PastContact(row.presented_at, Channel(row.channel), purpose, row.campaign_id))
    return out


def target_fields(
    card: CustomerCard, past: Sequence[PastContact], open_tickets: int, now: datetime, created_at: datetime
) -> dict[str, object]:
    month_ago = now - timedelta(days=30)
    recent = [c for c in past if c.at > month_ago]
    last = max((c.at for c in past), default=None)
    return {
        "name": card.name,
        "segment": card.segment,
        "vip_level": float(card.vip_level),
        "tags": tuple(card.tags),
        "language": card.language,
        "owner_agent": card.owner_agent or "",
        "consent_marketing": card.consent_marketing,
        "consent_sms": card.consent_sms,
        "consent_email": card.consent_email,
        "has_email": bool(card.email),
        "has_open_complaint": card.has_open_complaint,
        "open_tickets": float(open_tickets),
        "contacts_30d": float(len(recent)),
        "marketing_contacts_30d": float(sum(1 for c in recent if c.purpose is Purpose.MARKETING)),
        "days_since_last_contact": (now - last).total_seconds() / 86400 if last else NEVER,
        "customer_days": (now - created_at).total_seconds() / 86400,
    }
