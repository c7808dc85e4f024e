"""Import customers and contacts from CSV / XLSX.

Two modes. ``all`` (the default): the file is checked whole first and imported in one
transaction, or not at all — any bad row fails the import and the error lists every bad row with
its number and reason. ``per_row``: good rows are imported, bad rows are skipped and reported.

Parsing and checking run in a worker thread; rows go to the database in large batches with
explicit ids, inside one write transaction, so a million-row file imports at about half the speed of a
raw ``executemany``.

Rows are checked in ``crm.import_checks``; the database side (number look-ups, bulk inserts) is
``crm.import_store``. Their public names are importable from here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import gc
import itertools
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from crm.db import Database, utcnow
from crm.errors import ImportFailed, ImportProblem, InvalidPhoneNumber, UnreadableFile
from crm.import_checks import (
    CUSTOMER_HEADERS,
    _cells_reader,
    _columns,
    _drop_repeated_numbers,
    _open_customers,
    _ParsedRow,
    _RowError,
    parse_customer_chunk,
    parse_customers,
    parse_rows,
)
from crm.import_store import (
    BATCH,
    LOOKUP_CHUNK,
    _drop_taken_numbers,
    _insert_batch,
    _resync_sequences,
    _taken_numbers,
    insert_customer_rows,
)
from crm.kinds import Channel, Purpose
from crm.models import Campaign, Contact, Customer
from crm.phones import normalize_phone
from crm.reporting.facts import count_contacts, upsert_contact_counts
from crm.sla import SHANGHAI
from crm.tabular import read_rows

__all__ = [
    "BATCH",
    "CONTACT_HEADERS",
    "CUSTOMER_HEADERS",
    "LOOKUP_CHUNK",
    "ImportMode",
    "ImportReport",
    "import_contacts",
    "import_customers",
    "insert_customer_rows",
    "parse_contacts",
    "parse_customer_chunk",
    "parse_customers",
    "parse_rows",
]

log = logging.getLogger(__name__)


class ImportMode(enum.StrEnum):
    ALL = "all"
    PER_ROW = "per_row"


@dataclass(frozen=True, slots=True)
class ImportReport:
    path: str
    imported: int
    skipped: int
    problems: tuple[ImportProblem, ...]


CONTACT_HEADERS = {
    "phone": "phone",
    "电话": "phone",
    "customer_id": "customer_id",
    "channel": "channel",
    "渠道": "channel",
    "at": "at",
    "时间": "at",
    "agent": "agent",
    "坐席": "agent",
    "call_id": "call_id",
    "campaign_id": "campaign_id",
    "disposition": "disposition",
    "note": "note",
    "备注": "note",
    "queue": "queue",
    "队列": "queue",
}


async def import_customers(
    db: Database,
    path: str | Path,
    *,
    mode: ImportMode = ImportMode.ALL,
    encoding: str | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Import a customer file; raises :class:`ImportFailed` (``all`` mode) listing every bad row.

    Rows are read and checked a chunk at a time (in a worker thread) and inserted in turn, all
    inside one write transaction, so a big file is never held in memory whole.
    In ``all`` mode the first bad row stops the inserting, the rest of the file is still
    checked so every bad row is reported, and the transaction is rolled back.
    """
    path = Path(path)
    now = now or utcnow()
    problems: list[ImportProblem] = []
    columns, rows = await asyncio.to_thread(_open_customers, path, encoding)
    try:
        with _collector_paused():
            imported = await _import_chunks(db, columns, rows, mode, now, problems)
    except (IntegrityError, sqlite3.IntegrityError):
        # A number that already belongs to a customer: find its rows the slow way, then report.
        parsed_all = await asyncio.to_thread(parse_customers, path, encoding)
        taken = await _taken_numbers(db, [e164 for _, _, phones in parsed_all.rows for e164, _ in phones])
        problems = [
            ImportProblem(number, "phones", f"{e164} already belongs to customer {taken[e164]}")
            for number, _, phones in parsed_all.rows
            for e164, _ in phones
            if e164 in taken
        ]
        if not problems:
            raise
        raise ImportFailed(str(path), problems) from None
    except _Refused:
        raise ImportFailed(str(path), problems) from None
    log.info(
        "customers_imported",
        extra={"kv": {"file": path.name, "imported": imported, "skipped": len(problems)}},
    )
    return ImportReport(str(path), imported, len(problems), tuple(problems))


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection during a bulk import. The rows in flight are millions of
    small tuples and strings with no cycles; each collection would walk all of them, and the
    young-generation collections an import triggers cost more than the checking itself. What
    existed before is frozen (kept out of the collections), and the collector's state is
    restored however the import ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()


