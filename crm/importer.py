"""Import customers and contacts from CSV / XLSX.

Two modes. ``all`` (the default): the file is checked whole first and imported in one
transaction, or not at all — any bad row fails the import and the error lists every bad row with
its number and reason. ``per_row``: good rows are imported, bad rows are skipped and reported.

Parsing and checking run in a worker thread; rows go to the database in large batches with
explicit ids, inside one write transaction, so a million-row file stays close to the speed of a
raw ``executemany``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import json
import logging
import operator
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.db import Database, utcnow
from crm.errors import ImportFailed, ImportProblem, InvalidPhoneNumber, UnreadableFile
from crm.kinds import Channel, Purpose
from crm.models import Campaign, Contact, Customer, CustomerPhone
from crm.phones import normalize_phone
from crm.sla import SHANGHAI
from crm.tabular import MAX_FIELD_CHARS, read_rows, unescape_cell

log = logging.getLogger(__name__)

BATCH = 20_000
LOOKUP_CHUNK = 500


class ImportMode(enum.StrEnum):
    ALL = "all"
    PER_ROW = "per_row"


@dataclass(frozen=True, slots=True)
class ImportReport:
    path: str
    imported: int
    skipped: int
    problems: tuple[ImportProblem, ...]


CUSTOMER_HEADERS = {
    "name": "name",
    "姓名": "name",
    "客户名称": "name",
    "phones": "phones",
    "phone": "phones",
    "电话": "phones",
    "手机": "phones",
    "联系电话": "phones",
    "segment": "segment",
    "客户类型": "segment",
    "vip_level": "vip_level",
    "vip等级": "vip_level",
    "tags": "tags",
    "标签": "tags",
    "consent_marketing": "consent_marketing",
    "consent_sms": "consent_sms",
    "consent_email": "consent_email",
    "language": "language",
    "owner_agent": "owner_agent",
    "客户经理": "owner_agent",
    "email": "email",
    "邮箱": "email",
    "id_number": "id_number",
    "证件号码": "id_number",
    "address": "address",
    "地址": "address",
}
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
}
_TRUE = {"1", "true", "yes", "y", "是", "同意"}
_FALSE = {"", "0", "false", "no", "n", "否", "不同意"}
_FLAGS = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
_MAX_LEN = {
    "name": 200,
    "segment": 40,
    "language": 16,
    "owner_agent": 64,
    "email": 254,
    "id_number": 32,
    "address": 500,
}


class _RowError(Exception):
    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason


def _columns(
    header: list[str], aliases: dict[str, str], required: Sequence[str], path: str
) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = aliases.get(raw.strip().lstrip("\ufeff").lower())
        if name is not None and name not in columns:
            columns[name] = index
    missing = [name for name in required if name not in columns]
    if missing:
        raise UnreadableFile(path, f"header lacks column(s) {', '.join(missing)}; found {header[:20]}")
    return columns


def _cells_reader(columns: dict[str, int], fields: Sequence[str]) -> Any:
    """A function from a row's cells to the values of ``fields`` (stripped, unescaped, checked)."""
    indexes = [columns.get(f, -1) for f in fields]
    limits = [_MAX_LEN.get(f, MAX_FIELD_CHARS) for f in fields]

    def read(cells: list[str]) -> list[str]:
        count = len(cells)
        values = [cells[i].strip() if 0 <= i < count else "" for i in indexes]
        # The common row has no quoted cell and nothing too long: decide that at C speed.
        if "\0'" not in "\0" + "\0".join(values) and not any(map(operator.gt, map(len, values), limits)):
            return values
        for k, value in enumerate(values):
            if value and (value[0] == "'" or len(value) > limits[k]):
                value = values[k] = unescape_cell(value)
                if len(value) > limits[k]:
                    raise _RowError(fields[k], f"longer than {limits[k]} characters")
        return values

    return read


def _flag(value: str, field: str) -> bool:
    known = _FLAGS.get(value)
    if known is not None:
        return known
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _RowError(field, f"expected yes/no, got {value[:40]!r}")


