"""Queue performance from queue_slot_stats: exact figures, every grain, local midnight, filters."""

from __future__ import annotations

import pytest

from crm.db import Database
from crm.reporting.facts import LegOutcome
from crm.reporting.results import ValueType
from crm.reporting.standard import STANDARD_REPORTS, Grain, InvalidReportParams
from crm.reporting.standard.params import period_of
from tests.reports.standard.seed import SHANGHAI, facts, leg, local, params, table, totals

FIGURES = (
    "offered",
    "answered",
    "abandoned",
    "other_outcome",
    "abandon_rate",
    "service_level",
    "asa",
    "aht",
    "longest_wait",
)


async def seed(db: Database) -> None:
    # 23:50 and 00:05 local are both 2026-11-17 in UTC: the report must split them by local day.
    await facts(
        db,
        leg(
            local("2026-11-17", "23:50"),
            LegOutcome.ANSWERED,
            call="a",
            wait=10,
            talk=100,
            hold_s=20,
            wrap_s=30,
            within_sl=True,
            agent="alice",
        ),
        leg(local("2026-11-17", "23:52"), LegOutcome.ABANDONED, call="b", wait=40),
        leg(local("2026-11-18", "00:05"), LegOutcome.ANSWERED, call="c", wait=30, talk=200, agent="bob"),
        leg(
            local("2026-11-18", "00:20"),
            LegOutcome.ANSWERED,
            call="d",
            queue="sales",
            wait=5,
            talk=60,
            within_sl=True,
            agent="alice",
        ),
        leg(local("2026-11-18", "10:00"), LegOutcome.OVERFLOWED, call="e", wait=70),
        leg(local("2026-11-19", "09:00"), LegOutcome.ANSWERED, call="f", wait=1, talk=10, agent="bob"),
    )


async def run(db: Database, *args: str, **kw: object):
    return await STANDARD_REPORTS["queue_performance"].run(db, params(*args, **kw), tz=SHANGHAI)


async def test_daily_figures_and_totals(db: Database) -> None:
    await seed(db)
    result = await run(db, "2026-11-17", "2026-11-18")
    assert table(result, "period", "queue", *FIGURES) == [
        ("2026-11-17", "support", 2, 1, 1, 0, 0.5, 0.5, 10.0, 150.0, 40.0),
        ("2026-11-18", "sales", 1, 1, 0, 0, 0.0, 1.0, 5.0, 60.0, 5.0),
        ("2026-11-18", "support", 2, 1, 0, 1, 0.0, 0.0, 30.0, 200.0, 70.0),
    ]
    assert totals(result, *FIGURES) == pytest.approx((5, 3, 1, 1, 0.2, 0.4, 15.0, 410 / 3, 70.0))
    assert result.columns[result.column("period")].type is ValueType.DATE
    assert result.columns[result.column("service_level")].label_key == "report.col.service_level"
    assert result.chart is not None and result.chart.x == "period"


async def test_slots_and_hours_fall_on_local_days_across_midnight(db: Database) -> None:
    await seed(db)
    slots = await run(db, "2026-11-17", "2026-11-18", grain=Grain.SLOT15)
    assert table(slots, "period", "queue", "offered", "answered", "abandoned") == [
        ("2026-11-17T23:45", "support", 2, 1, 1),
        ("2026-11-18T00:00", "support", 1, 1, 0),
        ("2026-11-18T00:15", "sales", 1, 1, 0),
        ("2026-11-18T10:00", "support", 1, 0, 0),
    ]
    assert slots.columns[0].type is ValueType.DATETIME
    hours = await run(db, "2026-11-17", "2026-11-18", grain=Grain.HOUR)
    assert table(hours, "period", "queue", "offered", "asa") == [
        ("2026-11-17T23:00", "support", 2, 10.0),
        ("2026-11-18T00:00", "sales", 1, 5.0),
        ("2026-11-18T00:00", "support", 1, 30.0),
        ("2026-11-18T10:00", "support", 1, None),
    ]


async def test_week_and_month_roll_up_days(db: Database) -> None:
    await seed(db)
    weeks = await run(db, "2026-11-17", "2026-11-19", grain=Grain.WEEK)
    assert table(weeks, "period", "queue", "offered", "answered", "longest_wait") == [
        ("2026-11-16", "sales", 1, 1, 5.0),  # the Monday of the week
        ("2026-11-16", "support", 5, 3, 70.0),
    ]
    months = await run(db, "2026-11-01", "2026-11-30", grain="month")
    assert table(months, "period", "queue", "offered") == [("2026-11", "sales", 1), ("2026-11", "support", 5)]


async def test_range_is_inclusive_local_days_and_queues_filter(db: Database) -> None:
    await seed(db)
    one_day = await run(db, "2026-11-18")
    assert totals(one_day, "offered", "answered") == (3, 2)
    support = await run(db, "2026-11-17", "2026-11-19", queues=("support",))
    assert {row[1] for row in support.rows} == {"support"}
    assert totals(support, "offered", "answered", "abandoned") == (5, 3, 1)
    empty = await run(db, "2026-12-01")
    assert empty.rows == [] and totals(empty, "offered", "service_level") == (0, None)


def test_bad_params_are_refused_with_a_clear_message() -> None:
    with pytest.raises(InvalidReportParams, match="before it starts"):
        params("2026-11-18", "2026-11-17")
    with pytest.raises(InvalidReportParams, match="unknown grain 'minute'"):
        params("2026-11-18", grain="minute")
    with pytest.raises(InvalidReportParams, match="at most 366"):
        params("2025-01-01", "2026-11-17")
    with pytest.raises(InvalidReportParams, match="slot15 grain covers at most 7 days"):
        params("2026-11-01", "2026-11-08", grain=Grain.SLOT15)
    with pytest.raises(InvalidReportParams, match="hour grain covers at most 31 days"):
        params("2026-10-01", "2026-11-01", grain=Grain.HOUR)
    assert params("2026-11-01", "2026-11-07", grain=Grain.SLOT15).grain is Grain.SLOT15
    assert params("2026-10-01", "2026-10-31", grain=Grain.HOUR).grain is Grain.HOUR


@pytest.mark.parametrize(
    ("day", "slot", "grain", "label"),
    [
        ("2026-11-22", 1425, Grain.SLOT15, "2026-11-22T23:45"),
        ("2026-11-22", 1425, Grain.HOUR, "2026-11-22T23:00"),
        ("2026-11-22", 1425, Grain.DAY, "2026-11-22"),
        ("2026-11-22", 0, Grain.WEEK, "2026-11-16"),  # a Sunday belongs to the week of the Monday before
        ("2026-11-23", 0, Grain.WEEK, "2026-11-23"),
        ("2027-01-01", 0, Grain.WEEK, "2026-12-28"),  # across the new year
        ("2026-11-30", 0, Grain.MONTH, "2026-11"),
    ],
)
def test_period_labels(day: str, slot: int, grain: Grain, label: str) -> None:
    assert period_of(day, slot, grain) == label
