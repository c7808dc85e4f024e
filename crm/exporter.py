"""Export customers and contacts to CSV (UTF-8 with BOM by default, or GB18030) or XLSX.

Rows are read from the database in id order, a batch at a time, and written by a worker thread,
so an export of a million customers neither holds them all in memory nor blocks the loop.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from crm.db import Database
from crm.models import Contact, Customer, CustomerPhone
from crm.tabular import CUSTOMER_FIELDS, escape_cell, file_format

BATCH = 5_000
CUSTOMER_HEADER = ("id", *CUSTOMER_FIELDS)
CONTACT_HEADER = (
    "id",
    "customer_id",
    "channel",
    "purpose",
    "at",
    "agent",
    "call_id",
    "campaign_id",
    "disposition",
    "note",
)


def _yes(value: bool) -> str:
    return "yes" if value else "no"


async def _customer_batches(db: Database) -> AsyncIterator[list[list[Any]]]:
    last = 0
    while True:
        async with db.read() as session:
            customers = (
                await session.scalars(
                    select(Customer).where(Customer.id > last).order_by(Customer.id).limit(BATCH)
                )
            ).all()
            if not customers:
                return
            ids = [c.id for c in customers]
            phones: dict[int, list[str]] = {}
            result = await session.execute(
                select(CustomerPhone.customer_id, CustomerPhone.e164)
                .where(CustomerPhone.customer_id.in_(ids))
                .order_by(CustomerPhone.id)
            )
            for owner, e164 in result:
                phones.setdefault(owner, []).append(e164)
        last = ids[-1]
        yield [
            [
                c.id,
                c.name,
                ";".join(phones.get(c.id, ())),
                c.segment,
                c.vip_level,
                ";".join(c.tags or ()),
                _yes(c.consent_marketing),
                _yes(c.consent_sms),
                _yes(c.consent_email),
                c.language,
                c.owner_agent or "",
                c.email or "",
                c.id_number or "",
                c.address or "",
            ]
            for c in customers
        ]


async def _contact_batches(db: Database) -> AsyncIterator[list[list[Any]]]:
    last = 0
    while True:
        async with db.read() as session:
            contacts = (
                await session.scalars(
                    select(Contact).where(Contact.id > last).order_by(Contact.id).limit(BATCH)
                )
            ).all()
        if not contacts:
            return
        last = contacts[-1].id
        yield [
            [
                c.id,
                c.customer_id or "",
                c.channel,
                c.purpose,
                c.at.isoformat(),
                c.agent or "",
                c.call_id or "",
                c.campaign_id or "",
                c.disposition,
                c.note,
            ]
            for c in contacts
        ]


async def export_customers(db: Database, path: str | Path, *, encoding: str = "utf-8-sig") -> int:
    """Write every customer to ``path`` (.csv or .xlsx); returns the number of rows written."""
    return await _export(_customer_batches(db), CUSTOMER_HEADER, Path(path), encoding)


async def export_contacts(db: Database, path: str | Path, *, encoding: str = "utf-8-sig") -> int:
    return await _export(_contact_batches(db), CONTACT_HEADER, Path(path), encoding)


async def _export(
    batches: AsyncIterator[list[list[Any]]], header: Sequence[str], path: Path, encoding: str
) -> int:
    kind = file_format(path)
    partial = path.with_name(path.name + ".partial")
    try:
        count = await _write(batches, header, partial, kind, encoding)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    # A half-written export never sits under the name asked for.
    await asyncio.to_thread(partial.replace, path)
    return count


async def _write(
    batches: AsyncIterator[list[list[Any]]], header: Sequence[str], partial: Path, kind: str, encoding: str
) -> int:
    count = 0
    if kind == "csv":
        handle = await asyncio.to_thread(partial.open, "w", encoding=encoding, newline="")
        try:
            writer = csv.writer(handle)
            await asyncio.to_thread(writer.writerow, header)
            async for batch in batches:
                await asyncio.to_thread(writer.writerows, [[escape_cell(v) for v in row] for row in batch])
                count += len(batch)
        finally:
            await asyncio.to_thread(handle.close)
    else:
        import openpyxl

        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet()
        sheet.append(list(header))
        async for batch in batches:
            for row in batch:
                sheet.append([escape_cell(v) for v in row])
            count += len(batch)
        await asyncio.to_thread(workbook.save, partial)
    return count
