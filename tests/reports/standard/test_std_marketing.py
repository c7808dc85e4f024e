"""Marketing detail and campaign resources: presentations, holdbacks, targets, channels."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from crm import audit
from crm.campaigns import list_campaigns
from crm.contacts import NewContact, record_contact
from crm.db import Database
from crm.kinds import CampaignStatus, Channel
from crm.reporting.facts import HoldbackFact, HoldbackSource
from crm.reporting.standard import STANDARD_REPORTS, campaign_resources, targets
from crm.reporting.tables import ContactDayCountRow
from tests.reports.standard.seed import (
    SHANGHAI,
    add,
    campaign,
    customer,
    facts,
    local,
    params,
    presentation,
    table,
    totals,
)

DAY = "2026-11-18"
AT = local(DAY, "11:00")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def held(
    source: HoldbackSource, cause: str, agent: str, customer_id: int, campaign_id: int | None
) -> HoldbackFact:
    return HoldbackFact(AT, source, cause, agent=agent, customer_id=customer_id, campaign_id=campaign_id)


async def seed_detail(db: Database) -> None:
    await add(db, customer(1, "gold"), customer(2, "gold"), customer(3, "regular"))
    await add(db, campaign(1, "Broadband"), campaign(2, "Insurance"))
    await add(
        db,
        presentation(1, 1, "alice", AT, "accepted"),
        presentation(1, 2, "alice", AT, "declined"),
        presentation(1, 3, "alice", AT, "accepted"),
        presentation(1, 1, "bob", AT, "later"),
        presentation(2, 1, "alice", AT, "declined"),
        presentation(2, 1, "alice", local("2026-11-19"), "accepted"),  # after the range
    )
    await facts(
        db,
        held(HoldbackSource.GATE, "threshold-reached", "alice", 3, None),
        held(HoldbackSource.GATE, "threshold-reached", "alice", 3, None),
        held(HoldbackSource.RULE, "frequency_cap", "alice", 1, 1),
        held(HoldbackSource.RULE, "quiet_hours", "bob", 2, 2),
    )


DETAIL = (
    "campaign_id",
    "campaign",
    "agent",
    "segment",
    "presented",
    "accepted",
    "declined",
    "conversion",
    "held_by_gate",
    "held_by_rule",
)


async def test_marketing_detail_per_campaign_agent_and_segment(db: Database) -> None:
    await seed_detail(db)
    run = STANDARD_REPORTS["marketing_detail"].run
    result = await run(db, params(DAY), tz=SHANGHAI)
    assert table(result, *DETAIL) == [
        (1, "Broadband", "alice", "gold", 2, 1, 1, 0.5, 0, 1),
        (1, "Broadband", "alice", "regular", 1, 1, 0, 1.0, 0, 0),
        (1, "Broadband", "bob", "gold", 1, 0, 0, 0.0, 0, 0),
        (2, "Insurance", "alice", "gold", 1, 0, 1, 0.0, 0, 0),
        (2, "Insurance", "bob", "gold", 0, 0, 0, None, 0, 1),
        (None, "", "alice", "regular", 0, 0, 0, None, 2, 0),  # the gate held every offer of the call
    ]
    assert totals(result, *DETAIL[4:]) == (5, 2, 2, 0.4, 2, 2)

    one_campaign = await run(db, params(DAY, campaign_ids=(1,)), tz=SHANGHAI)
    assert [row[:4] for row in table(one_campaign, *DETAIL)] == [
        (1, "Broadband", "alice", "gold"),
        (1, "Broadband", "alice", "regular"),
        (1, "Broadband", "bob", "gold"),
    ]
    bob = await run(db, params(DAY, agents=("bob",)), tz=SHANGHAI)
    assert totals(bob, "presented", "held_by_gate", "held_by_rule") == (1, 0, 1)


async def seed_resources(db: Database) -> None:
    await add(
        db,
        *(customer(i, "gold") for i in (1, 2, 3, 4)),
        customer(5, "regular", vip_level=1),
        customer(6, "regular"),
    )
    await add(
        db,
        campaign(
            1, "Broadband", status="online", target_rule='segment == "gold"', channels=["call_in", "sms"]
        ),
        campaign(2, "Upgrade", status="online", target_rule='segment == "regular" and vip_level >= 1'),
        campaign(3, "Broken", status="draft", target_rule="no_such_field > 1"),
    )
    await add(
        db,
        presentation(1, 1, "alice", AT),
        presentation(1, 2, "alice", AT),
        presentation(1, 2, "bob", AT),
        presentation(1, 4, "alice", local("2026-10-01")),  # earlier in the campaign's life: reached
        presentation(1, 3, "alice", local("2026-11-25")),  # after the range: not yet reached
        presentation(2, 6, "bob", AT),
    )
    # An outbound campaign call: a contact stored under the campaign and the offer made on it.
    called = await record_contact(db, NewContact(1, Channel.CALL_OUT, at=AT, campaign_id=1), tz=SHANGHAI)
    await add(db, presentation(1, 1, "alice", AT, contact_id=called, channel="call_out"))

    def counts(day: str, channel: str, campaign_id: int, n: int) -> ContactDayCountRow:
        return ContactDayCountRow(
            day=day,
            queue="",
            channel=channel,
            purpose="marketing",
            agent="",
            campaign_id=campaign_id,
            disposition="",
            contacts=n,
        )

    await add(
        db,
        counts(DAY, "call_in", 1, 5),
        counts(DAY, "sms", 1, 100),
        counts("2026-11-17", "sms", 1, 20),
        counts("2026-11-30", "sms", 1, 7),
        counts(DAY, "call_out", 2, 3),
    )
    await facts(
        db,
        held(HoldbackSource.RULE, "frequency_cap", "alice", 1, 1),
        held(HoldbackSource.RULE, "frequency_cap", "alice", 2, 1),
        held(HoldbackSource.GATE, "frequency-cap", "", 3, 1),
        held(HoldbackSource.RULE, "quiet_hours", "alice", 3, 1),
    )


RESOURCES = (
    "campaign_id",
    "campaign",
    "target_customers",
    "reached",
    "remaining",
    "contacts",
    "contacts_call_in",
    "contacts_call_out",
    "contacts_sms",
    "frequency_cap_skips",
)


async def test_campaign_resources(db: Database) -> None:
    await seed_resources(db)
    result = await campaign_resources.campaign_resources(db, params("2026-11-17", DAY), tz=SHANGHAI, now=NOW)
    assert table(result, *RESOURCES) == [
        # contacts: 3 offers on inbound calls + 5 call_in, 1 outbound call counted once, 120 SMS
        (1, "Broadband", 4, 3, 1, 129, 8, 1, 120, 3),
        (2, "Upgrade", 1, 1, 0, 4, 1, 3, 0, 0),
        (3, "Broken", None, 0, None, 0, 0, 0, 0, 0),  # a rule that no longer compiles: no count
    ]
    assert totals(result, "target_customers", "reached", "contacts", "frequency_cap_skips") == (5, 4, 133, 3)
    assert result.notes == (campaign_resources.NOTE_RULE_FAILED,)
    only = await campaign_resources.campaign_resources(
        db, params(DAY, campaign_ids=(2,)), tz=SHANGHAI, now=NOW
    )
    assert table(only, *RESOURCES) == [(2, "Upgrade", 1, 1, 0, 4, 1, 3, 0, 0)]


async def test_target_count_is_an_estimate_above_the_sample(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_resources(db)
    monkeypatch.setattr(targets, "SAMPLE", 2)  # 6 customers: every 3rd id (3 gold, 6 regular)
    counted = await targets.count_targets(db, {1: 'segment == "gold"', 2: "true"}, now=NOW)
    assert counted == {1: targets.TargetCount(3, True), 2: targets.TargetCount(6, True)}
    result = await campaign_resources.campaign_resources(db, params(DAY), tz=SHANGHAI, now=NOW)
    assert result.notes[0] == campaign_resources.NOTE_ESTIMATED


async def test_target_rules_read_contact_history(db: Database) -> None:
    await add(db, customer(1), customer(2))
    await record_contact(db, NewContact(1, Channel.CALL_IN, at=NOW - timedelta(days=2)))
    counted = await targets.count_targets(
        db, {1: "contacts_30d >= 1", 2: "days_since_last_contact > 90"}, now=NOW
    )
    assert counted == {1: targets.TargetCount(1, False), 2: targets.TargetCount(1, False)}


async def test_a_draft_whose_rule_fails_is_reported_with_its_error_and_the_others_are_counted(
    db: Database,
) -> None:
    await seed_resources(db)
    await add(db, campaign(4, "Callback", status="draft", target_rule="1 / open_tickets > 0.5"))

    result = await campaign_resources.campaign_resources(db, params(DAY), tz=SHANGHAI, now=NOW)

    rows = {row[0]: row for row in table(result, "campaign_id", "target_customers", "target_rule_error")}
    assert rows[1] == (1, 4, "")
    assert rows[2] == (2, 1, "")
    assert rows[4][1] is None and "division by zero" in rows[4][2]
    assert campaign_resources.NOTE_RULE_FAILED in result.notes
    listed = {c.id: c for c in await list_campaigns(db)}
    assert listed[4].status is CampaignStatus.DRAFT
    assert "division by zero" in listed[4].status_reason
    assert (listed[1].status, listed[1].status_reason) == (CampaignStatus.ONLINE, "")
    assert {e.target for e in await audit.entries(db, action="campaign-rule-failed")} == {"3", "4"}

    await campaign_resources.campaign_resources(db, params(DAY), tz=SHANGHAI, now=NOW)
    assert len(await audit.entries(db, action="campaign-rule-failed")) == 2  # recorded once


async def test_an_online_campaign_whose_rule_fails_in_a_report_is_paused(db: Database) -> None:
    await add(db, customer(1), campaign(1, "Callback", status="online", target_rule="1 / open_tickets > 0.5"))
    result = await campaign_resources.campaign_resources(db, params(DAY), tz=SHANGHAI, now=NOW)
    assert table(result, "campaign_id", "campaign_status") == [(1, "paused")]
    [listed] = await list_campaigns(db)
    assert listed.status is CampaignStatus.PAUSED


async def test_a_rule_over_its_time_budget_counts_as_failing(db: Database) -> None:
    await add(db, *(customer(i) for i in range(1, 11)))
    ticks = iter(range(10_000))
    counted = await targets.count_targets(
        db, {1: "true"}, now=NOW, budget_s=5, clock=lambda: float(next(ticks))
    )
    assert counted[1].customers is None
    assert "time budget" in counted[1].error


async def test_target_rules_are_evaluated_off_the_event_loop(db: Database) -> None:
    await add(db, customer(1), customer(2))
    threads = set()

    def clock() -> float:
        threads.add(threading.get_ident())
        return 0.0

    counted = await targets.count_targets(db, {1: "true"}, now=NOW, clock=clock)
    assert counted[1] == targets.TargetCount(2, False)
    assert threads and threading.get_ident() not in threads
