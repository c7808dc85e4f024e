"""Rows in and out of CSV and XLSX files as Excel in China writes them.

CSV is read as UTF-8 (with or without the BOM Excel adds) or, when that fails, GB18030 (what
Excel on a Chinese Windows saves as "CSV"). Files are blocking I/O: call these from a worker
thread. Cells written out that a spreadsheet would run as a formula (= + - @, tab, CR) get a
leading apostrophe; reading strips it again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from crm.errors import UnreadableFile

# A customer's columns in a file, in order: what the export writes after "id", and what the import
# reads, so that an exported file imports back unchanged.
CUSTOMER_FIELDS = (
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

MAX_FIELD_CHARS = 10_000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix == ".xlsx":
        return "xlsx"
    raise UnreadableFile(str(path), f"unknown file type {suffix or '(none)'}: use .csv or .xlsx")


def read_rows(path: Path, encoding: str | None = None) -> Iterator[tuple[int, list[str]]]:
    """(row number as a spreadsheet shows it, cells) for every row, the header first (row 1)."""
    if file_format(path) == "xlsx":
        yield from _read_xlsx(path)
    else:
        yield from _read_csv(path, encoding)


def decode_csv_bytes(data: bytes, path: str, encoding: str | None = None) -> str:
    if encoding is not None:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise UnreadableFile(path, f"not valid {encoding}: {exc}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnreadableFile(
                path, f"has a UTF-8 byte-order mark but a bad byte at offset {exc.start + 3}"
            ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            path, f"neither UTF-8 nor GB18030 (bad byte at offset {exc.start}); save it as CSV UTF-8"
        ) from None


def _read_csv(path: Path, encoding: str | None) -> Iterator[tuple[int, list[str]]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(str(path), exc.strerror or str(exc)) from None
    text = decode_csv_bytes(data, str(path), encoding)
    if "\x00" in text:
        raise UnreadableFile(str(path), "contains NUL bytes: not a text file")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        yield from enumerate(reader, start=1)
    except csv.Error as exc:
        raise UnreadableFile(str(path), f"row {reader.line_num}: {exc}") from None


def _read_xlsx(path: Path) -> Iterator[tuple[int, list[str]]]:
    import openpyxl  # loaded only for spreadsheets: it is slow to import
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, InvalidFileException, KeyError, ValueError) as exc:
        raise UnreadableFile(str(path), f"not a readable .xlsx workbook: {exc}") from None
    except Exception as exc:  # zipfile.BadZipFile and friends from a damaged file
        raise UnreadableFile(str(path), f"not a readable .xlsx workbook: {type(exc).__name__}") from None
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(v) for v in values]
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # phone numbers typed into Excel become floats
    return str(value)


def unescape_cell(value: str) -> str:
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_STARTS:
        return value[1:]
    return value


def escape_cell(value: object) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text
