"""Routes: the notices a customer chose (定制服务), subscribed and opted out of at their request.

A customer may have ticket progress, order (delivery) progress and offers sent by SMS or e-mail;
an agent or a supervisor records their choice, each change audited. Opting out also holds back
what was queued for them and not yet sent (crm/notices.py).
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel

from agent_api.context import audit, require, services
from agent_api.errors import InvalidBody, NotFoundError
from agent_api.openapi import Endpoint, endpoint
from agent_api.security import Principal, Role
from crm import notices
from crm.errors import NotFound
from crm.kinds import Channel, NoticeTopic

STAFF = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
CUSTOMER_TOPICS = (NoticeTopic.TICKET_PROGRESS, NoticeTopic.DELIVERY_PROGRESS, NoticeTopic.OFFERS)
CHANNELS = (Channel.SMS, Channel.EMAIL)
PATH_TYPES = {"customer_id": "integer"}


class SubscriptionOut(BaseModel):
    topic: str
    channel: str
    since: datetime


class Subscriptions(BaseModel):
    customer_id: int
    subscriptions: list[SubscriptionOut]
    held_back: int = 0  # notices queued and not sent, held back by an opt-out


def _choice(topic: str, channel: str) -> tuple[NoticeTopic, Channel]:
    if topic not in {t.value for t in CUSTOMER_TOPICS}:
        known = ", ".join(t.value for t in CUSTOMER_TOPICS)
        raise InvalidBody(f"topic {topic[:40]!r} is not one a customer chooses: {known}")
    if channel not in {c.value for c in CHANNELS}:
        raise InvalidBody(f"channel {channel[:20]!r}: notices go by {' or '.join(c.value for c in CHANNELS)}")
    return NoticeTopic(topic), Channel(channel)


async def _current(request: web.Request, customer_id: int, held_back: int = 0) -> Subscriptions:
    try:
        found = await notices.subscriptions_of(services(request).db, customer_id)
    except NotFound:
        raise NotFoundError(f"no customer {customer_id}") from None
    return Subscriptions(
        customer_id=customer_id,
        subscriptions=[SubscriptionOut(topic=s.topic, channel=s.channel, since=s.since) for s in found],
        held_back=held_back,
    )


@endpoint(
    "GET",
    "/api/customers/{customer_id}/subscriptions",
    summary="The notices a customer chose, by topic and channel",
    roles=STAFF,
    response=Subscriptions,
    tag="subscriptions",
    path_types=PATH_TYPES,
)
async def list_subscriptions(
    request: web.Request, principal: Principal | None, customer_id: int
) -> Subscriptions:
    return await _current(request, customer_id)


@endpoint(
    "PUT",
    "/api/customers/{customer_id}/subscriptions/{topic}/{channel}",
    summary="Subscribe a customer to a topic's notices on a channel (again: no change)",
    roles=STAFF,
    response=Subscriptions,
    tag="subscriptions",
    path_types=PATH_TYPES,
)
async def subscribe(
    request: web.Request, principal: Principal | None, customer_id: int, topic: str, channel: str
) -> Subscriptions:
    me = require(principal)
    chosen_topic, chosen_channel = _choice(topic, channel)
    try:
        await notices.subscribe(
            services(request).db, customer_id, chosen_topic, chosen_channel, now=services(request).clock()
        )
    except NotFound:
        raise NotFoundError(f"no customer {customer_id}") from None
    await audit(request, me.username, "subscribe", str(customer_id), topic=topic, channel=channel)
    return await _current(request, customer_id)


@endpoint(
    "DELETE",
    "/api/customers/{customer_id}/subscriptions/{topic}/{channel}",
    summary="Opt a customer out of a topic's notices on a channel; what was queued is not sent",
    roles=STAFF,
    response=Subscriptions,
    tag="subscriptions",
    path_types=PATH_TYPES,
)
async def opt_out(
    request: web.Request, principal: Principal | None, customer_id: int, topic: str, channel: str
) -> Subscriptions:
    me = require(principal)
    chosen_topic, chosen_channel = _choice(topic, channel)
    await _current(request, customer_id)  # 404 for no such customer
    held = await notices.unsubscribe(services(request).db, customer_id, chosen_topic, chosen_channel)
    await audit(
        request, me.username, "opt-out", str(customer_id), topic=topic, channel=channel, held_back=held
    )
    return await _current(request, customer_id, held_back=held)


ENDPOINTS: list[Endpoint] = [list_subscriptions, subscribe, opt_out]
