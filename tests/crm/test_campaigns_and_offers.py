from __future__ import annotations

import pytest

from crm.campaigns import NewCampaign, NewQuestion, create_campaign, update_target_rule
from crm.customers import NewCustomer, create_customer
from crm.db import Database
from crm.errors import InvalidAnswer, InvalidTargetRule, InvalidTransition
from crm.kinds import CampaignKind, CampaignStatus, Channel, OfferOutcome, QuestionKind
from crm.offers import answers_for, record_answers, record_outcome, record_presentation
from crm.rules import Reason
from crm.service import Crm

INFO = NewCampaign(
    name="家庭信息收集",
    kind=CampaignKind.INFO_COLLECTION,
    channels=[Channel.CALL_IN],
    questions=[
        NewQuestion("家里几口人？", QuestionKind.SINGLE, choices=["1", "2", "3+"]),
        NewQuestion("常用哪些服务？", QuestionKind.MULTIPLE, choices=["宽带", "电视", "手机"]),
        NewQuestion("推荐意愿", QuestionKind.SCALE, scale_min=0, scale_max=10),
        NewQuestion("其他建议", QuestionKind.TEXT),
    ],
)


async def test_a_campaign_reaches_agents_only_while_online(crm: Crm) -> None:
    await create_customer(crm.db, NewCustomer(name="王芳", phones=["13800138000"], consent_marketing=True))
    campaign_id = await crm.create_campaign(
        NewCampaign(name="宽带升级", kind=CampaignKind.MARKETING, channels=[Channel.CALL_IN])
    )
    assert (await crm.screen_pop("13800138000")).offers == ()
    await crm.set_campaign_status(campaign_id, CampaignStatus.ONLINE)
    assert [o.campaign_id for o in (await crm.screen_pop("13800138000")).offers] == [campaign_id]
    await crm.set_campaign_status(campaign_id, CampaignStatus.PAUSED)
    assert (await crm.screen_pop("13800138000")).offers == ()
    await crm.set_campaign_status(campaign_id, CampaignStatus.ONLINE)
    await crm.set_campaign_status(campaign_id, CampaignStatus.ENDED)
    with pytest.raises(InvalidTransition):
        await crm.set_campaign_status(campaign_id, CampaignStatus.ONLINE)


async def test_a_target_rule_with_a_misspelt_field_is_refused_when_saved(db: Database) -> None:
    with pytest.raises(InvalidTargetRule, match="vip_levl"):
        await create_campaign(
            db,
            NewCampaign(
                name="x", kind=CampaignKind.MARKETING, channels=[Channel.SMS], target_rule="vip_levl > 1"
            ),
        )
    campaign_id = await create_campaign(
        db, NewCampaign(name="x", kind=CampaignKind.MARKETING, channels=[Channel.SMS])
    )
    with pytest.raises(InvalidTargetRule):
        await update_target_rule(db, campaign_id, 'segment = "gold"')
    await update_target_rule(db, campaign_id, 'segment == "gold" and contacts_30d < 3')


async def test_the_target_rule_reads_the_customers_history(crm: Crm) -> None:
    customer_id = await create_customer(crm.db, NewCustomer(name="王芳", phones=["13800138000"]))
    campaign_id = await crm.create_campaign(
        NewCampaign(
            name="回归问卷",
            kind=CampaignKind.QUESTIONNAIRE,
            channels=[Channel.CALL_IN],
            target_rule="days_since_last_contact > 90",
        )
    )
    await crm.set_campaign_status(campaign_id, CampaignStatus.ONLINE)
    eligibility = await crm.eligible_offers(customer_id, Channel.CALL_IN)
    assert [o.campaign_id for o in eligibility.offers] == [campaign_id]
    await update_target_rule(crm.db, campaign_id, "days_since_last_contact < 90")
    crm.rules_changed()
    eligibility = await crm.eligible_offers(customer_id, Channel.CALL_IN)
    assert eligibility.refused[0].reasons[0][0] is Reason.NOT_TARGETED


async def test_answers_are_stored_per_question_with_their_type(db: Database) -> None:
    customer_id = await create_customer(db, NewCustomer(name="王芳", phones=["13800138000"]))
    campaign_id = await create_campaign(db, INFO)
    presentation = await record_presentation(db, campaign_id, customer_id, Channel.CALL_IN, agent="8001")
    await record_outcome(db, presentation, OfferOutcome.ACCEPTED)
    q1, q2, q3, q4 = range(1, 5)
    await record_answers(db, presentation, {q1: "3+", q2: ["宽带", "手机"], q3: 9, q4: "晚上别打电话"})
    assert await answers_for(db, presentation) == {q1: "3+", q2: ("宽带", "手机"), q3: 9, q4: "晚上别打电话"}


@pytest.mark.parametrize(
    ("question", "value"),
    [(1, "4"), (2, "宽带"), (2, ["宽带", "报纸"]), (3, 11), (3, "9"), (4, 5), (99, "x")],
)
async def test_an_answer_that_does_not_fit_its_question_is_refused_and_nothing_is_stored(
    sqlite_db: Database, question: int, value: object
) -> None:
    customer_id = await create_customer(sqlite_db, NewCustomer(name="王芳", phones=["13800138000"]))
    campaign_id = await create_campaign(sqlite_db, INFO)
    presentation = await record_presentation(sqlite_db, campaign_id, customer_id, Channel.CALL_IN)
    with pytest.raises(InvalidAnswer):
        await record_answers(sqlite_db, presentation, {1: "2", question: value})  # type: ignore[dict-item]
    assert await answers_for(sqlite_db, presentation) == {}


def test_a_choice_question_without_choices_is_refused() -> None:
    from crm.campaigns import _check_question

    with pytest.raises(ValueError, match="two choices"):
        _check_question(NewQuestion("?", QuestionKind.SINGLE, choices=["only"]))
