"""The column-at-a-time check of an import chunk against the row-at-a-time reference."""

from __future__ import annotations

import gc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.import_checks import (
    CUSTOMER_HEADERS,
    _columns,
    _drop_repeated_numbers,
    parse_customer_chunk,
    parse_rows,
)
from crm.importer import _collector_paused

HEADERS = ["name", "phones", "segment", "vip_level", "tags", "consent_marketing", "consent_sms", "email"]
_CELLS = {
    "name": st.sampled_from(["王芳", "", "  李雷 ", "'=SUM(A1)", "x" * 201, "'plain"]),
    "phones": st.sampled_from(
        [
            "13800138000",
            "+86 139 0013 9000",
            "13800138000;010-12345678",
            "13800138000；13800138000",
            "14012345678",
            "010 1234 5678",
            "4008123456",
            "",
            "abc",
            "8613700137000",
            "0086 13600136000",
            "１３８００１３８０００",
            "13800138000,",
        ]
    ),
    "segment": st.sampled_from(["", "gold", "'-x", "s" * 41]),
    "vip_level": st.sampled_from(["", "0", "07", "99", "100", "-1", "x", "３"]),
    "tags": st.sampled_from(["", "宽带;电视", "宽带", "a|b，c", " ; "]),
    "consent_marketing": st.sampled_from(["", "是", "否", "YES", "no", "maybe", "同意"]),
    "consent_sms": st.sampled_from(["", "1", "0", "True", "不同意"]),
    "email": st.sampled_from(["", "a@example.cn", "'@x", "e" * 255]),
}


@st.composite
def _rows(draw: st.DrawFn) -> list[tuple[int, list[str]]]:
    count = draw(st.integers(1, 30))
    rows = []
    for number in range(2, count + 2):
        cells = [draw(_CELLS[h]) for h in HEADERS]
        shape = draw(st.integers(0, 9))
        if shape == 0:
            cells = cells[: draw(st.integers(0, len(cells)))]  # a short row
        elif shape == 1:
            cells = [""] * len(HEADERS)  # a blank row
        elif shape == 2:
            cells = [*cells, "extra"]
        rows.append((number, cells))
    return rows


@settings(max_examples=400, deadline=None)
@given(_rows())
def test_checking_a_chunk_by_columns_gives_what_checking_row_by_row_gives(
    rows: list[tuple[int, list[str]]],
) -> None:
    columns = _columns(HEADERS, CUSTOMER_HEADERS, ("name", "phones"), "test.csv")
    expected = parse_rows(columns, [(n, list(c)) for n, c in rows])
    assert parse_customer_chunk(columns, [(n, list(c)) for n, c in rows]) == expected


def test_a_number_repeated_on_a_later_row_is_reported_with_the_first_row() -> None:
    rows = [(2, (), (("+8613800138000", "mobile"),)), (3, (), (("+8613800138000", "mobile"),))]
    problems: list = []
    kept = _drop_repeated_numbers(rows, {}, problems)  # type: ignore[arg-type]
    assert [r[0] for r in kept] == [2]
    assert problems[0].row == 3 and "row 2" in problems[0].reason


def test_the_collector_is_paused_during_an_import_and_restored_after_a_failure() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), _collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("bad file")
    assert gc.isenabled()
