"""Checking and normalising the rows of a customer file: header aliases, cell limits and quoting,
phone numbers, yes/no flags, VIP levels and tags.

Pure and blocking (the importer runs it in a worker thread). A bad row becomes an
:class:`ImportProblem` with its row number, field and reason; a good row becomes a tuple of the
values the customer tables take.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm.errors import ImportProblem, InvalidPhoneNumber, UnreadableFile
from crm.kinds import PhoneKind
from crm.phones import PhoneNumber, compact, fast_normalize, fast_normalize_all, normalize_phone
from crm.tabular import CUSTOMER_FIELDS, MAX_FIELD_CHARS, read_rows, unescape_cell

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
    "queue": 64,
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
    width = max(indexes) + 1
    # A row exactly as wide as the columns we read (the common case) is read at C speed; an
    # absent column points past them, at a blank appended for the purpose.
    padded = operator.itemgetter(*(i if i >= 0 else width for i in indexes))
    strip = str.strip

    def read(cells: list[str]) -> list[str]:
        count = len(cells)
        if count == width:
            cells.append("")
            values = list(map(strip, padded(cells)))
            cells.pop()
        else:
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


_CUSTOMER_INPUT = CUSTOMER_FIELDS


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
    numbers = [e164 for _, _, phones in rows for e164, _ in phones]
    if seen.keys().isdisjoint(numbers) and len(set(numbers)) == len(numbers):
        # No repeats, the common chunk (a row's own numbers are distinct already).
        seen.update({e164: number for number, _, phones in rows for e164, _ in phones})
        return rows
    kept = []
    for row in rows:
        number, _, phones = row
        clash = next(((e164, seen[e164]) for e164, _ in phones if e164 in seen), None)
        if clash is not None:
            problems.append(ImportProblem(number, "phones", f"{clash[0]} already appears on row {clash[1]}"))
            continue
        for e164, _ in phones:
            seen[e164] = number
        kept.append(row)
    return kept


def parse_customer_chunk(
    columns: dict[str, int], rows: list[tuple[int, list[str]]]
) -> tuple[list[_ParsedRow], list[ImportProblem]]:
    """Check a run of rows: the same result as checking them one by one (:func:`parse_rows`).

    A column at a time, with the checks done by C-level maps over whole columns (lookups in
    tables of the accepted values, the fast phone path); a row any column is unsure about
    (blank name, a quoted or overlong cell, several or unusual numbers, an unknown flag) is
    left to :func:`parse_rows`, and the two are merged back in file order.
    """
    count = len(rows)
    if count == 0:
        return [], []
    indexes = [columns.get(f, -1) for f in _CUSTOMER_INPUT]
    width = max(indexes) + 1
    cells_list = [cells for _, cells in rows]
    careful: set[int] = set()
    if min(map(len, cells_list)) < width:
        blank = [""] * width
        short = [k for k, cells in enumerate(cells_list) if len(cells) < width]
        careful.update(short)
        for k in short:
            cells_list[k] = blank
    strip = str.strip
    table: list[list[str]] = []
    for field, index in zip(_CUSTOMER_INPUT, indexes, strict=True):
        if index < 0:
            table.append([""] * count)
            continue
        column = list(map(strip, map(operator.itemgetter(index), cells_list)))
        limit = _MAX_LEN.get(field, MAX_FIELD_CHARS)
        joined = "\0".join(column)
        if joined[:1] == "'" or "\0'" in joined or max(map(len, column)) > limit:
            careful.update(k for k, v in enumerate(column) if v[:1] == "'" or len(v) > limit)
        table.append(column)
    names, raw_phones, segments, vips, tags, marketing, sms, email_ok = table[:8]
    languages, owners, emails, id_numbers, addresses = table[8:]
    if "" in names:
        careful.update(k for k, name in enumerate(names) if not name)
    found = fast_normalize_all(raw_phones)  # None: several numbers, or not the fast shapes
    kinds = _KIND_TEXT
    phones = [((p[0], kinds[p[1]]),) if p is not None else () for p in found]
    if None in found:
        for k, phone in enumerate(found):
            if phone is None:
                several = _fast_phones(raw_phones[k])
                if several is None:
                    careful.add(k)
                else:
                    phones[k] = several
    vip_levels = list(map(_VIP_LEVELS.get, vips))
    consents = [list(map(_FLAGS.get, column)) for column in (marketing, sms, email_ok)]
    for column in (vip_levels, *consents):
        if None in column:
            careful.update(k for k, value in enumerate(column) if value is None)
    tag_tuples: dict[str, tuple[str, ...]] = {"": ()}
    for written in set(tags):
        if written not in tag_tuples:
            tag_tuples[written] = tuple(_split(written))
    values = zip(
        names,
        [segment or "regular" for segment in segments],
        vip_levels,
        map(tag_tuples.__getitem__, tags),
        *consents,
        [language or "zh-CN" for language in languages],
        [owner or None for owner in owners],
        [email or None for email in emails],
        [id_number or None for id_number in id_numbers],
        [address or None for address in addresses],
        strict=True,
    )
    checked = zip(map(operator.itemgetter(0), rows), values, phones, strict=True)
    if not careful:
        return list(checked), []
    parsed = list(itertools.compress(checked, [k not in careful for k in range(count)]))
    one_by_one, problems = parse_rows(columns, [rows[k] for k in sorted(careful)])
    parsed.extend(one_by_one)
    parsed.sort(key=operator.itemgetter(0))
    return parsed, problems


def _fast_phones(raw_phones: str) -> tuple[tuple[str, str], ...] | None:
    """Several numbers in one cell, when every one takes the fast path; else None."""
    phones: list[tuple[str, str]] = []
    for raw in _split(raw_phones):
        # raw is stripped: without separators it already is what compact() would give
        phone = fast_normalize(raw) or fast_normalize(compact(raw))
        if phone is None:
            return None
        if all(phone[0] != p for p, _ in phones):
            phones.append((phone[0], _KIND_TEXT[phone[1]]))
    return tuple(phones) or None


_VIP_LEVELS = {"": 0, **{str(level): level for level in range(100)}, **{f"{d:02d}": d for d in range(10)}}


def parse_rows(
    columns: dict[str, int], rows: list[tuple[int, list[str]]]
) -> tuple[list[_ParsedRow], list[ImportProblem]]:
    """Check rows one at a time (the reference for :func:`parse_customer_chunk`)."""
    parsed: list[_ParsedRow] = []
    problems: list[ImportProblem] = []
    read = _cells_reader(columns, _CUSTOMER_INPUT)
    flags = _FLAGS.get
    split = _SEPARATORS.search
    kinds = _KIND_TEXT
    append = parsed.append
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
            if raw_phones and split(raw_phones) is None:
                # One number, the common row. Already stripped, so without separators it is
                # exactly the text normalize_phone would hand to the fast path.
                phone = fast_normalize(raw_phones) or _phone(raw_phones)
                phones: tuple[tuple[str, str], ...] = ((phone.e164, kinds[phone.kind]),)
            else:
                phones = _phones(raw_phones)
            vip_level = int(vip) if vip.isdigit() and len(vip) <= 2 else (0 if not vip else -1)
            if vip_level < 0:
                raise _RowError("vip_level", f"expected a whole number 0-99, got {vip[:20]!r}")
            consents = (flags(marketing), flags(sms), flags(email_ok))
            if None in consents:
                consents = (
                    _flag(marketing, "consent_marketing"),
                    _flag(sms, "consent_sms"),
                    _flag(email_ok, "consent_email"),
                )
            values = (
                name,
                segment or "regular",
                vip_level,
                tuple(_split(tags)) if tags else (),
                *consents,
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
        append((number, values, phones))
    return parsed, problems


_KIND_TEXT = {kind: kind.value for kind in PhoneKind}


def _phone(raw: str) -> PhoneNumber:
    try:
        return normalize_phone(raw)
    except InvalidPhoneNumber as exc:
        raise _RowError("phones", exc.reason) from None


def _phones(raw_phones: str) -> tuple[tuple[str, str], ...]:
    phones: list[tuple[str, str]] = []
    for raw in _split(raw_phones):
        phone = _phone(raw)
        if all(phone.e164 != p for p, _ in phones):
            phones.append((phone.e164, _KIND_TEXT[phone.kind]))
    if not phones:
        raise _RowError("phones", "no phone number")
    return tuple(phones)


_SEPARATORS = re.compile("[；;|，,]")


def _split(value: str) -> list[str]:
    if not value:
        return []
    if _SEPARATORS.search(value) is None:
        return [value]
    return [part.strip() for part in _SEPARATORS.split(value) if part.strip()]
