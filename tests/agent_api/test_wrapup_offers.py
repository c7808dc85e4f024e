"""The wrap-up of a call whose pop showed several offers: an outcome for each, counted per
campaign in the marketing report; required questions of an accepted questionnaire."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from acd.gate import MarketingPolicy
from crm import campaigns
from crm.kinds import CampaignKind, CampaignStatus, Channel, QuestionKind
from crm.models import Contact, OfferPresentation, Question
from crm.reporting.standard import STANDARD_REPORTS
from crm.reporting.standard.params import ReportParams
from tests.agent_api.stack import Stack, login, next_frame


async def _two_offers_shown(stack: Stack, call_id: str) -> tuple[dict[str, str], int, list[int]]:
    survey = await stack.crm.create_campaign(
        campaigns.NewCampaign(
            "满意度回访",
            CampaignKind.QUESTIONNAIRE,
            [Channel.CALL_IN],
            questions=[
                campaigns.NewQuestion("满意吗", QuestionKind.SINGLE, choices=("满意", "不满意")),
                campaigns.NewQuestion("建议", QuestionKind.TEXT),
            ],
        )
    )
    async with stack.db.write() as session:  # as the campaigns page marks it
        first = await session.scalar(
            select(Question).where(Question.campaign_id == survey, Question.position == 1)
        )
        first.required = True
    await stack.crm.set_campaign_status(survey, CampaignStatus.ONLINE)
    csrf = await login(stack.client, "agent1001")
    headers = {"X-CSRF-Token": csrf}
    await stack.client.post("/api/agent/login", json={}, headers=headers)
    stack.acd.gate.set_policy(MarketingPolicy("default", ("support",), max_agents=5))
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")
    stack.ring(call_id)
    pop = await next_frame(ws, "pop")
    stack.hang_up(call_id)
    await next_frame(ws, "ended")
    await ws.close()
    questions = [q["id"] for o in pop["offers"] if o["campaign_id"] == survey for q in o["questions"]]
    assert sorted(o["campaign_id"] for o in pop["offers"]) == sorted([stack.campaign_id, survey])
    required = [q["required"] for o in pop["offers"] if o["campaign_id"] == survey for q in o["questions"]]
    assert required == [True, False]  # the desk marks the required one
    return headers, survey, questions


async def test_each_offer_shown_gets_its_own_outcome_counted_per_campaign(stack: Stack):
    headers, survey, questions = await _two_offers_shown(stack, "m1")
    body = {
        "disposition": "resolved",
        "offers": [
            {"campaign_id": stack.campaign_id, "outcome": "not_presented"},
            {"campaign_id": survey, "outcome": "accepted", "answers": {str(questions[0]): "满意"}},
        ],
    }
    response = await stack.client.post("/api/agent/calls/m1/wrapup", json=body, headers=headers)
    assert response.status == 200, await response.text()
    done = await response.json()
    assert len(done["presentation_ids"]) == 2 and done["presentation_id"] == done["presentation_ids"][0]
    async with stack.db.read() as session:
        rows = (
            await session.scalars(select(OfferPresentation).order_by(OfferPresentation.campaign_id))
        ).all()
        contact = (await session.scalars(select(Contact).where(Contact.call_id == "m1"))).one()
    assert [(p.campaign_id, p.outcome, p.contact_id) for p in rows] == [
        (stack.campaign_id, "not_presented", contact.id),
        (survey, "accepted", contact.id),
    ]
    today = date.today()
    report = await STANDARD_REPORTS["marketing_detail"].run(
        stack.db, ReportParams(today - timedelta(days=1), today + timedelta(days=1)), tz=stack.crm.tz
    )
    names = [c.name for c in report.columns]
    by_campaign = {row[0]: dict(zip(names, row, strict=True)) for row in report.rows}
    assert by_campaign[survey]["presented"] == 1 and by_campaign[survey]["accepted"] == 1
    # Shown and not put to the customer: not an offer made, and counted as such.
    assert by_campaign[stack.campaign_id]["presented"] == 0
    assert by_campaign[stack.campaign_id]["not_presented"] == 1


async def test_one_outcome_per_offer_and_only_for_offers_shown(stack: Stack):
    headers, survey, _ = await _two_offers_shown(stack, "m2")
    twice = {
        "disposition": "resolved",
        "offer": {"campaign_id": survey, "outcome": "declined"},
        "offers": [{"campaign_id": survey, "outcome": "later"}],
    }
    response = await stack.client.post("/api/agent/calls/m2/wrapup", json=twice, headers=headers)
    assert response.status == 422
    assert "more than one outcome" in (await response.json())["message"]
    unknown = {"disposition": "resolved", "offers": [{"campaign_id": survey + 100, "outcome": "later"}]}
    response = await stack.client.post("/api/agent/calls/m2/wrapup", json=unknown, headers=headers)
    assert response.status == 400
    async with stack.db.read() as session:
        assert (await session.scalars(select(Contact).where(Contact.call_id == "m2"))).all() == []


async def test_an_accepted_questionnaire_needs_its_required_answers(stack: Stack):
    headers, survey, questions = await _two_offers_shown(stack, "m3")
    missing = {
        "disposition": "resolved",
        "offers": [{"campaign_id": survey, "outcome": "accepted", "answers": {str(questions[1]): "无"}}],
    }
    response = await stack.client.post("/api/agent/calls/m3/wrapup", json=missing, headers=headers)
    assert response.status == 422
    error = await response.json()
    assert "满意吗" in error["message"] and error["details"]["unanswered"] == ["满意吗"]
    async with stack.db.read() as session:  # nothing of the wrap-up was stored
        assert (await session.scalars(select(Contact).where(Contact.call_id == "m3"))).all() == []
    declined = {"disposition": "resolved", "offers": [{"campaign_id": survey, "outcome": "declined"}]}
    response = await stack.client.post("/api/agent/calls/m3/wrapup", json=declined, headers=headers)
    assert response.status == 200, await response.text()


async def test_a_call_that_made_an_offer_counts_against_the_marketing_cap_of_its_channel(stack: Stack):
    await campaigns.save_frequency_cap(stack.db, "一月一次电话营销", 1, 30, channels=[Channel.CALL_IN])
    stack.crm.catalog.invalidate()
    csrf = await login(stack.client, "agent1001")
    headers = {"X-CSRF-Token": csrf}
    await stack.client.post("/api/agent/login", json={}, headers=headers)
    stack.acd.gate.set_policy(MarketingPolicy("default", ("support",), max_agents=5))
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "hello")

    async def call(call_id: str, outcome: str) -> list[int]:
        stack.ring(call_id)
        pop = await next_frame(ws, "pop")
        stack.hang_up(call_id)
        await next_frame(ws, "ended")
        offers = [{"campaign_id": o["campaign_id"], "outcome": outcome} for o in pop["offers"]]
        body = {"disposition": "resolved", "offers": offers}
        response = await stack.client.post(f"/api/agent/calls/{call_id}/wrapup", json=body, headers=headers)
        assert response.status == 200, await response.text()
        return [o["campaign_id"] for o in pop["offers"]]

    # Shown and not presented: no marketing contact, the offer comes again.
    assert await call("f1", "not_presented") == [stack.campaign_id]
    assert await call("f2", "declined") == [stack.campaign_id]
    # The service call of f2 made an offer: the cap of one marketing call a month is used.
    assert await call("f3", "later") == []
    await ws.close()
