"""The contact rules, evaluated by the pure core with no database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from crm.kinds import CampaignKind, CampaignStatus, Channel, Purpose
from crm.rules import (
    CampaignView,
    ContactPolicy,
    CustomerFacts,
    FrequencyCap,
    PastContact,
    QuietHours,
    Reason,
    decide_offers,
)
from crm.sla import SHANGHAI
from crm.targeting import TargetRule

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

POLICY = ContactPolicy(
    caps=(
        FrequencyCap("1 marketing contact a week", 1, timedelta(days=7)),
        FrequencyCap("3 marketing contacts in 30 days", 3, timedelta(days=30)),
    ),
    quiet_hours=(QuietHours("night", time(21, 0), time(8, 0), frozenset({Channel.CALL_OUT, Channel.SMS})),),
)


def everyone(_fields: Mapping[str, object]) -> bool:
    return True


def campaign(kind: CampaignKind = CampaignKind.MARKETING, **changes: object) -> CampaignView:
    base = CampaignView(
        id=1,
        name="broadband upgrade",
        kind=kind,
        status=CampaignStatus.ONLINE,
        channels=frozenset({Channel.CALL_IN, Channel.CALL_OUT, Channel.SMS, Channel.EMAIL}),
        target=everyone,
    )
    return replace(base, **changes)


def customer(**changes: object) -> CustomerFacts:
    base = CustomerFacts(
        customer_id=7,
        consent_marketing=True,
        consent_sms=True,
        consent_email=True,
        do_not_contact=False,
        has_open_complaint=False,
        fields={"segment": "gold"},
    )
    return replace(base, **changes)


def reasons(decision_refused: tuple, campaign_id: int = 1) -> set[Reason]:
    return {
        r.reason
        for refused in decision_refused
        if refused.campaign.id == campaign_id
        for r in refused.refusals
    }


def decide(
    cust: CustomerFacts | None = None,
    camps: list[CampaignView] | None = None,
    history: tuple[PastContact, ...] = (),
    channel: Channel = Channel.CALL_IN,
    now: datetime = NOW,
    policy: ContactPolicy = POLICY,
):
    return decide_offers(cust or customer(), camps or [campaign()], history, policy, channel, now, SHANGHAI)


def marketing_contact(days_ago: float, channel: Channel = Channel.SMS) -> PastContact:
    return PastContact(NOW - timedelta(days=days_ago), channel, Purpose.MARKETING, campaign_id=99)


def test_a_consenting_customer_with_no_history_is_offered_the_online_campaign() -> None:
    decision = decide()
    assert [c.id for c in decision.offers] == [1]
    assert decision.refused == ()


def test_a_marketing_sms_three_days_ago_blocks_a_marketing_offer_on_a_call_today() -> None:
    decision = decide(history=(marketing_contact(3, Channel.SMS),))
    assert decision.offers == ()
    assert reasons(decision.refused) == {Reason.FREQUENCY_CAP}


def test_the_weekly_cap_frees_up_after_seven_days_but_the_monthly_cap_still_counts_every_channel() -> None:
    assert [c.id for c in decide(history=(marketing_contact(8),)).offers] == [1]
    history = (
        marketing_contact(8, Channel.SMS),
        marketing_contact(15, Channel.EMAIL),
        marketing_contact(22, Channel.CALL_OUT),
    )
    decision = decide(history=history)
    assert decision.offers == ()
    [refused] = decision.refused
    assert "3 marketing contacts in 30 days" in refused.refusals[0].detail


def test_service_contacts_do_not_count_against_marketing_caps() -> None:
    history = tuple(PastContact(NOW - timedelta(days=1), Channel.CALL_IN, Purpose.SERVICE) for _ in range(5))
    assert [c.id for c in decide(history=history).offers] == [1]


def test_a_questionnaire_is_not_held_back_by_the_marketing_cap() -> None:
    survey = campaign(CampaignKind.QUESTIONNAIRE, id=2, name="satisfaction survey")
    decision = decide(camps=[campaign(), survey], history=(marketing_contact(1),))
    assert [c.id for c in decision.offers] == [2]
    assert reasons(decision.refused, 1) == {Reason.FREQUENCY_CAP}


def test_quiet_hours_block_outbound_sms_at_night_in_shanghai_time() -> None:
    night = datetime(2026, 11, 18, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    assert reasons(decide(channel=Channel.SMS, now=night).refused) == {Reason.QUIET_HOURS}
    morning = datetime(2026, 11, 18, 0, 30, tzinfo=UTC)  # 08:30
    assert [c.id for c in decide(channel=Channel.SMS, now=morning).offers] == [1]


def test_quiet_hours_do_not_apply_to_a_customer_who_is_calling_in() -> None:
    night = datetime(2026, 11, 18, 14, 30, tzinfo=UTC)
    assert [c.id for c in decide(channel=Channel.CALL_IN, now=night).offers] == [1]


def test_a_customer_on_the_do_not_contact_list_is_offered_nothing() -> None:
    survey = campaign(CampaignKind.QUESTIONNAIRE, id=2)
    decision = decide(cust=customer(do_not_contact=True), camps=[campaign(), survey])
    assert decision.offers == ()
    assert Reason.DO_NOT_CONTACT in reasons(decision.refused, 1)
    assert Reason.DO_NOT_CONTACT in reasons(decision.refused, 2)


def test_an_open_complaint_blocks_marketing_but_not_a_notice() -> None:
    notice = campaign(CampaignKind.NOTICE, id=3, name="outage notice")
    decision = decide(cust=customer(has_open_complaint=True), camps=[campaign(), notice])
    assert [c.id for c in decision.offers] == [3]
    assert reasons(decision.refused, 1) == {Reason.OPEN_COMPLAINT}


def test_marketing_needs_marketing_consent() -> None:
    assert reasons(decide(cust=customer(consent_marketing=False)).refused) == {Reason.NO_MARKETING_CONSENT}


@pytest.mark.parametrize(
    ("channel", "flag"), [(Channel.SMS, "consent_sms"), (Channel.EMAIL, "consent_email")]
)
def test_sms_and_email_need_the_consent_for_that_channel(channel: Channel, flag: str) -> None:
    info = campaign(CampaignKind.INFO_COLLECTION)
    decision = decide(cust=customer(**{flag: False}), camps=[info], channel=channel)
    assert reasons(decision.refused) == {Reason.NO_CHANNEL_CONSENT}
    assert [
        c.id for c in decide(cust=customer(**{flag: False}), camps=[info], channel=Channel.CALL_IN).offers
    ] == [1]


def test_only_online_campaigns_within_their_schedule_on_a_placed_channel_reach_agents() -> None:
    assert reasons(decide(camps=[campaign(status=CampaignStatus.PAUSED)]).refused) == {Reason.NOT_ONLINE}
    later = campaign(starts_at=NOW + timedelta(days=1))
    assert reasons(decide(camps=[later]).refused) == {Reason.OUTSIDE_SCHEDULE}
    sms_only = campaign(channels=frozenset({Channel.SMS}))
    assert reasons(decide(camps=[sms_only]).refused) == {Reason.CHANNEL_NOT_PLACED}


def test_the_target_rule_decides_who_is_in_the_campaign() -> None:
    gold = TargetRule('segment == "gold"')
    silver = TargetRule('segment == "silver"')
    decision = decide(camps=[campaign(target=gold.matches), campaign(id=2, target=silver.matches)])
    assert [c.id for c in decision.offers] == [1]
    assert reasons(decision.refused, 2) == {Reason.NOT_TARGETED}


def test_offers_come_highest_priority_first() -> None:
    decision = decide(
        camps=[campaign(id=1, priority=1), campaign(id=2, priority=5), campaign(id=3, priority=1)]
    )
    assert [c.id for c in decision.offers] == [2, 1, 3]


def test_every_reason_a_campaign_is_refused_is_reported_together() -> None:
    decision = decide(
        cust=customer(consent_marketing=False, has_open_complaint=True), history=(marketing_contact(1),)
    )
    assert reasons(decision.refused) == {
        Reason.NO_MARKETING_CONSENT,
        Reason.OPEN_COMPLAINT,
        Reason.FREQUENCY_CAP,
    }
