"""Customer routes: search, the customer's page and timeline, create, edit, merge, the sensitive
fields unmasked (audited), export and erasure on request (docs/customers.md).

Who may do what: agents, supervisors and administrators search, open, create and edit; the ID
number and address come masked to everyone, and supervisors and administrators may unmask them,
each time audited; supervisors and administrators merge and export; administrators erase.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import select

from agent_api.context import audit, require, services
from agent_api.crm_errors import crm_errors
from agent_api.customers.schemas import (
    AnswerOut,
    CardOut,
    CustomerHitOut,
    CustomerIn,
    CustomerPage,
    CustomerPatch,
    EraseBody,
    ErasureOut,
    ExportOut,
    KeptRecording,
    MergeBody,
    MergeOut,
    SearchQuery,
    SearchResult,
    SensitiveOut,
    SubscriptionOut,
    Timeline,
    TimelineEntryOut,
    TimelineQuery,
)
from agent_api.errors import NotFoundError
from agent_api.openapi import endpoint
from agent_api.security import Principal, Role
from agent_api.tickets.access import STAFF, SUPERVISORS, desk
from agent_api.tickets.http import row_out
from crm import customer_records, customers
from crm.customer_search import search_customers
from crm.customer_timeline import customer_timeline
from crm.models import Customer, Subscription
from crm.ticket_board import TicketFilter, list_tickets

CUSTOMER_ID = {"customer_id": "integer"}


@endpoint(
    "GET",
    "/api/customers",
    summary="Find customers by name, any part of a number, or a ticket's or service order's number",
    roles=STAFF,
    query=SearchQuery,
    response=SearchResult,
    tag="customers",
)
async def find_customers(
    request: web.Request, principal: Principal | None, query: SearchQuery
) -> SearchResult:
    hits = await search_customers(services(request).db, query.q, limit=query.limit)
    return SearchResult(customers=[CustomerHitOut.model_validate(h, from_attributes=True) for h in hits])


async def customer_page(request: web.Request, customer_id: int) -> CustomerPage:
    """The card as an agent sees it (masked), consents and subscriptions, open and past tickets."""
    db = services(request).db
    crm = desk(request)
    async with db.read() as session:
        card = await customers.load_card(session, customer_id, Role.AGENT)
        if card is None:
            raise NotFoundError(f"no customer {customer_id}")
        erased_at = await session.scalar(select(Customer.erased_at).where(Customer.id == customer_id))
        subscriptions = (
            await session.scalars(
                select(Subscription).where(Subscription.customer_id == customer_id).order_by(Subscription.id)
            )
        ).all()
    rows, _ = await list_tickets(
        db, TicketFilter(customer_id=customer_id, include_closed=True, limit=500), now=crm.clock(), tz=crm.tz
    )
    return CustomerPage(
        card=CardOut.model_validate(card, from_attributes=True),
        erased_at=erased_at,
        subscriptions=[
            SubscriptionOut(topic=s.topic, channel=s.channel, since=s.created_at) for s in subscriptions
        ],
        open_tickets=[row_out(r) for r in rows if r.closed_at is None],
        past_tickets=[
            row_out(r) for r in sorted(rows, key=lambda r: r.opened_at, reverse=True) if r.closed_at
        ],
    )


@endpoint(
    "POST",
    "/api/customers",
    summary="Create a customer (from the screen-pop of an unknown caller: the number filled in)",
    roles=STAFF,
    body=CustomerIn,
    response=CustomerPage,
    tag="customers",
)
async def create_customer(
    request: web.Request, principal: Principal | None, body: CustomerIn
) -> CustomerPage:
    me = require(principal)
    with crm_errors():
        customer_id = await customers.create_customer(
            services(request).db,
            customers.NewCustomer(
                name=body.name.strip(),
                phones=body.phones,
                segment=body.segment,
                vip_level=body.vip_level,
                tags=body.tags,
                language=body.language,
                email=body.email or None,
                id_number=body.id_number or None,
                address=body.address or None,
                consent_marketing=body.consent_marketing,
                consent_sms=body.consent_sms,
                consent_email=body.consent_email,
            ),
            now=desk(request).clock(),
        )
    await audit(request, me.username, "customer-create", str(customer_id))
    return await customer_page(request, customer_id)


@endpoint(
    "GET",
    "/api/customers/{customer_id}",
    summary="A customer's card (sensitive fields masked), subscriptions, open and past tickets",
    roles=STAFF,
    response=CustomerPage,
    tag="customers",
    path_types=CUSTOMER_ID,
)
async def get_customer(request: web.Request, principal: Principal | None, customer_id: int) -> CustomerPage:
    return await customer_page(request, customer_id)


@endpoint(
    "PATCH",
    "/api/customers/{customer_id}",
    summary="Edit a customer: the fields sent change (the numbers are replaced as a whole)",
    roles=STAFF,
    body=CustomerPatch,
    response=CustomerPage,
    tag="customers",
    path_types=CUSTOMER_ID,
)
async def edit_customer(
    request: web.Request, principal: Principal | None, customer_id: int, body: CustomerPatch
) -> CustomerPage:
    me = require(principal)
    sent = body.model_dump(exclude_unset=True)
    with crm_errors():
        changed = await customer_records.update_customer(
            services(request).db,
            customer_id,
            customer_records.CustomerChanges(**{k: v for k, v in sent.items() if v is not None}),
            now=desk(request).clock(),
        )
    if changed:
        await audit(request, me.username, "customer-edit", str(customer_id), fields=changed)
    return await customer_page(request, customer_id)


@endpoint(
    "GET",
    "/api/customers/{customer_id}/timeline",
    summary="Every contact on every channel, offers, ticket steps and notices, newest first",
    roles=STAFF,
    query=TimelineQuery,
    response=Timeline,
    tag="customers",
    path_types=CUSTOMER_ID,
)
async def get_timeline(
    request: web.Request, principal: Principal | None, customer_id: int, query: TimelineQuery
) -> Timeline:
    entries = await customer_timeline(services(request).db, customer_id, limit=query.limit)
    return Timeline(
        entries=[
            TimelineEntryOut(
                at=e.at,
                kind=e.kind,
                channel=e.channel,
                agent=e.agent,
                disposition=e.disposition,
                note=e.note,
                call_id=e.call_id,
                recording_id=e.recording_id,
                ticket_id=e.ticket_id,
                ticket_number=e.ticket_number,
                action=e.action,
                campaign_id=e.campaign_id,
                campaign_name=e.campaign_name,
                outcome=e.outcome,
                answers=[AnswerOut(question=q, answer=a) for q, a in e.answers],
                subject=e.subject,
                status=e.status,
                satisfaction=e.satisfaction,
                survey=e.survey,
            )
            for e in entries
        ]
    )


@endpoint(
    "POST",
    "/api/customers/{customer_id}/unmask",
    summary="The ID number and address in clear, for supervisors and administrators (audited)",
    roles=SUPERVISORS,
    response=SensitiveOut,
    tag="customers",
    path_types=CUSTOMER_ID,
)
async def unmask_customer(
    request: web.Request, principal: Principal | None, customer_id: int
) -> SensitiveOut:
    me = require(principal)
    with crm_errors():
        sensitive = await customer_records.sensitive_fields(services(request).db, customer_id)
    await audit(request, me.username, "customer-unmask", str(customer_id), fields=["id_number", "address"])
    return SensitiveOut(id_number=sensitive.id_number, address=sensitive.address)


@endpoint(
    "POST",
    "/api/customers/{customer_id}/merge",
    summary="Merge another record of the same person into this one (the other is deleted; audited)",
    roles=SUPERVISORS,
    body=MergeBody,
    response=MergeOut,
    tag="customers",
    path_types=CUSTOMER_ID,
)
async def merge_customer(
    request: web.Request, principal: Principal | None, customer_id: int, body: MergeBody
) -> MergeOut:
    me = require(principal)
    with crm_errors():
        result = await customer_records.merge_customers(
            services(request).db, customer_id, body.other_id, now=desk(request).clock()
        )
    await audit(
        request, me.username, "customer-merge", str(customer_id), merged=body.other_id, moved=result.moved
    )
    return MergeOut(survivor=result.survivor, merged=result.merged, moved=result.moved)


@endpoint(
    "GET",
    "/api/customers/{customer_id}/export",
    summary="Everything held on the customer, in clear, as a JSON file (a PIPL access request; audited)",
    roles=SUPERVISORS,
    response=ExportOut,
    tag="customers",
    path_types=CUSTOMER_ID,
)
async def export_customer(
    request: web.Request, principal: Principal | None, customer_id: int
) -> web.Response:
    me = require(principal)
    with crm_errors():
        data = await customer_records.export_customer(services(request).db, customer_id)
    await audit(request, me.username, "customer-export", str(customer_id))
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return web.Response(
        body=json.dumps(data, ensure_ascii=False, indent=1).encode(),
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="customer-{customer_id}-{stamp}.json"'},
    )


@endpoint(
    "POST",
    "/api/customers/{customer_id}/erase",
    summary="Erase the customer's personal data on request (PIPL); recordings under legal hold are kept",
    roles=(Role.ADMIN,),
    body=EraseBody,
    response=ErasureOut,
    tag="customers",
    path_types=CUSTOMER_ID,
)
async def erase_customer(
    request: web.Request, principal: Principal | None, customer_id: int, body: EraseBody
) -> ErasureOut:
    me = require(principal)
    with crm_errors():
        result = await customer_records.erase_customer(
            services(request).db, customer_id, now=desk(request).clock()
        )
    kept = [i for i, _ in result.recordings_kept]
    purged = list(result.recordings_purged)
    await audit(
        request, me.username, "customer-erase", str(customer_id), reason=body.reason,
        recordings_purged=purged, recordings_kept=kept,
    )  # fmt: skip
    return ErasureOut(
        customer_id=customer_id,
        recordings_purged=list(result.recordings_purged),
        recordings_kept=[KeptRecording(id=i, hold_reason=r) for i, r in result.recordings_kept],
    )