async def _import_chunks(
    db: Database,
    columns: dict[str, int],
    rows: Iterator[tuple[int, list[str]]],
    mode: ImportMode,
    now: datetime,
    problems: list[ImportProblem],
) -> int:
    seen: dict[str, int] = {}
    imported = 0
    async with db.write() as session:
        connection = await session.connection()
        next_id = int(await connection.scalar(select(func.coalesce(func.max(Customer.id), 0)))) + 1
        async with contextlib.aclosing(_checked_chunks(columns, rows)) as chunks:
            async for parsed, chunk_problems in chunks:
                problems.extend(chunk_problems)
                kept = _drop_repeated_numbers(parsed, seen, problems)
                if mode is ImportMode.PER_ROW:
                    kept = await _drop_taken_numbers(connection, kept, problems)
                elif problems:
                    continue  # nothing more goes in; keep checking to report every bad row
                next_id = await _insert_batch(connection, kept, next_id, now)
                imported += len(kept)
        problems.sort(key=lambda p: p.row)
        if problems and mode is ImportMode.ALL:
            raise _Refused  # rolls the transaction back
        await _resync_sequences(connection, ("customers", "customer_phones"))
    return imported


class _Refused(Exception):
    """All-or-nothing mode met bad rows: the transaction is rolled back."""


CHUNK_ROWS = 20_000


async def _checked_chunks(
    columns: dict[str, int], rows: Iterator[tuple[int, list[str]]]
) -> AsyncIterator[tuple[list[_ParsedRow], list[ImportProblem]]]:
    """Chunks of checked rows in file order, each read and checked in a worker thread.

    One after the other, not the next chunk while the current one is inserted: both need the
    interpreter lock, and sqlite3 takes it back after every row it writes, so a checking
    thread beside the insert made each of them wait on the other (measured: slower overall).
    """
    while True:
        result = await asyncio.to_thread(_next_checked, columns, rows)
        if result is None:
            return
        yield result


def _next_checked(
    columns: dict[str, int], rows: Iterator[tuple[int, list[str]]]
) -> tuple[list[_ParsedRow], list[ImportProblem]] | None:
    chunk = _take(rows, CHUNK_ROWS)
    return parse_customer_chunk(columns, chunk) if chunk else None


def _take(rows: Iterator[tuple[int, list[str]]], count: int) -> list[tuple[int, list[str]]]:
    return list(itertools.islice(rows, count))


