from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select, text

from crm.contacts import NewContact, record_contact
from crm.customers import NewCustomer, create_customer
from crm.db import Database, utcnow
from crm.kinds import Channel
from crm.migrate import current_revision, head_revision, upgrade
from crm.models import Contact


async def test_upgrade_creates_the_schema_in_a_new_directory_and_is_idempotent(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/var/sub/hotline.db")
    await upgrade(db)
    await upgrade(db)
    assert await current_revision(db) == head_revision()
    async with db.read() as session:
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    await db.dispose()


async def test_the_migrations_build_exactly_the_tables_the_code_declares(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from crm.schema import METADATA

    db = Database(f"sqlite+aiosqlite:///{tmp_path}/drift.db")
    await upgrade(db)
    async with db.engine.connect() as connection:
        drift = await connection.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), METADATA))
    await db.dispose()
    assert drift == []


async def test_two_hundred_concurrent_writes_on_sqlite_all_succeed(sqlite_db: Database) -> None:
    customer_id = await create_customer(sqlite_db, NewCustomer(name="王芳", phones=["13800138000"]))

    async def one(i: int) -> int:
        return await record_contact(sqlite_db, NewContact(customer_id, Channel.CALL_IN, call_id=f"c{i}"))

    ids = await asyncio.gather(*(one(i) for i in range(200)))
    assert len(set(ids)) == 200
    async with sqlite_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Contact)) == 200


async def test_a_second_process_writing_the_same_file_waits_instead_of_failing(sqlite_db: Database) -> None:
    # create_customer reads (is the number taken?) before it writes: with a deferred BEGIN two
    # connections doing that at once deadlock and one fails at once with "database is locked".
    other = Database(sqlite_db.url)
    results = await asyncio.gather(
        *(
            create_customer(db, NewCustomer(name=f"客户{i}", phones=[f"1380013{i:04d}"]))
            for i, db in enumerate([sqlite_db, other] * 40)
        )
    )
    assert len(set(results)) == 80
    await other.dispose()


async def test_a_failed_write_leaves_nothing_behind(db: Database) -> None:
    try:
        async with db.write() as session:
            session.add(Contact(customer_id=None, channel="sms", purpose="service", at=utcnow()))
            await session.flush()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Contact)) == 0
