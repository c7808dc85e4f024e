"""bench/pg_copy.py: the load benchmark's CRM data set copied from SQLite into PostgreSQL reads
back the same through the CRM, and new rows still get fresh ids."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bench import crm_screen_pop
from bench.pg_copy import copy, create_database
from crm.customers import NewCustomer, create_customer, customer_card, find_customer_by_phone
from crm.db import Database

pytestmark = pytest.mark.postgres


def test_the_copy_has_every_row_and_the_same_cards_and_new_ids_follow_the_copied_ones(
    tmp_path: Path, postgres_url: str
) -> None:
    source = tmp_path / "crm.db"
    crm_screen_pop.generate(source, 60, 3)
    url = asyncio.run(create_database(postgres_url, "copied_set"))

    copied = asyncio.run(copy(source, url))

    with sqlite3.connect(source) as lite:
        for table in ("customers", "customer_phones", "contacts", "tickets", "campaigns"):
            assert copied[table] == lite.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0

    async def compare() -> None:
        on_sqlite, on_postgres = Database(f"sqlite+aiosqlite:///{source}"), Database(url)
        try:
            for customer_id in (1, 7, 60):
                assert await customer_card(on_postgres, customer_id) == await customer_card(
                    on_sqlite, customer_id
                )
            number = crm_screen_pop.mobile(7)
            assert await find_customer_by_phone(on_postgres, number) == await find_customer_by_phone(
                on_sqlite, number
            )
            added = await create_customer(on_postgres, NewCustomer(name="新客户", phones=["13912345678"]))
            assert added == 61
        finally:
            await on_sqlite.dispose()
            await on_postgres.dispose()

    asyncio.run(compare())
