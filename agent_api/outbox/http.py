"""Routes: the outbox of mail and SMS notices for supervisors and admins — each message's status,
attempts, last error and the SMS provider's delivery receipt — and a failed or unknown message
sent again by hand (audited). Bodies and addresses are customers' data: only these roles read them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aiohttp import web
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from agent_api.context import audit, require, services
from agent_api.errors import Conflict, NotFoundError
from agent_api.openapi import Endpoint, endpoint
from agent_api.security import Principal, Role
from crm import outbox
from crm.errors import NotFound
from crm.kinds import Channel, NoticeTopic, OutboxStatus

OPERATORS = (Role.SUPERVISOR, Role.ADMIN)


def _printable(text: str) -> str:
    # A NUL cannot even be compared in PostgreSQL; no address or text holds a control character.
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError("search text without control characters")
    return text


class OutboxQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: OutboxStatus | None = None
    channel: Channel | None = None
    q: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(_printable)
    ] = ""
    before: int | None = Field(None, ge=1, le=2**62)  # older than this message (the next page)
    limit: int = Field(200, ge=1, le=outbox.MAX_LIST)


class ReceiptOut(BaseModel):
    provider: str
    provider_ref: str
    delivery: str
    error: str
    reported_at: datetime | None


class OutboxOut(BaseModel):
    id: int
    created_at: datetime
    channel: Channel
    address: str
    topic: NoticeTopic
    subject: str
    body: str
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str
    sent_at: datetime | None
    customer_id: int | None
    customer_name: str
    receipt: ReceiptOut | None


class OutboxList(BaseModel):
    messages: list[OutboxOut]
    counts: dict[str, int]  # status → messages (of the channel asked for)
    more: bool  # older messages match: ask again with before = the last id


class SendAgainBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _out(entry: outbox.OutboxEntry) -> OutboxOut:
    receipt = entry.receipt
    return OutboxOut(
        id=entry.id,
        created_at=entry.created_at,
        channel=entry.channel,
        address=entry.address,
        topic=entry.topic,
        subject=entry.subject,
        body=entry.body,
        status=entry.status,
        attempts=entry.attempts,
        next_attempt_at=entry.next_attempt_at,
        last_error=entry.last_error,
        sent_at=entry.sent_at,
        customer_id=entry.customer_id,
        customer_name=entry.customer_name,
        receipt=None
        if receipt is None
        else ReceiptOut(
            provider=receipt.provider,
            provider_ref=receipt.provider_ref,
            delivery=receipt.delivery,
            error=receipt.error,
            reported_at=receipt.reported_at,
        ),
    )


@endpoint(
    "GET",
    "/api/outbox",
    summary="Mail and SMS notices, newest first, with status, attempts and delivery receipts",
    roles=OPERATORS,
    query=OutboxQuery,
    response=OutboxList,
    tag="outbox",
)
async def list_outbox(request: web.Request, principal: Principal | None, query: OutboxQuery) -> OutboxList:
    entries, counts = await outbox.list_outbox(
        services(request).db,
        status=query.status,
        channel=query.channel,
        text=query.q,
        before=query.before,
        limit=query.limit + 1,
    )
    return OutboxList(
        messages=[_out(e) for e in entries[: query.limit]], counts=counts, more=len(entries) > query.limit
    )


@endpoint(
    "POST",
    "/api/outbox/{outbox_id}/send-again",
    summary="Queue a failed or unknown notice again (an unknown one may then reach the customer twice)",
    roles=OPERATORS,
    body=SendAgainBody,
    response=OutboxOut,
    tag="outbox",
    path_types={"outbox_id": "integer"},
)
async def send_again(
    request: web.Request, principal: Principal | None, outbox_id: int, body: SendAgainBody
) -> OutboxOut:
    me = require(principal)
    svc = services(request)
    try:
        before = await outbox.get_entry(svc.db, outbox_id)
        entry = await outbox.send_again(svc.db, outbox_id, actor=me.username, now=svc.clock())
    except NotFound:
        raise NotFoundError(f"no outbox message {outbox_id}") from None
    except outbox.NotResendable as exc:
        if exc.reason == "opted_out":
            raise Conflict(
                f"the customer opted out of these notices: outbox message {outbox_id} is not sent again"
            ) from None
        raise Conflict(
            f"outbox message {outbox_id} neither failed nor is unknown: it is not sent again"
        ) from None
    await audit(
        request,
        me.username,
        "outbox-send-again",
        str(outbox_id),
        was=str(before.status),
        channel=str(entry.channel),
    )
    return _out(entry)


ENDPOINTS: list[Endpoint] = [list_outbox, send_again]