def parse_contacts(
    path: Path, encoding: str | None, tz: tzinfo
) -> tuple[list[tuple[int, dict[str, Any], str | None]], list[ImportProblem]]:
    rows = read_rows(path, encoding)
    header = next(rows, None)
    if header is None:
        raise UnreadableFile(str(path), "empty file")
    columns = _columns(header[1], CONTACT_HEADERS, ("channel", "at"), str(path))
    if "phone" not in columns and "customer_id" not in columns:
        raise UnreadableFile(str(path), "header needs a phone or a customer_id column")
    parsed: list[tuple[int, dict[str, Any], str | None]] = []
    problems: list[ImportProblem] = []
    read_contact = _cells_reader(columns, _CONTACT_INPUT)
    for number, cells in _non_empty(rows):
        try:
            fields = dict(zip(_CONTACT_INPUT, read_contact(cells), strict=True))
            get = fields.__getitem__
            try:
                channel = Channel(get("channel").lower())
            except ValueError:
                raise _RowError("channel", f"expected one of {', '.join(Channel)}") from None
            try:
                at = datetime.fromisoformat(get("at"))
            except ValueError:
                raise _RowError("at", "expected a date and time like 2026-11-18 10:30") from None
            if at.tzinfo is None:
                at = at.replace(tzinfo=tz)
            e164 = None
            customer_id = None
            if get("customer_id"):
                if not get("customer_id").isdigit():
                    raise _RowError("customer_id", "expected a number")
                customer_id = int(get("customer_id"))
            elif get("phone"):
                try:
                    e164 = normalize_phone(get("phone")).e164
                except InvalidPhoneNumber as exc:
                    raise _RowError("phone", exc.reason) from None
            else:
                raise _RowError("phone", "neither a phone number nor a customer_id")
            campaign = get("campaign_id")
            if campaign and not campaign.isdigit():
                raise _RowError("campaign_id", "expected a number")
            record = {
                "customer_id": customer_id,
                "channel": channel.value,
                "at": at,
                "agent": get("agent") or None,
                "call_id": get("call_id") or None,
                "campaign_id": int(campaign) if campaign else None,
                "disposition": get("disposition"),
                "note": get("note"),
                "queue": get("queue"),
            }
        except _RowError as exc:
            problems.append(ImportProblem(number, exc.field, exc.reason))
            continue
        parsed.append((number, record, e164))
    return parsed, problems


_CONTACT_INPUT = (
    "phone",
    "customer_id",
    "channel",
    "at",
    "agent",
    "call_id",
    "campaign_id",
    "disposition",
    "note",
    "queue",
)


def _non_empty(rows: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, list[str]]]:
    return ((n, cells) for n, cells in rows if any(c.strip() for c in cells))


async def import_contacts(
    db: Database,
    path: str | Path,
    *,
    mode: ImportMode = ImportMode.ALL,
    encoding: str | None = None,
    tz: tzinfo = SHANGHAI,
) -> ImportReport:
    """Import contacts; each row names its customer by phone number or customer id."""
    path = Path(path)
    parsed, problems = await asyncio.to_thread(parse_contacts, path, encoding, tz)
    owners = await _taken_numbers(db, sorted({e164 for _, _, e164 in parsed if e164}))
    async with db.read() as session:
        kinds = {cid: kind for cid, kind in await session.execute(select(Campaign.id, Campaign.kind))}
        known_ids = await _existing_customers(
            session, {r["customer_id"] for _, r, _ in parsed if r["customer_id"]}
        )
    records: list[dict[str, Any]] = []
    for number, record, e164 in parsed:
        if e164 is not None:
            if e164 not in owners:
                problems.append(ImportProblem(number, "phone", f"no customer has {e164}"))
                continue
            record["customer_id"] = owners[e164]
        elif record["customer_id"] not in known_ids:
            problems.append(ImportProblem(number, "customer_id", f"no customer {record['customer_id']}"))
            continue
        campaign = record["campaign_id"]
        if campaign is not None and campaign not in kinds:
            problems.append(ImportProblem(number, "campaign_id", f"no campaign {campaign}"))
            continue
        record["purpose"] = kinds[campaign] if campaign is not None else Purpose.SERVICE.value
        records.append(record)
    problems.sort(key=lambda p: p.row)
    if problems and mode is ImportMode.ALL:
        raise ImportFailed(str(path), problems)
    if records:
        async with db.write() as session:
            connection = await session.connection()
            for start in range(0, len(records), BATCH):
                batch = records[start : start + BATCH]
                await connection.execute(insert(Contact), batch)
                # The report summary counts each batch in the same transaction, one upsert per
                # (day, queue, channel, …) group rather than one per row.
                counts = count_contacts(batch, tz)
                await upsert_contact_counts(session, counts, is_sqlite=db.is_sqlite)
    return ImportReport(str(path), len(records), len(problems), tuple(problems))


async def _existing_customers(session: Any, ids: set[int]) -> set[int]:
    found: set[int] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start : start + LOOKUP_CHUNK]
        found.update((await session.scalars(select(Customer.id).where(Customer.id.in_(chunk)))).all())
    return found
