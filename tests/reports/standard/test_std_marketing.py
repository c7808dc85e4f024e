"""Marketing detail and campaign resources: presentations, holdbacks, targets, channels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.contacts import NewContact, record_contact
from crm.db import Database
from crm.kinds import Channel
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
        (3, "Broken", 0, 0, 0, 0, 0, 0, 0, 0),  # an invalid rule targets nobody
    ]
    assert totals(result, "target_customers", "reached", "contacts", "frequency_cap_skips") == (5, 4, 133, 3)
    assert result.notes == ()
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
    assert result.notes == (campaign_resources.NOTE_ESTIMATED,)


async def test_target_rules_read_contact_history(db: Database) -> None:
    await add(db, customer(1), customer(2))
    await record_contact(db, NewContact(1, Channel.CALL_IN, at=NOW - timedelta(days=2)))
    counted = await targets.count_targets(
        db, {1: "contacts_30d >= 1", 2: "days_since_last_contact > 90"}, now=NOW
    )
    assert counted == {1: targets.TargetCount(1, False), 2: targets.TargetCount(1, False)}
