"""Service closed loop, IVR paths and abandon analysis from known tickets, sessions and legs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.db import Database
from crm.reporting.facts import IvrSessionFact, LegOutcome
from crm.reporting.standard import STANDARD_REPORTS, service_loop
from crm.sla import ChinaWorkCalendar
from tests.reports.standard.seed import (
    SHANGHAI,
    add,
    customer,
    facts,
    leg,
    local,
    params,
    table,
    ticket,
    totals,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday afternoon in Shanghai
FRIDAY = "2026-11-20"
# Opened on Friday 20 November: the 3rd working day after is Wednesday 25, so the end is midnight.
THIRD_WORKING_DAY_ENDS = local("2026-11-26", "00:00")

LOOP = (
    "ticket_kind",
    "assignee",
    "opened",
    "closed",
    "closed_in_3_working_days",
    "closed_in_3_working_days_rate",
    "overdue",
    "overdue_rate",
    "satisfaction",
    "evaluated",
)


async def seed_tickets(db: Database) -> None:
    await add(db, customer(1))
    due = THIRD_WORKING_DAY_ENDS
    await add(
        db,
        ticket(1, "complaint", "alice", local(FRIDAY, "10:00"), due, local("2026-11-25", "18:00"), 5),
        ticket(2, "complaint", "alice", local(FRIDAY, "11:00"), due, local("2026-11-26", "09:00"), 3),
        ticket(3, "complaint", "bob", local(FRIDAY, "12:00"), local("2026-11-22")),  # open, past due
        ticket(4, "consultation", None, local(FRIDAY, "23:30"), due),  # open, not yet due
        # A site whose SLA is one day: overdue against its due_at, yet closed within 3 working days.
        ticket(
            5, "service_request", "alice", local(FRIDAY, "09:00"), local("2026-11-21"), local("2026-11-23")
        ),
        ticket(6, "consultation", "alice", local("2026-11-21", "00:10"), due),  # the next local day
        ticket(7, "consultation", "alice", local("2026-11-19", "23:59"), due),  # the day before
    )


async def test_service_loop(db: Database) -> None:
    await seed_tickets(db)

    async def run(**kw: object):
        return await service_loop.service_loop(
            db, params(FRIDAY, **kw), tz=SHANGHAI, now=NOW, calendar=ChinaWorkCalendar()
        )

    result = await run()
    assert table(result, *LOOP) == [
        ("complaint", "alice", 2, 2, 1, 0.5, 1, 0.5, 4.0, 2),
        ("complaint", "bob", 1, 0, 0, 0.0, 1, 1.0, None, 0),
        ("consultation", "", 1, 0, 0, 0.0, 0, 0.0, None, 0),
        ("service_request", "alice", 1, 1, 1, 1.0, 1, 1.0, None, 0),
    ]
    assert totals(result, *LOOP[2:]) == (5, 3, 2, 0.4, 3, 0.6, 4.0, 2)
    bob = await run(agents=("bob",))
    assert table(bob, "ticket_kind", "assignee", "opened") == [("complaint", "bob", 1)]


async def test_service_loop_runs_on_the_clock(db: Database) -> None:
    await seed_tickets(db)
    result = await STANDARD_REPORTS["service_loop"].run(db, params(FRIDAY), tz=SHANGHAI)
    assert totals(result, "opened", "closed_in_3_working_days") == (5, 2)


def session(call: str, at: datetime, nodes: tuple[str, ...], outcome: str, **kw: object) -> IvrSessionFact:
    return IvrSessionFact(call, at, at + timedelta(seconds=40), nodes, outcome, **kw)  # type: ignore[arg-type]


async def test_ivr_paths(db: Database) -> None:
    at = local("2026-11-18")
    balance = ("main", "billing", "balance")
    await facts(
        db,
        *(session(f"s{i}", at, balance, "hung-up", self_service=True) for i in range(3)),
        session("q1", at, ("main", "support"), "queued", queue="support"),
        session("q2", at, ("main", "support"), "queued", queue="support"),
        session("h1", at, ("main", "support"), "caller-hung-up"),
        session("h2", at, ("main",), "caller-hung-up"),
        session("n1", local("2026-11-19"), ("main",), "caller-hung-up"),
    )
    run = STANDARD_REPORTS["ivr_paths"].run
    result = await run(db, params("2026-11-18"), tz=SHANGHAI)
    columns = (
        "ivr_path",
        "exit_node",
        "ivr_outcome",
        "sessions",
        "share",
        "self_served",
        "self_service_rate",
    )
    assert table(result, *columns) == [
        ("main > billing > balance", "balance", "hung-up", 3, 3 / 7, 3, 1.0),
        ("main > support", "support", "queued", 2, 2 / 7, 0, 0.0),
        ("main", "main", "caller-hung-up", 1, 1 / 7, 0, 0.0),
        ("main > support", "support", "caller-hung-up", 1, 1 / 7, 0, 0.0),
    ]
    assert totals(result, *columns[3:]) == (7, 1.0, 3, 3 / 7)
    support = await run(db, params("2026-11-18", queues=("support",)), tz=SHANGHAI)
    assert totals(support, "sessions", "self_served") == (2, 0)


ABANDON = (
    "abandoned",
    "short_abandons",
    "short_abandon_rate",
    "average_wait",
    "longest_wait",
    "wait_0_10s",
    "wait_10_30s",
    "wait_30_60s",
    "wait_1_2m",
    "wait_2_5m",
    "wait_over_5m",
    "position_1",
    "position_2",
    "position_3",
    "position_4_5",
    "position_6_10",
    "position_over_10",
)


async def test_abandon_analysis(db: Database) -> None:
    day = "2026-11-18"

    def gone(hhmm: str, wait: float, position: int, call: str, **kw: object):
        return leg(local(day, hhmm), LegOutcome.ABANDONED, call=call, wait=wait, position=position, **kw)

    await facts(
        db,
        gone("08:05", 3, 1, "a"),
        gone("08:40", 15, 2, "b"),
        gone("08:50", 45, 3, "c"),
        gone("14:00", 90, 5, "d"),
        gone("14:10", 200, 8, "e"),
        gone("23:59", 400, 12, "f", queue="sales"),
        leg(local(day, "08:00"), LegOutcome.ANSWERED, call="g", wait=500, agent="alice"),
        leg(local("2026-11-19", "00:01"), LegOutcome.ABANDONED, call="h", wait=20, position=1),
    )
    run = STANDARD_REPORTS["abandon_analysis"].run
    result = await run(db, params(day), tz=SHANGHAI)
    hours = {row[0]: row[1:] for row in table(result, "hour_of_day", *ABANDON)}
    assert len(hours) == 24
    assert hours["08:00"] == pytest.approx((3, 1, 1 / 3, 21.0, 45.0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0))
    assert hours["14:00"] == (2, 0, 0.0, 145.0, 200.0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0)
    assert hours["23:00"] == (1, 0, 0.0, 400.0, 400.0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1)
    assert hours["00:00"] == (0, 0, None, None, 0.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    assert totals(result, *ABANDON) == pytest.approx((6, 1, 1 / 6, 125.5, 400.0, *[1] * 12))
    sales = await run(db, params(day, queues=("sales",)), tz=SHANGHAI)
    assert totals(sales, "abandoned", "wait_over_5m") == (1, 1)
