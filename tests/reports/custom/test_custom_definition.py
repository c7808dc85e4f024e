"""Definitions are checked against the catalog; every bad one is refused naming what is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from crm.db import Database
from crm.models import Contact
from crm.reporting.definition import InvalidReportDefinition, describe_sources, parse_definition
from crm.reporting.query import run_report
from tests.reports.custom.seed import SHANGHAI, seed

GOOD: dict[str, Any] = {
    "source": "calls",
    "date_from": "2026-11-01",
    "date_to": "2026-11-30",
    "dimensions": [{"field": "day", "grain": "week"}, "queue"],
    "measures": [
        {"fn": "count", "label": "进线量"},
        {"fn": "rate", "where": [{"field": "outcome", "op": "eq", "value": "answered"}], "label": "接通率"},
        {"fn": "avg", "field": "talk_s"},
    ],
    "filters": [{"field": "queue", "op": "in", "value": ["sales", "vip"]}],
    "order": [{"by": "count", "desc": True}],
    "limit": 50,
}


def bad(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def test_a_good_definition_round_trips() -> None:
    d = parse_definition(GOOD)
    assert [m.name for m in d.measures] == ["count", "rate_where", "avg_talk_s"]
    assert [dim.name for dim in d.dimensions] == ["day_week", "queue"]
    assert parse_definition(d.to_dict()) == d


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        (bad(source="calls; DROP TABLE contacts"), "source", "unknown source"),
        (bad(source=None), "source", "unknown source"),
        (bad(dimensions=["talk_s"]), "dimensions[0].field", "cannot be a dimension"),
        (bad(dimensions=["customer_name"]), "dimensions[0].field", "no field 'customer_name'"),
        (bad(dimensions=["queue) FROM customers --"]), "dimensions[0].field", "no field"),
        (bad(dimensions=[{"field": "day", "grain": "minute"}]), "dimensions[0].grain", "unknown grain"),
        (bad(dimensions=[{"field": "queue", "grain": "day"}]), "dimensions[0].grain", "only the time field"),
        (bad(dimensions=["queue", "agent", "skill", "outcome", "segment"]), "dimensions", "at most 4"),
        (bad(dimensions=["queue", "queue"]), "dimensions", "twice"),
        (bad(measures=[]), "measures", "at least one"),
        (bad(measures=[{"fn": "median", "field": "talk_s"}]), "measures[0].fn", "unknown aggregation"),
        (bad(measures=[{"fn": "sum", "field": "queue"}]), "measures[0].fn", "not allowed on queue"),
        (bad(measures=[{"fn": "sum", "field": "customer_id"}]), "measures[0].fn", "not allowed"),
        (bad(measures=[{"fn": "count", "field": "queue"}]), "measures[0].field", "takes no field"),
        (bad(measures=[{"fn": "rate"}]), "measures[0].where", "rate needs a where"),
        (bad(measures=[{"fn": "count", "label": "a\nb"}]), "measures[0].label", "label"),
        (bad(measures=[{"fn": "count", "sql": "1"}]), "measures[0].sql", "unknown key"),
        (bad(filters=[{"field": "queue", "op": "like", "value": "%"}]), "filters[0].op", "operator 'like'"),
        (bad(filters=[{"field": "queue", "op": "gt", "value": "a"}]), "filters[0].op", "does not apply"),
        (
            bad(filters=[{"field": "talk_s", "op": "contains", "value": "1"}]),
            "filters[0].op",
            "does not apply",
        ),
        (bad(filters=[{"field": "talk_s", "op": "gt", "value": "10"}]), "filters[0].value", "takes a number"),
        (bad(filters=[{"field": "priority", "op": "eq", "value": 1.5}]), "filters[0].value", "whole number"),
        (bad(filters=[{"field": "priority", "op": "eq", "value": True}]), "filters[0].value", "whole number"),
        (bad(filters=[{"field": "within_sl", "op": "eq", "value": 1}]), "filters[0].value", "true or false"),
        (bad(filters=[{"field": "queue", "op": "in", "value": []}]), "filters[0].value", "at least one"),
        (bad(filters=[{"field": "queue", "op": "in", "value": ["a", 1]}]), "filters[0].value[1]", "text"),
        (
            bad(filters=[{"field": "talk_s", "op": "between", "value": [5]}]),
            "filters[0].value",
            "[low, high]",
        ),
        (
            bad(filters=[{"field": "talk_s", "op": "between", "value": [9, 5]}]),
            "filters[0].value",
            "low is above",
        ),
        (bad(filters=[{"field": "talk_s", "op": "eq"}]), "filters[0].value", "required"),
        (bad(filters=[{"field": "day", "op": "eq", "value": "2026-11-01"}]), "filters[0].field", "no field"),
        (bad(order=[{"by": "talk_s"}]), "order[0].by", "not a column"),
        (bad(limit=0), "limit", "from 1 to"),
        (bad(limit=1_000_000), "limit", "from 1 to"),
        (bad(limit="10"), "limit", "whole number"),
        (bad(date_from=None), "date_from", "required"),
        (bad(date_from="2026-13-01"), "date_from", "not a date"),
        (bad(date_to="2026-10-01"), "date_to", "before"),
        (bad(date_from="2025-01-01", date_to="2026-11-30"), "date_to", "at most 366 days"),
        (bad(extra=1), "extra", "unknown key"),
        (bad(filters=[{"field": "priority", "op": "eq", "value": 2**70}]), "filters[0].value", "64 bits"),
        (
            bad(filters=[{"field": "priority", "op": "in", "value": [1, -(2**63) - 1]}]),
            "filters[0].value[1]",
            "64 bits",
        ),
        (
            bad(filters=[{"field": "talk_s", "op": "between", "value": [0, 2**64]}]),
            "filters[0].value[1]",
            "64 bits",
        ),
        (
            bad(
                measures=[{"fn": "rate", "where": [{"field": "wait_s", "op": "gt", "value": 10**30}]}],
                order=[],
            ),
            "measures[0].where[0].value",
            "64 bits",
        ),
    ],
)
def test_bad_definitions_are_refused_naming_the_place(data: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(InvalidReportDefinition) as caught:
        parse_definition(data)
    assert caught.value.path == path
    assert words in str(caught.value)
    assert str(caught.value).startswith(path)


def test_the_catalog_as_a_builder_sees_it() -> None:
    sources = describe_sources()
    assert sorted(sources) == ["agent_states", "answers", "calls", "contacts", "offers", "tickets"]
    calls = sources["calls"]
    assert calls["time_field"] == "day" and calls["grains"] == ["hour", "day", "week", "month"]
    assert calls["fields"]["talk_s"] == {
        "type": "seconds",
        "flag": False,
        "dimension": False,
        "aggregations": ["avg", "count_distinct", "max", "min", "sum"],
        "operators": ["between", "eq", "ge", "gt", "in", "le", "lt", "ne", "not_in"],
    }
    assert calls["fields"]["within_sl"]["operators"] == ["eq", "ne"]
    assert sources["offers"]["fields"]["outcome"]["operators"] == ["contains", "eq", "in", "ne", "not_in"]
    assert all("name" not in s["fields"] and "phone" not in s["fields"] for s in sources.values())


def test_not_an_object() -> None:
    with pytest.raises(InvalidReportDefinition, match="JSON object"):
        parse_definition(["calls"])  # type: ignore[arg-type]


async def test_sql_in_values_is_only_ever_a_value(sqlite_db: Database) -> None:
    await seed(sqlite_db, days=3)
    hostile = [
        "x' OR '1'='1",
        "'; DROP TABLE contacts; --",
        "%",
        "_",
        "\\",
        'sales" --',
    ]
    for value in hostile:
        for op, v in (("eq", value), ("contains", value), ("in", [value, "sales"])):
            d = parse_definition(
                {
                    "source": "contacts",
                    "date_from": "2026-11-01",
                    "date_to": "2026-11-03",
                    "dimensions": ["queue"],
                    "measures": [{"fn": "count", "label": value}],
                    "filters": [{"field": "queue", "op": op, "value": v}],
                }
            )
            for use_summaries in (True, False):
                result = await run_report(sqlite_db, d, tz=SHANGHAI, use_summaries=use_summaries)
                expected = [] if op != "in" else [r for r in result.rows if r[0] == "sales"]
                assert list(result.rows) == expected
                assert result.columns[1].label == value
    async with sqlite_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Contact)) == 120


def test_whole_numbers_at_the_64_bit_ends_are_taken() -> None:
    ends = [-(2**63), 2**63 - 1]
    d = parse_definition(bad(filters=[{"field": "priority", "op": "between", "value": ends}]))
    assert d.filters[0].value == tuple(ends)


async def test_a_filter_at_the_64_bit_end_runs(sqlite_db: Database) -> None:
    await seed(sqlite_db, days=3)
    ends = [-(2**63), 2**63 - 1]
    definition = parse_definition(bad(filters=[{"field": "priority", "op": "between", "value": ends}]))
    assert (await run_report(sqlite_db, definition, tz=SHANGHAI)).rows
