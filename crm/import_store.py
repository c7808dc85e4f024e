"""The database side of an import: which numbers already belong to a customer, and checked rows
inserted in large batches with explicit ids (one ``executemany`` of plain tuples on SQLite).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.db import Database
from crm.errors import ImportProblem
from crm.import_checks import _ParsedRow
from crm.models import Customer, CustomerPhone

BATCH = 20_000
LOOKUP_CHUNK = 500


async def _drop_taken_numbers(
    connection: AsyncConnection, rows: list[_ParsedRow], problems: list[ImportProblem]
) -> list[_ParsedRow]:
    numbers = [e164 for _, _, phones in rows for e164, _ in phones]
    taken: dict[str, int] = {}
    for start in range(0, len(numbers), LOOKUP_CHUNK):
        result = await connection.execute(
            select(CustomerPhone.e164, CustomerPhone.customer_id).where(
                CustomerPhone.e164.in_(numbers[start : start + LOOKUP_CHUNK])
            )
        )
        taken.update({e164: owner for e164, owner in result})
    if not taken:
        return rows
    kept = []
    for row in rows:
        clash = next((e164 for e164, _ in row[2] if e164 in taken), None)
        if clash is None:
            kept.append(row)
        else:
            problems.append(
                ImportProblem(row[0], "phones", f"{clash} already belongs to customer {taken[clash]}")
            )
    return kept


async def _taken_numbers(db: Database, numbers: list[str]) -> dict[str, int]:
    taken: dict[str, int] = {}
    async with db.read() as session:
        for start in range(0, len(numbers), LOOKUP_CHUNK):
            chunk = numbers[start : start + LOOKUP_CHUNK]
            result = await session.execute(
                select(CustomerPhone.e164, CustomerPhone.customer_id).where(CustomerPhone.e164.in_(chunk))
            )
            taken.update({e164: owner for e164, owner in result})
    return taken


_CUSTOMER_FIELDS = (
    "name",
    "segment",
    "vip_level",
    "tags",
    "consent_marketing",
    "consent_sms",
    "consent_email",
    "language",
    "owner_agent",
    "email",
    "id_number",
    "address",
)


async def insert_customer_rows(db: Database, rows: list[_ParsedRow], now: datetime) -> None:
    """Insert checked rows in one transaction (demo data uses this too)."""
    if not rows:
        return
    async with db.write() as session:
        connection = await session.connection()
        next_id = int(await connection.scalar(select(func.coalesce(func.max(Customer.id), 0)))) + 1
        for start in range(0, len(rows), BATCH):
            next_id = await _insert_batch(connection, rows[start : start + BATCH], next_id, now)
        await _resync_sequences(connection, ("customers", "customer_phones"))


async def _insert_batch(
    connection: AsyncConnection, rows: list[_ParsedRow], next_id: int, now: datetime
) -> int:
    if not rows:
        return next_id
    if connection.dialect.name == "sqlite":
        return await _insert_sqlite_batch(connection, rows, next_id, now)
    customers: list[dict[str, Any]] = []
    phones: list[dict[str, Any]] = []
    for _, values, numbers in rows:
        record = dict(zip(_CUSTOMER_FIELDS, values, strict=True))
        record["id"] = next_id
        record["created_at"] = now
        record["updated_at"] = now
        customers.append(record)
        phones.extend({"customer_id": next_id, "e164": e164, "kind": kind} for e164, kind in numbers)
        next_id += 1
    await connection.execute(insert(Customer), customers)
    await connection.execute(insert(CustomerPhone), phones)
    return next_id


_SQLITE_CUSTOMER_INSERT = (
    f"INSERT INTO customers (id, {', '.join(_CUSTOMER_FIELDS)}, created_at, updated_at)"
    f" VALUES ({', '.join('?' * (len(_CUSTOMER_FIELDS) + 3))})"
)
_SQLITE_PHONE_INSERT = "INSERT INTO customer_phones (customer_id, e164, kind) VALUES (?, ?, ?)"


async def _insert_sqlite_batch(
    connection: AsyncConnection,
    rows: list[tuple[int, tuple[Any, ...], list[tuple[str, str]]]],
    next_id: int,
    now: datetime,
) -> int:
    """SQLite: one executemany of plain tuples per table, values converted as the column types
    would (UTC text for times, JSON text for tags, 0/1), skipping per-row SQLAlchemy work."""
    stamp = Customer.__table__.c.created_at.type._cached_bind_processor(connection.dialect)(now)
    texts: dict[tuple[str, ...], str] = {}

    def tags_text(tags: Sequence[str]) -> str:
        key = tuple(tags)  # a tuple from a file, a list from the demo data
        text = texts.get(key)
        if text is None:
            text = texts[key] = json.dumps(key, ensure_ascii=False)
        return text

    ids = range(next_id, next_id + len(rows))
    customers = [
        (
            cid,
            name,
            seg,
            vip,
            tags_text(tags) if tags else "[]",
            mk,
            sms,
            em,
            lang,
            owner,
            mail,
            idn,
            addr,
            stamp,
            stamp,
        )
        for cid, (_, (name, seg, vip, tags, mk, sms, em, lang, owner, mail, idn, addr), _) in zip(
            ids, rows, strict=True
        )
    ]
    phones = [
        (cid, e164, kind) for cid, (_, _, numbers) in zip(ids, rows, strict=True) for e164, kind in numbers
    ]
    next_id += len(rows)
    # The driver's own executemany, in the same transaction: SQLAlchemy's execution context adds
    # nothing for plain tuples but per-row copies.
    driver = (await connection.get_raw_connection()).driver_connection
    await driver.executemany(_SQLITE_CUSTOMER_INSERT, customers)
    await driver.executemany(_SQLITE_PHONE_INSERT, phones)
    return next_id


async def _resync_sequences(connection: AsyncConnection, tables: Sequence[str]) -> None:
    """Explicit ids leave PostgreSQL's serial sequences behind; move them past the new rows."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        await connection.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 1)) FROM {table}")
        )
