"""Agent assessment: calls and times from legs, states from intervals, QA, offers, questionnaires."""

from __future__ import annotations

import pytest

from crm.db import Database
from crm.reporting.facts import AgentIntervalFact, LegOutcome
from crm.reporting.standard import STANDARD_REPORTS
from tests.reports.standard.seed import (
    SHANGHAI,
    add,
    answer,
    campaign,
    customer,
    facts,
    leg,
    local,
    params,
    presentation,
    question,
    recording,
    table,
    totals,
)

DAY = "2026-11-18"


def interval(
    agent: str, state: str, start: str, end: str, reason: str = "", end_day: str = DAY
) -> AgentIntervalFact:
    return AgentIntervalFact(agent, state, local(DAY, start), local(end_day, end), reason=reason)


async def seed(db: Database) -> None:
    await facts(
        db,
        leg(
            local(DAY, "09:00"), LegOutcome.ANSWERED, call="a1", agent="alice", talk=100, hold_s=20, wrap_s=30
        ),
        leg(
            local(DAY, "09:30"),
            LegOutcome.ANSWERED,
            call="a2",
            queue="sales",
            agent="alice",
            talk=60,
            wrap_s=10,
        ),
        leg(local(DAY, "10:00"), LegOutcome.ANSWERED, call="b1", agent="bob", talk=200, wrap_s=40),
        leg(local(DAY, "10:05"), LegOutcome.ABANDONED, call="x1", wait=30),
        leg(local("2026-11-19", "10:00"), LegOutcome.ANSWERED, call="b2", agent="bob", talk=999),
        interval("alice", "available", "08:00", "09:00"),
        interval("alice", "on-call", "09:00", "09:10"),
        interval("alice", "paused", "09:10", "09:25", "break"),
        interval("alice", "paused", "12:00", "13:00", "lunch"),
        interval("alice", "logged-out", "13:00", "14:00"),
        interval("bob", "available", "08:00", "10:00"),
        interval("bob", "paused", "10:00", "10:30", "coaching"),
        # Across local midnight: only the half hour before it belongs to the 18th.
        interval("bob", "available", "23:30", "00:30", end_day="2026-11-19"),
    )
    await add(db, customer(1), customer(2), customer(3))
    await add(
        db,
        campaign(1, "Broadband"),
        campaign(2, "Survey", "questionnaire"),
        campaign(3, "Profile", "info_collection"),
    )
    await add(db, question(1, 2, 1), question(2, 2, 2))
    at = local(DAY, "11:00")
    offers = await add(
        db,
        presentation(1, 1, "alice", at, "accepted"),
        presentation(1, 2, "alice", at, "accepted"),
        presentation(1, 3, "alice", at, "declined"),
        presentation(1, 1, "bob", at, "later"),
        presentation(1, 2, "alice", local("2026-11-19"), "accepted"),
        presentation(3, 1, "alice", at),  # information collection: not an offer
        presentation(2, 1, "alice", at),
        presentation(2, 2, "alice", at),
        presentation(2, 3, "bob", at),
    )
    complete_alice, partial_alice, complete_bob = (p.id for p in offers[6:9])
    await add(
        db,
        answer(complete_alice, 1, 1, at),
        answer(complete_alice, 2, 1, at),
        answer(partial_alice, 1, 2, at),
        answer(complete_bob, 1, 3, at),
        answer(complete_bob, 2, 3, at),
        recording("a1", "alice", local(DAY, "09:00"), 80),
        recording("a2", "alice", local(DAY, "09:30"), 90),
        recording("b1", "bob", local(DAY, "10:00"), None),
        recording("a9", "alice", local("2026-11-20"), 10),
    )


COLUMNS = (
    "agent",
    "handled",
    "talk",
    "hold",
    "wrap_up",
    "aht",
    "logged_in",
    "paused",
    "pause_break",
    "pause_lunch",
    "pause_coaching",
    "occupancy",
    "qa_score",
    "offers_presented",
    "offers_accepted",
    "conversion",
    "questionnaires_completed",
)


async def test_assessment_figures(db: Database) -> None:
    await seed(db)
    result = await STANDARD_REPORTS["agent_performance"].run(db, params(DAY), tz=SHANGHAI)
    alice, bob = table(result, *COLUMNS)
    assert alice == pytest.approx(
        (
            "alice",
            2,
            160.0,
            20.0,
            40.0,
            110.0,
            8700.0,
            4500.0,
            900.0,
            3600.0,
            0.0,
            220 / 4200,
            85.0,
            3,
            2,
            2 / 3,
            1,
        )
    )
    assert bob == pytest.approx(
        ("bob", 1, 200.0, 0.0, 40.0, 240.0, 10800.0, 1800.0, 0.0, 0.0, 1800.0, 240 / 9000, None, 1, 0, 0.0, 1)
    )
    assert totals(result, *COLUMNS[1:]) == pytest.approx(
        (
            3,
            360.0,
            20.0,
            80.0,
            460 / 3,
            19500.0,
            6300.0,
            900.0,
            3600.0,
            1800.0,
            460 / 13200,
            85.0,
            4,
            2,
            0.5,
            2,
        )
    )
    keys = {c.name: c.label_key for c in result.columns}
    assert keys["pause_break"] == "report.col.pause.break"
    assert keys["pause_coaching"] == "report.col.pause.other"  # a site's own reason


async def test_an_agent_sees_only_their_own_row(db: Database) -> None:
    await seed(db)
    result = await STANDARD_REPORTS["agent_performance"].run(db, params(DAY, agents=("alice",)), tz=SHANGHAI)
    assert table(result, "agent", "handled", "paused", "offers_presented") == [("alice", 2, 4500.0, 3)]
    assert totals(result, "handled", "qa_score", "qa_reviews", "questionnaires_completed") == (2, 85.0, 2, 1)
    assert [c.name for c in result.columns if c.name.startswith("pause_")] == ["pause_break", "pause_lunch"]


async def test_queue_and_campaign_filters(db: Database) -> None:
    await seed(db)
    run = STANDARD_REPORTS["agent_performance"].run
    sales = await run(db, params(DAY, queues=("sales",)), tz=SHANGHAI)
    assert table(sales, "agent", "handled", "talk")[0] == ("alice", 1, 60.0)
    assert sales.notes == ("report.note.agent_queue_filter",)  # says what the queue filter covers
    assert (await run(db, params(DAY), tz=SHANGHAI)).notes == ()
    survey_only = await run(db, params(DAY, campaign_ids=(2,)), tz=SHANGHAI)
    assert table(survey_only, "agent", "offers_presented", "questionnaires_completed") == [
        ("alice", 0, 1),
        ("bob", 0, 1),
    ]