_CUSTOMER_INPUT = (
    "name",
    "phones",
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


_ParsedRow = tuple[int, tuple[Any, ...], Sequence[tuple[str, str]]]  # row number, values, (e164, kind)


@dataclass(slots=True)
class _ParsedCustomers:
    rows: list[_ParsedRow]
    problems: list[ImportProblem]


def _open_customers(
    path: Path, encoding: str | None
) -> tuple[dict[str, int], Iterator[tuple[int, list[str]]]]:
    rows = read_rows(path, encoding)
    header = next(rows, None)
    if header is None:
        raise UnreadableFile(str(path), "empty file")
    return _columns(header[1], CUSTOMER_HEADERS, ("name", "phones"), str(path)), rows


def parse_customers(path: Path, encoding: str | None = None) -> _ParsedCustomers:
    """Read and check every row of a file (blocking: run in a worker thread)."""
    columns, rows = _open_customers(path, encoding)
    parsed, problems = parse_customer_chunk(columns, list(rows))
    kept = _drop_repeated_numbers(parsed, {}, problems)
    problems.sort(key=lambda p: p.row)
    return _ParsedCustomers(kept, problems)


def _drop_repeated_numbers(
    rows: list[_ParsedRow], seen: dict[str, int], problems: list[ImportProblem]
) -> list[_ParsedRow]:
    """Rows whose numbers appeared on an earlier row of the file become problems."""
    kept = []
    for row in rows:
        number = row[0]
        clash = next(((e164, seen[e164]) for e164, _ in row[2] if e164 in seen), None)
        if clash is not None:
            problems.append(ImportProblem(number, "phones", f"{clash[0]} already appears on row {clash[1]}"))
            continue
        for e164, _ in row[2]:
            seen[e164] = number
        kept.append(row)
    return kept


def parse_customer_chunk(
    columns: dict[str, int], rows: list[tuple[int, list[str]]]
) -> tuple[list[_ParsedRow], list[ImportProblem]]:
    """Check a run of rows; pure and picklable, so big files spread it over worker processes."""
    parsed: list[_ParsedRow] = []
    problems: list[ImportProblem] = []
    read = _cells_reader(columns, _CUSTOMER_INPUT)
    for number, cells in rows:
        if not any(cells):
            continue
        try:
            cols = read(cells)
            if not any(cols):
                continue  # a row of blanks (or only columns we do not import)
            name, raw_phones, segment, vip, tags, marketing, sms, email_ok = cols[:8]
            language, owner, email, id_number, address = cols[8:]
            if not name:
                raise _RowError("name", "empty")
            phones: list[tuple[str, str]] = []
            for raw in _split(raw_phones):
                try:
                    phone = normalize_phone(raw)
                except InvalidPhoneNumber as exc:
                    raise _RowError("phones", exc.reason) from None
                if all(phone.e164 != p for p, _ in phones):
                    phones.append((phone.e164, phone.kind.value))
            if not phones:
                raise _RowError("phones", "no phone number")
            vip_level = int(vip) if vip.isdigit() and len(vip) <= 2 else (0 if not vip else -1)
            if vip_level < 0:
                raise _RowError("vip_level", f"expected a whole number 0-99, got {vip[:20]!r}")
            values = (
                name,
                segment or "regular",
                vip_level,
                tuple(_split(tags)),
                _flag(marketing, "consent_marketing"),
                _flag(sms, "consent_sms"),
                _flag(email_ok, "consent_email"),
                language or "zh-CN",
                owner or None,
                email or None,
                id_number or None,
                address or None,
            )
        except _RowError as exc:
            problems.append(ImportProblem(number, exc.field, exc.reason))
            continue
        # Tuples of strings only: the collector untracks them at its first look, so a chunk
        # waiting to be inserted does not push the whole heap into full collections.
        parsed.append((number, values, tuple(phones)))
    return parsed, problems


_SEPARATORS = re.compile("[；;|，,]")


def _split(value: str) -> list[str]:
    if not value:
        return []
    if _SEPARATORS.search(value) is None:
        return [value]
    return [part.strip() for part in _SEPARATORS.split(value) if part.strip()]


async def import_customers(
    db: Database,
    path: str | Path,
    *,
    mode: ImportMode = ImportMode.ALL,
    encoding: str | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Import a customer file; raises :class:`ImportFailed` (``all`` mode) listing every bad row.

    Rows are read and checked a chunk at a time (the next chunk while the current one is
    inserted), all inside one write transaction, so a big file is never held in memory whole.
    In ``all`` mode the first bad row stops the inserting, the rest of the file is still
    checked so every bad row is reported, and the transaction is rolled back.
    """
    path = Path(path)
    now = now or utcnow()
    problems: list[ImportProblem] = []
    seen: dict[str, int] = {}
    imported = 0
    columns, rows = await asyncio.to_thread(_open_customers, path, encoding)
    try:
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
                raise ImportFailed(str(path), problems)
            await _resync_sequences(connection, ("customers", "customer_phones"))
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
    log.info(
        "customers_imported",
        extra={"kv": {"file": path.name, "imported": imported, "skipped": len(problems)}},
    )
    return ImportReport(str(path), imported, len(problems), tuple(problems))


CHUNK_ROWS = 20_000


async def _checked_chunks(
    columns: dict[str, int], rows: Iterator[tuple[int, list[str]]]
) -> AsyncIterator[tuple[list[_ParsedRow], list[ImportProblem]]]:
    """Chunks of checked rows in file order; the next chunk is read and checked in a worker
    thread while the caller inserts the current one (sqlite3 releases the interpreter lock
    while it writes, so the two overlap)."""
    pending = asyncio.ensure_future(asyncio.to_thread(_next_checked, columns, rows))
    try:
        while True:
            result = await pending
            if result is None:
                return
            pending = asyncio.ensure_future(asyncio.to_thread(_next_checked, columns, rows))
            yield result
    finally:
        if not pending.done():
            await asyncio.wait([pending])  # the thread cannot be interrupted; let it finish


def _next_checked(
    columns: dict[str, int], rows: Iterator[tuple[int, list[str]]]
) -> tuple[list[_ParsedRow], list[ImportProblem]] | None:
    chunk = _take(rows, CHUNK_ROWS)
    return parse_customer_chunk(columns, chunk) if chunk else None


def _take(rows: Iterator[tuple[int, list[str]]], count: int) -> list[tuple[int, list[str]]]:
    return list(itertools.islice(rows, count))


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
    customers = []
    phones = []
    for _, values, numbers in rows:
        name, segment, vip, tags, marketing, sms, email_ok, *rest = values
        tags_json = json.dumps(tags, ensure_ascii=False) if tags else "[]"
        customers.append(
            (next_id, name, segment, vip, tags_json, marketing, sms, email_ok, *rest, stamp, stamp)
        )
        phones.extend((next_id, e164, kind) for e164, kind in numbers)
        next_id += 1
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
                await connection.execute(insert(Contact), records[start : start + BATCH])
    return ImportReport(str(path), len(records), len(problems), tuple(problems))


async def _existing_customers(session: Any, ids: set[int]) -> set[int]:
    found: set[int] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start : start + LOOKUP_CHUNK]
        found.update((await session.scalars(select(Customer.id).where(Customer.id.in_(chunk)))).all())
    return found
