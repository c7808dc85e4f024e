from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from crm import audit
from crm.campaigns import NewCampaign, NewQuestion, list_campaigns, save_frequency_cap, save_quiet_hours
from crm.contacts import NewContact, record_contact, timeline
from crm.customers import NewCustomer, add_to_do_not_contact, create_customer
from crm.kinds import CampaignKind, CampaignStatus, Channel, QuestionKind, TicketKind
from crm.rules import Reason
from crm.service import Crm
from crm.sla import SlaState
from crm.tickets import NewTicket

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)  # the crm fixture's clock

GOLD = NewCustomer(
    name="王芳", phones=["13800138000"], segment="gold", vip_level=2, consent_marketing=True, consent_sms=True
)


async def online(crm: Crm, new: NewCampaign) -> int:
    campaign_id = await crm.create_campaign(new)
    await crm.set_campaign_status(campaign_id, CampaignStatus.ONLINE)
    return campaign_id


BROADBAND = NewCampaign(
    name="宽带升级",
    kind=CampaignKind.MARKETING,
    channels=[Channel.CALL_IN, Channel.SMS],
    target_rule='segment == "gold"',
    script="您好，您的宽带可以免费提速……",
    offer_text="200M 升级 500M",
)
SURVEY = NewCampaign(
    name="满意度问卷",
    kind=CampaignKind.QUESTIONNAIRE,
    channels=[Channel.CALL_IN],
    questions=[NewQuestion("您对服务满意吗？", QuestionKind.SCALE, scale_min=1, scale_max=5)],
)


# Fails for a customer with no open ticket.
DIVIDES_BY_OPEN_TICKETS = NewCampaign(
    name="回访", kind=CampaignKind.MARKETING, channels=[Channel.CALL_IN], target_rule="1 / open_tickets > 0.5"
)


async def test_an_unknown_caller_gets_an_empty_card(crm: Crm) -> None:
    pop = await crm.screen_pop("13999999999")
    assert pop.known is False
    assert pop.e164 == "+8613999999999"
    assert (pop.contacts, pop.open_tickets, pop.offers) == ((), (), ())


async def test_a_withheld_caller_id_is_an_unknown_caller_not_an_error(crm: Crm) -> None:
    pop = await crm.screen_pop("anonymous")
    assert (pop.known, pop.e164) == (False, None)


async def test_the_screen_pop_shows_card_recent_contacts_open_tickets_and_offers(crm: Crm) -> None:
    customer_id = await create_customer(crm.db, GOLD)
    for days in range(15):
        await record_contact(
            crm.db,
            NewContact(customer_id, Channel.CALL_IN, at=NOW - timedelta(days=days + 1), call_id=f"c{days}"),
        )
    ticket = await crm.open_ticket(
        NewTicket(customer_id, TicketKind.SERVICE_REQUEST, "宽带断线", opened_by="8001"),
        now=NOW - timedelta(days=1),
    )
    broadband = await online(crm, BROADBAND)
    survey = await online(crm, SURVEY)

    pop = await crm.screen_pop("+86 138-0013-8000")

    assert pop.customer is not None and pop.customer.name == "王芳"
    assert [c.call_id for c in pop.contacts] == [f"c{i}" for i in range(10)]
    [open_ticket] = pop.open_tickets
    assert (open_ticket.number, open_ticket.sla) == (ticket.number, SlaState.ON_TIME)
    assert [o.campaign_id for o in pop.offers] == [broadband, survey]
    assert pop.offers[1].questions[0].kind is QuestionKind.SCALE
    assert pop.offers[0].script.startswith("您好")


async def test_a_marketing_sms_yesterday_keeps_the_marketing_offer_off_todays_screen_pop(crm: Crm) -> None:
    customer_id = await create_customer(crm.db, GOLD)
    await save_frequency_cap(crm.db, "1 marketing contact a week", 1, 7)
    broadband = await online(crm, BROADBAND)
    survey = await online(crm, SURVEY)
    await record_contact(
        crm.db, NewContact(customer_id, Channel.SMS, at=NOW - timedelta(days=1), campaign_id=broadband)
    )
    crm.rules_changed()

    pop = await crm.screen_pop("13800138000")

    assert [o.campaign_id for o in pop.offers] == [survey]
    [refused] = pop.refused
    assert refused.campaign_id == broadband
    assert refused.reasons[0][0] is Reason.FREQUENCY_CAP


