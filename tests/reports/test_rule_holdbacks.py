"""Offers a contact rule held back on a call's screen-pop become holdback facts, once per call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from acd.call_log_writer import CallLogWriter
from crm.campaigns import NewCampaign, save_frequency_cap
from crm.contacts import NewContact, record_contact
from crm.customers import NewCustomer, create_customer
from crm.db import Database
from crm.kinds import CampaignKind, CampaignStatus, Channel
from crm.reporting.facts import HoldbackFact, HoldbackSource
from crm.reporting.tables import OfferHoldbackRow
from crm.service import Crm
from cti.bus import EventBus

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
GOLD = NewCustomer(
    name="王芳", phones=["13800138000"], segment="gold", consent_marketing=True, consent_sms=True
)


async def online(crm: Crm, new: NewCampaign) -> int:
    campaign_id = await crm.create_campaign(new)
    await crm.set_campaign_status(campaign_id, CampaignStatus.ONLINE)
    return campaign_id


async def capped_customer(crm: Crm) -> tuple[int, int, int]:
    """A gold customer who had a marketing SMS yesterday: the weekly cap holds the marketing
    campaign back; the other campaign is not for gold customers at all."""
    customer_id = await create_customer(crm.db, GOLD)
    await save_frequency_cap(crm.db, "1 marketing contact a week", 1, 7)
    broadband = await online(
        crm, NewCampaign("宽带升级", CampaignKind.MARKETING, channels=[Channel.CALL_IN, Channel.SMS])
    )
    silver = await online(
        crm,
        NewCampaign(
            "银卡专享", CampaignKind.MARKETING, channels=[Channel.CALL_IN], target_rule='segment == "silver"'
        ),
    )
    await record_contact(
        crm.db, NewContact(customer_id, Channel.SMS, at=NOW - timedelta(days=1), campaign_id=broadband)
    )
    crm.rules_changed()
    return customer_id, broadband, silver


async def test_a_rule_holdback_is_handed_over_once_per_call(db: Database) -> None:
    crm = Crm(db, clock=lambda: NOW, catalog_refresh_s=0)
    customer_id, broadband, _ = await capped_customer(crm)
    handed: list[list[HoldbackFact]] = []
    crm.rule_holdbacks.sink = handed.append

    await crm.screen_pop("13800138000", call_id="c1", agent="alice")
    await crm.screen_pop("13800138000", call_id="c1", agent="bob")  # the call rings a second agent
    await crm.screen_pop("13800138000")  # not a call's pop: nothing

    assert handed == [
        [
            HoldbackFact(
                NOW,
                HoldbackSource.RULE,
                "frequency_cap",
                call_id="c1",
                agent="alice",
                customer_id=customer_id,
                campaign_id=broadband,
                detail=handed[0][0].detail,
            )
        ]
    ]
    assert "1 marketing contact a week" in handed[0][0].detail


async def test_rule_holdbacks_reach_the_table_through_the_call_log_writer(sqlite_db: Database) -> None:
    crm = Crm(sqlite_db, clock=lambda: NOW, catalog_refresh_s=0)
    _, broadband, _ = await capped_customer(crm)
    writer = CallLogWriter(EventBus(), sqlite_db, tz=SHANGHAI, clock=lambda: NOW, write_every_s=0.05)
    await writer.start()
    crm.rule_holdbacks.sink = writer.add
    await crm.screen_pop("13800138000", call_id="c7", agent="alice")
    await writer.drained()
    await writer.stop()
    async with sqlite_db.read() as session:
        row = (await session.scalars(select(OfferHoldbackRow))).one()
    assert (row.source, row.cause, row.campaign_id, row.call_id, row.agent, row.day) == (
        "rule",
        "frequency_cap",
        broadband,
        "c7",
        "alice",
        "2026-11-18",
    )
