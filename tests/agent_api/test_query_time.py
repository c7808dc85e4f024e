"""Times in query strings: ISO 8601; without an offset, in the center's time zone; bounded."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_api.query_time import EARLIEST, LATEST, parse_query_time

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01", datetime(2026, 11, 30, 16, 0, tzinfo=UTC)),
        ("2026-12-01T08:30", datetime(2026, 12, 1, 0, 30, tzinfo=UTC)),
        ("2026-12-01 08:30:00", datetime(2026, 12, 1, 0, 30, tzinfo=UTC)),
        ("2026-12-01T08:30:00Z", datetime(2026, 12, 1, 8, 30, tzinfo=UTC)),
        ("2026-12-01T08:30:00+01:00", datetime(2026, 12, 1, 7, 30, tzinfo=UTC)),
    ],
)
def test_a_time_without_an_offset_is_read_in_the_centers_time_zone(text: str, expected: datetime):
    parsed = parse_query_time(text, SHANGHAI)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+14:00",  # before the calendar's first instant
        "0001-01-01",
        "9999-12-31T23:59:59-14:00",  # after its last
        "9999-12-31",
        "1969-12-31T23:59:59Z",
        "3000-01-01T00:00:00Z",
    ],
)
def test_a_time_out_of_range_is_refused_saying_the_range(text: str):
    with pytest.raises(ValueError, match="between 1970-01-01 and 2999-12-31"):
        parse_query_time(text, SHANGHAI)


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2026-13-01", "1700000000", "2026-12-01T08:30+99:00", "x" * 500]
)
def test_text_that_is_not_a_time_is_refused_with_an_example(text: str):
    with pytest.raises(ValueError, match="2026-12-01"):
        parse_query_time(text, SHANGHAI)


def test_the_range_ends_are_instants_in_utc():
    assert parse_query_time(EARLIEST.isoformat(), SHANGHAI) == EARLIEST
    with pytest.raises(ValueError):
        parse_query_time(LATEST.isoformat(), SHANGHAI)


@given(st.text(max_size=60) | st.datetimes().map(datetime.isoformat))
def test_any_text_is_a_utc_time_in_range_or_a_value_error(text: str):
    try:
        parsed = parse_query_time(text, SHANGHAI)
    except ValueError:
        return
    assert parsed.tzinfo is UTC and EARLIEST <= parsed < LATEST
