"""Times in query strings (``?since=2026-12-01``): one parser for every route that takes one.

A time is ISO 8601 — a date (``2026-12-01``, its midnight) or a date and time, with or without
an offset (``2026-12-01T08:30``, ``2026-12-01T08:30:00+08:00``, ``…Z``). Without an offset it
is a local time of the center (setting ``timezone``), as a supervisor reads a wall clock. The
instant must fall in [:data:`EARLIEST`, :data:`LATEST`); the answer is always in UTC, which the
CRM stores.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any

from pydantic import PlainValidator, ValidationInfo, WithJsonSchema

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)  # excluded; far from the calendar's end, where tz math overflows
TZ_CONTEXT = "center_tz"  # the key of the center's time zone in a query model's validation context
_MAX_LENGTH = 40
_EXAMPLES = "e.g. 2026-12-01, 2026-12-01T08:30 or 2026-12-01T08:30:00+08:00"
_RANGE = f"between {EARLIEST:%Y-%m-%d} and {LATEST.year - 1}-12-31 (UTC)"


def parse_query_time(text: str, tz: tzinfo) -> datetime:
    """The instant ``text`` names, in UTC; ``ValueError`` with a message for people otherwise."""
    cleaned = text.strip()
    try:
        if len(cleaned) > _MAX_LENGTH:
            raise ValueError
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"not an ISO 8601 date or time ({_EXAMPLES}): {cleaned[:_MAX_LENGTH]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        instant = parsed.astimezone(UTC)
    except (OverflowError, ValueError):  # a calendar end moved past the calendar by its offset
        instant = None
    if instant is None or not EARLIEST <= instant < LATEST:
        raise ValueError(f"{cleaned} is out of range: times are {_RANGE}")
    return instant


def _validate(value: Any, info: ValidationInfo) -> datetime:
    tz = (info.context or {}).get(TZ_CONTEXT)
    if tz is None:  # a programming error, not the caller's: the endpoint layer always passes it
        raise RuntimeError("query times are validated with the center's time zone in the context")
    if not isinstance(value, str):
        raise ValueError(f"a date or time as text ({_EXAMPLES})")
    return parse_query_time(value, tz)


QueryTime = Annotated[
    datetime,
    PlainValidator(_validate),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "ISO 8601 date or date and time; without an offset, in the center's time zone",
        }
    ),
]
