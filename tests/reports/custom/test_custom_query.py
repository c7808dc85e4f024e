"""Custom reports run: real figures from known rows, every source, paging, streaming, summaries."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from crm.db import Database
from crm.models import Contact
from crm.reporting.catalog import SOURCES
from crm.reporting.definition import InvalidReportDefinition, parse_definition
from crm.reporting.facts import LegOutcome, QueueLegFact, rebuild_summaries, record_facts
from crm.reporting.query import SUMMARY_NOTE, plan_for, run_report, stream_rows
from tests.reports.custom.seed import AGENTS, CHANNELS, DISPOSITIONS, QUEUES, SHANGHAI, seed


def definition(source: str, dims: list[Any], measures: list[dict[str, Any]], **kw: Any) -> Any:
    return parse_definition(
        {
            "source": source,
            "date_from": kw.pop("date_from", "2026-11-01"),
            "date_to": kw.pop("date_to", "2026-11-30"),
            "dimensions": dims,
            "measures": measures,
            **kw,
        }
    )


def contact(at: datetime, queue: str, **kw: Any) -> dict[str, Any]:
    return {"channel": "call_in", "purpose": "service", "at": at, "queue": queue, "disposition": "", **kw}


async def test_contacts_by_local_day_and_queue_real_figures(db: Database) -> None:
    rows = [
        contact(datetime(2026, 11, 1, 15, 59, tzinfo=UTC), "sales"),  # 23:59 on Nov 1 in Shanghai
        contact(datetime(2026, 11, 1, 16, 0, tzinfo=UTC), "sales"),  # 00:00 on Nov 2
        contact(datetime(2026, 11, 1, 16, 30, tzinfo=UTC), "support", agent="1001"),
        contact(datetime(2026, 11, 2, 3, 0, tzinfo=UTC), "sales", channel="sms"),
        contact(datetime(2026, 10, 31, 15, 59, tzinfo=UTC), "sales"),  # Oct 31 local: outside
    ]
    async with db.write() as session:
        await session.execute(insert(Contact), rows)
    await rebuild_summaries(db, tz=SHANGHAI)
    d = definition(
        "contacts",
        [{"field": "at", "grain": "day"}, "queue"],
        [
            {"fn": "count", "label": "接触量"},
            {"fn": "rate", "where": [{"field": "channel", "op": "eq", "value": "sms"}]},
        ],
        date_to="2026-11-02",
    )
    for use_summaries in (True, False):
        result = await run_report(db, d, tz=SHANGHAI, use_summaries=use_summaries)
        assert [c.name for c in result.columns] == ["at", "queue", "count", "rate_where"]
        assert result.columns[2].label == "接触量"
        assert result.rows == [
            ("2026-11-01", "sales", 1, 0.0),
            ("2026-11-02", "sales", 2, 0.5),
            ("2026-11-02", "support", 1, 0.0),
        ]
        assert result.total_rows == 3
        assert result.totals == (None, None, 4, 0.25)
        assert (SUMMARY_NOTE in result.notes) is use_summaries


async def test_calls_measures_real_figures(db: Database) -> None:
    await seed(db, days=2, per_day=0)  # customers and campaigns only
    at = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)  # 10:00 local
    legs = [
        QueueLegFact(
            "a", "sales", at, at, LegOutcome.ANSWERED, wait_s=10, talk_s=100, within_sl=True, agent="1001"
        ),
        QueueLegFact("b", "sales", at, at, LegOutcome.ANSWERED, wait_s=30, talk_s=200, agent="1002"),
        QueueLegFact("c", "sales", at, at, LegOutcome.ABANDONED, wait_s=50, customer_id=1),
        QueueLegFact("d", "support", at, at, LegOutcome.ABANDONED, wait_s=5),
    ]
    await record_facts(db, legs, tz=SHANGHAI)
    d = definition(
        "calls",
        ["queue"],
        [
            {"fn": "count"},
            {"fn": "count", "where": [{"field": "outcome", "op": "eq", "value": "answered"}]},
            {"fn": "rate", "where": [{"field": "outcome", "op": "eq", "value": "abandoned"}]},
            {
                "fn": "avg",
                "field": "wait_s",
                "where": [{"field": "outcome", "op": "eq", "value": "answered"}],
            },
            {"fn": "sum", "field": "talk_s"},
            {"fn": "max", "field": "wait_s"},
            {"fn": "avg", "field": "within_sl"},
        ],
        date_to="2026-11-01",
    )
    result = await run_report(db, d, tz=SHANGHAI, use_summaries=False)
    assert result.rows == [
        ("sales", 3, 2, round(1 / 3, 6), 20.0, 300.0, 50.0, round(1 / 3, 6)),
        ("support", 1, 0, 1.0, None, 0.0, 5.0, 0.0),
    ]
    # within_sl's average is not a summary column: the whole report reads the legs.
    assert SUMMARY_NOTE not in result.notes
    summary = definition("calls", ["queue"], [m for m in d.to_dict()["measures"][:6]], date_to="2026-11-01")
    assert (await run_report(db, summary, tz=SHANGHAI)).rows == [r[:7] for r in result.rows]
    assert plan_for(summary, tz=SHANGHAI, dialect="sqlite").from_summary


@pytest.mark.parametrize("source", sorted(SOURCES))
async def test_every_source_and_field_runs(db: Database, source: str) -> None:
    await seed(db, days=10, per_day=20)
    catalog = SOURCES[source]
    for grain in ("hour", "day", "week", "month"):
        for field in catalog.fields.values():
            measures: list[dict[str, Any]] = [{"fn": "count"}]
            measures += [{"fn": a.value, "field": field.name} for a in sorted(field.aggregations)]
            dims: list[Any] = [{"field": catalog.time_field, "grain": grain}]
            if field.dimension:
                dims.append(field.name)
            d = definition(source, dims, measures, date_to="2026-11-10")
            result = await run_report(db, d, tz=SHANGHAI, page_size=1000)
            assert sum(r[len(dims)] for r in result.rows) == result.totals[len(dims)]
    total = await run_report(db, definition(source, [], [{"fn": "count"}], date_to="2026-11-10"), tz=SHANGHAI)
    assert total.rows[0][0] > 0


async def test_pages_are_stable_and_match_the_stream(db: Database) -> None:
    await seed(db, days=10)
    d = definition(
        "calls", [{"field": "day"}, "queue", "agent"], [{"fn": "count"}, {"fn": "sum", "field": "talk_s"}]
    )
    everything = [row async for row in stream_rows(db, d, tz=SHANGHAI)]
    first = await run_report(db, d, tz=SHANGHAI, page=1, page_size=17)
    assert first.total_rows == len(everything) > 17 * 3
    paged: list[tuple[Any, ...]] = []
    page = 1
    while len(paged) < first.total_rows:
        paged += (await run_report(db, d, tz=SHANGHAI, page=page, page_size=17)).rows
        page += 1
    assert paged == everything == sorted(everything, key=lambda r: (r[0], r[1], r[2]))
    assert (await run_report(db, d, tz=SHANGHAI, page=page, page_size=17)).rows == []


async def test_order_and_limit(db: Database) -> None:
    await seed(db, days=5)
    d = definition("calls", ["agent"], [{"fn": "count"}], order=[{"by": "count", "desc": True}], limit=3)
    result = await run_report(db, d, tz=SHANGHAI, page_size=2)
    assert result.total_rows == 3
    rest = await run_report(db, d, tz=SHANGHAI, page=2, page_size=2)
    counts = [r[1] for r in result.rows + list(rest.rows)]
    assert counts == sorted(counts, reverse=True) and len(counts) == 3
    streamed = [r async for r in stream_rows(db, d, tz=SHANGHAI)]
    assert streamed == list(result.rows) + list(rest.rows)
    with pytest.raises(InvalidReportDefinition, match="page_size"):
        await run_report(db, d, tz=SHANGHAI, page_size=0)


async def test_daylight_saving_days_are_local(db: Database) -> None:
    new_york = ZoneInfo("America/New_York")
    # DST ends on 2026-11-01 at 06:00 UTC: before it, local = UTC-4; after it, UTC-5.
    instants = [
        datetime(2026, 10, 31, 3, 30, tzinfo=UTC),  # Oct 30 23:30 EDT
        datetime(2026, 11, 1, 4, 30, tzinfo=UTC),  # Nov 1 00:30 EDT
        datetime(2026, 11, 2, 4, 30, tzinfo=UTC),  # Nov 1 23:30 EST
        datetime(2026, 11, 2, 5, 30, tzinfo=UTC),  # Nov 2 00:30 EST
    ]
    async with db.write() as session:
        await session.execute(insert(Contact), [contact(at, "q") for at in instants])
    d = definition("contacts", [{"field": "at", "grain": "hour"}], [{"fn": "count"}], date_from="2026-10-30")
    result = await run_report(db, d, tz=new_york, use_summaries=False)
    assert [r[0] for r in result.rows] == [
        at.astimezone(new_york).strftime("%Y-%m-%d %H:00") for at in instants
    ]
    by_day = await run_report(
        db,
        definition("contacts", [{"field": "at"}], [{"fn": "count"}], date_from="2026-10-30"),
        tz=new_york,
        use_summaries=False,
    )
    assert by_day.rows == [("2026-10-30", 1), ("2026-11-01", 2), ("2026-11-02", 1)]


def _random_contacts_definition(rng: random.Random) -> dict[str, Any]:
    fields = ["queue", "channel", "purpose", "agent", "campaign_id", "disposition"]
    values: dict[str, list[Any]] = {
        "queue": list(QUEUES),
        "channel": list(CHANNELS),
        "purpose": ["service", "marketing"],
        "agent": ["", *AGENTS],
        "campaign_id": [0, 1, 2],
        "disposition": list(DISPOSITIONS),
    }

    def cond() -> dict[str, Any]:
        name = rng.choice(fields)
        op = rng.choice(["eq", "ne", "in", "not_in"] + (["contains"] if name != "campaign_id" else ["ge"]))
        if op in ("in", "not_in"):
            value: Any = rng.sample(values[name], 2)
        elif op == "contains":
            value = rng.choice([v for v in values[name] if v])[:2]
        else:
            value = rng.choice(values[name])
        return {"field": name, "op": op, "value": value}

    dims: list[Any] = rng.sample(fields, rng.randrange(0, 3))
    if rng.random() < 0.7:
        dims.insert(0, {"field": "at", "grain": rng.choice(["day", "week", "month"])})
    measures = [{"fn": "count"}]
    if rng.random() < 0.5:
        measures.append({"fn": "rate", "where": [cond()]})
    if rng.random() < 0.5:
        measures.append({"fn": "count", "where": [cond(), cond()]})
    return {
        "source": "contacts",
        "date_from": f"2026-11-{rng.randrange(1, 10):02d}",
        "date_to": f"2026-11-{rng.randrange(10, 31):02d}",
        "dimensions": dims,
        "measures": measures,
        "filters": [cond() for _ in range(rng.randrange(0, 3))],
    }


def _random_calls_definition(rng: random.Random) -> dict[str, Any]:
    answered = [{"field": "outcome", "op": "eq", "value": "answered"}]
    abandoned = [{"field": "outcome", "op": "eq", "value": "abandoned"}]
    pool = [
        {"fn": "count"},
        {"fn": "count", "where": answered},
        {"fn": "count", "where": abandoned},
        {"fn": "count", "where": [*answered, {"field": "within_sl", "op": "eq", "value": True}]},
        {"fn": "rate", "where": answered},
        {"fn": "rate", "where": [{"field": "transferred", "op": "eq", "value": True}]},
        {"fn": "sum", "field": "talk_s"},
        {"fn": "sum", "field": "hold_s"},
        {"fn": "sum", "field": "wrap_s"},
        {"fn": "sum", "field": "wait_s", "where": abandoned},
        {"fn": "avg", "field": "wait_s", "where": answered},
        {"fn": "avg", "field": "talk_s"},
        {"fn": "max", "field": "wait_s"},
    ]
    dims: list[Any] = ["queue"] if rng.random() < 0.6 else []
    if rng.random() < 0.8:
        dims.insert(0, {"field": "day", "grain": rng.choice(["hour", "day", "week", "month"])})
    filters = []
    if rng.random() < 0.4:
        filters.append({"field": "queue", "op": rng.choice(["in", "not_in"]), "value": rng.sample(QUEUES, 2)})
    return {
        "source": "calls",
        "date_from": f"2026-11-{rng.randrange(1, 10):02d}",
        "date_to": f"2026-11-{rng.randrange(10, 31):02d}",
        "dimensions": dims,
        "measures": rng.sample(pool, rng.randrange(1, 6)),
        "filters": filters,
    }


async def test_summaries_and_raw_rows_give_identical_results(db: Database) -> None:
    await seed(db)
    rng = random.Random(2026)
    kinds: Counter[str] = Counter()
    for n in range(30):
        data = (_random_contacts_definition if n % 2 else _random_calls_definition)(rng)
        d = parse_definition(data)
        assert plan_for(d, tz=SHANGHAI, dialect="sqlite").from_summary, data
        kinds[d.source] += 1
        on = await run_report(db, d, tz=SHANGHAI, page_size=10_000)
        off = await run_report(db, d, tz=SHANGHAI, page_size=10_000, use_summaries=False)
        assert SUMMARY_NOTE in on.notes and SUMMARY_NOTE not in off.notes
        assert (on.rows, on.totals, on.total_rows) == (off.rows, off.totals, off.total_rows), data
        assert on.total_rows and on.totals[len(d.dimensions)]
    assert kinds == {"calls": 15, "contacts": 15}


async def test_reports_the_summary_cannot_answer_read_the_rows(db: Database) -> None:
    await seed(db, days=3)
    for data in (
        ("contacts", ["segment"], [{"fn": "count"}]),
        ("contacts", [{"field": "at", "grain": "hour"}], [{"fn": "count"}]),
        ("contacts", ["queue"], [{"fn": "count_distinct", "field": "customer_id"}]),
        ("calls", ["agent"], [{"fn": "count"}]),
        ("calls", ["queue"], [{"fn": "min", "field": "wait_s"}]),
        ("calls", ["queue"], [{"fn": "count", "where": [{"field": "outcome", "op": "ne", "value": "x"}]}]),
    ):
        d = definition(*data, date_to="2026-11-03")
        assert not plan_for(d, tz=SHANGHAI, dialect="sqlite").from_summary
        assert (await run_report(db, d, tz=SHANGHAI)).total_rows
