from __future__ import annotations

from sqlalchemy import select

from crm.customers import count_customers
from crm.db import Database
from crm.demo import demo_caller_numbers, load_demo_data
from crm.kinds import NoticeTopic
from crm.models import OutboxMessage, Subscription
from crm.service import Crm


async def test_demo_customers_can_be_called_from_their_numbers_and_are_found(sqlite_db: Database) -> None:
    report = await load_demo_data(sqlite_db, 40)
    assert await count_customers(sqlite_db) == report.customers == 40
    numbers = await demo_caller_numbers(sqlite_db, limit=10)
    assert len(numbers) == 10
    assert not any(number.startswith("+") for number in numbers)
    crm = Crm(sqlite_db, catalog_refresh_s=0)
    for number in numbers:
        assert await crm.find_caller(number) is not None


async def test_demo_tickets_tell_the_customers_who_follow_them_through_the_outbox(
    sqlite_db: Database,
) -> None:
    await load_demo_data(sqlite_db, 500)
    async with sqlite_db.read() as session:
        followers = set((await session.scalars(select(Subscription.customer_id))).all())
        queued = (await session.execute(select(OutboxMessage.customer_id, OutboxMessage.topic))).all()
    assert followers and queued
    assert {customer for customer, _ in queued} <= followers
    assert {topic for _, topic in queued} == {NoticeTopic.TICKET_PROGRESS.value}