async def test_an_open_complaint_blocks_marketing_on_the_screen_pop(crm: Crm) -> None:
    customer_id = await create_customer(crm.db, GOLD)
    await online(crm, BROADBAND)
    await crm.open_ticket(NewTicket(customer_id, TicketKind.COMPLAINT, "装机人员迟到", opened_by="8001"))
    pop = await crm.screen_pop("13800138000")
    assert pop.offers == ()
    assert pop.refused[0].reasons == ((Reason.OPEN_COMPLAINT, "no marketing while a complaint is open"),)
    match = await crm.find_caller("13800138000")
    assert match is not None and match.has_open_complaint is True


async def test_do_not_contact_and_quiet_hours_come_from_the_rules_analysts_saved(crm: Crm) -> None:
    customer_id = await create_customer(crm.db, GOLD)
    await online(crm, BROADBAND)
    await save_quiet_hours(crm.db, "night", time(21), time(8), [Channel.SMS, Channel.CALL_OUT])
    night = NOW + timedelta(hours=12, minutes=30)  # 22:30 in Shanghai
    eligibility = await crm.eligible_offers(customer_id, Channel.SMS, now=night)
    assert {r for refused in eligibility.refused for r, _ in refused.reasons} == {Reason.QUIET_HOURS}
    assert len((await crm.eligible_offers(customer_id, Channel.SMS)).offers) == 1
    await add_to_do_not_contact(crm.db, customer_id=customer_id, reason="complained about calls")
    eligibility = await crm.eligible_offers(customer_id, Channel.CALL_IN)
    assert eligibility.offers == ()
    assert eligibility.refused[0].reasons[0][0] is Reason.DO_NOT_CONTACT


async def test_the_timeline_lists_every_channel_newest_first(crm: Crm) -> None:
    customer_id = await create_customer(crm.db, GOLD)
    for hours, channel in enumerate(
        [Channel.VISIT, Channel.EMAIL, Channel.WEB, Channel.CALLBACK, Channel.CALL_OUT]
    ):
        await record_contact(
            crm.db, NewContact(customer_id, channel, at=NOW - timedelta(hours=hours), agent="8001")
        )
    contacts = await timeline(crm.db, customer_id)
    assert [c.channel for c in contacts] == [
        Channel.VISIT,
        Channel.EMAIL,
        Channel.WEB,
        Channel.CALLBACK,
        Channel.CALL_OUT,
    ]


async def test_a_target_rule_that_fails_pauses_its_campaign_and_the_pop_keeps_the_card(crm: Crm) -> None:
    await create_customer(crm.db, GOLD)  # no open tickets: the rule divides by zero
    failing = await online(crm, DIVIDES_BY_OPEN_TICKETS)
    broadband = await online(crm, BROADBAND)

    pop = await crm.screen_pop("13800138000")

    assert pop.customer is not None and pop.customer.name == "王芳"
    assert [o.campaign_id for o in pop.offers] == [broadband]
    [refused] = pop.refused
    assert refused.campaign_id == failing
    assert refused.reasons[0][0] is Reason.RULE_FAILED
    listed = {c.id: c for c in await list_campaigns(crm.db)}
    assert listed[failing].status is CampaignStatus.PAUSED
    assert "division by zero" in listed[failing].status_reason
    assert (listed[broadband].status, listed[broadband].status_reason) == (CampaignStatus.ONLINE, "")
    [entry] = await audit.entries(crm.db, action="campaign-rule-failed")
    assert (entry.target, entry.detail["status"]) == (str(failing), "paused")

    again = await crm.screen_pop("13800138000")
    assert again.customer is not None and [o.campaign_id for o in again.offers] == [broadband]
    assert again.refused == ()
    assert len(await audit.entries(crm.db, action="campaign-rule-failed")) == 1


async def test_switching_a_paused_campaign_online_again_clears_the_failure_it_was_paused_for(
    crm: Crm,
) -> None:
    await create_customer(crm.db, GOLD)
    failing = await online(crm, DIVIDES_BY_OPEN_TICKETS)
    await crm.screen_pop("13800138000")
    await crm.set_campaign_status(failing, CampaignStatus.ONLINE)
    [campaign] = await list_campaigns(crm.db)
    assert (campaign.status, campaign.status_reason) == (CampaignStatus.ONLINE, "")
