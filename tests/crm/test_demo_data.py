from __future__ import annotations

from crm.customers import count_customers
from crm.db import Database
from crm.demo import demo_caller_numbers, load_demo_data
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
