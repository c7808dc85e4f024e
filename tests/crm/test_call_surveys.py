from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm import call_surveys as surveys
from crm.contacts import NewContact, record_contact, timeline
from crm.customer_timeline import customer_timeline
from crm.customers import NewCustomer, add_to_do_not_contact, create_customer
from crm.kinds import Channel, NoticeTopic, TicketAction, TicketKind
from crm.models import Contact, OutboxMessage
from crm.service import Crm
from crm.tickets import NewTicket, ticket_history

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
MOBILE = "13800138000"
CALL = "1763431200.7"


async def customer(crm: Crm, *, consent_sms: bool = True, phone: str = MOBILE) -> int:
    return await create_customer(crm.db, NewCustomer(name="王芳", phones=[phone], consent_sms=consent_sms))


async def contact_satisfaction(crm: Crm, contact_id: int) -> int | None:
    async with crm.db.read() as session:
        return await session.scalar(select(Contact.satisfaction).where(Contact.id == contact_id))


async def wrap_up(crm: Crm, customer_id: int, ticket_id: int | None = None) -> int:
    return await record_contact(
        crm.db,
        NewContact(customer_id, Channel.CALL_IN, agent="agent1001", call_id=CALL, ticket_id=ticket_id),
    )


async def open_ticket(crm: Crm, customer_id: int) -> int:
    return (
        await crm.open_ticket(NewTicket(customer_id, TicketKind.SERVICE_REQUEST, "空调不制冷", "agent1001"))
    ).id


async def test_an_ivr_score_after_the_wrap_up_lands_on_the_contact_and_its_ticket(crm: Crm) -> None:
    who = await customer(crm)
    ticket = await open_ticket(crm, who)
    contact = await wrap_up(crm, who, ticket)
    score = await surveys.record_ivr_answer(crm.db, CALL, MOBILE, 4, now=NOW)
    assert score == surveys.SurveyScore(CALL, 4, 1, (ticket,))
    assert await contact_satisfaction(crm, contact) == 4
    steps = await ticket_history(crm.db, ticket)
    assert [(s.action, s.actor, s.note) for s in steps][-1] == (
        TicketAction.EVALUATED,
        "customer",
        "satisfaction 4. IVR survey",
    )


async def test_a_score_given_before_the_wrap_up_is_taken_by_the_contact_made_later(crm: Crm) -> None:
    who = await customer(crm)
    await surveys.record_ivr_answer(crm.db, CALL, MOBILE, 2, now=NOW)
    ticket = await open_ticket(crm, who)
    contact = await wrap_up(crm, who, ticket)
    assert await contact_satisfaction(crm, contact) == 2
    assert [s.action for s in await ticket_history(crm.db, ticket)][-1] is TicketAction.EVALUATED
    survey = await surveys.survey_of(crm.db, CALL)
    assert survey is not None and (survey.way, survey.customer_id) == ("ivr", who)


async def test_a_call_is_surveyed_once_and_keeps_its_first_answer(crm: Crm) -> None:
    who = await customer(crm)
    contact = await wrap_up(crm, who)
    await surveys.record_ivr_answer(crm.db, CALL, MOBILE, 5, now=NOW)
    assert await surveys.record_ivr_answer(crm.db, CALL, MOBILE, 1, now=NOW) is None
    assert (
        await surveys.queue_sms_survey(crm.db, CALL, MOBILE, now=NOW) is surveys.SmsSkipped.ALREADY_SURVEYED
    )
    assert await contact_satisfaction(crm, contact) == 5


async def test_no_valid_key_is_kept_as_unanswered_and_scores_nothing(crm: Crm) -> None:
    who = await customer(crm)
    contact = await wrap_up(crm, who)
    assert await surveys.record_ivr_answer(crm.db, CALL, MOBILE, None, now=NOW) is None
    survey = await surveys.survey_of(crm.db, CALL)
    assert survey is not None and (survey.status, survey.satisfaction) == ("unanswered", None)
    assert await contact_satisfaction(crm, contact) is None
    with pytest.raises(ValueError):
        await surveys.record_ivr_answer(crm.db, "other", MOBILE, 6, now=NOW)


async def test_the_sms_survey_is_queued_once_and_a_reply_scores_the_call(crm: Crm) -> None:
    who = await customer(crm)
    contact = await wrap_up(crm, who)
    queued = await surveys.queue_sms_survey(crm.db, CALL, MOBILE, now=NOW)
    assert isinstance(queued, surveys.SmsSurveyQueued)
    assert (
        await surveys.queue_sms_survey(crm.db, CALL, MOBILE, now=NOW) is surveys.SmsSkipped.ALREADY_SURVEYED
    )
    async with crm.db.read() as session:
        sms = (await session.scalars(select(OutboxMessage))).all()
    assert [(m.address, m.topic, m.channel) for m in sms] == [("+8613800138000", NoticeTopic.SURVEY, "sms")]
    assert "1-5" in sms[0].body
    assert await surveys.record_sms_reply(crm.db, "+86 138 0013 8000", "好的", now=NOW) is None
    score = await surveys.record_sms_reply(crm.db, MOBILE, " ４ 分", now=NOW + timedelta(minutes=5))
    assert score is not None and score.satisfaction == 4
    assert await contact_satisfaction(crm, contact) == 4
    # Answered: a second reply is no longer taken.
    assert await surveys.record_sms_reply(crm.db, MOBILE, "1", now=NOW + timedelta(minutes=6)) is None
    assert await contact_satisfaction(crm, contact) == 4


async def test_a_reply_after_the_window_is_not_taken_as_the_calls_score(crm: Crm) -> None:
    await customer(crm)
    await surveys.queue_sms_survey(crm.db, CALL, MOBILE, now=NOW)
    late = NOW + surveys.REPLY_WINDOW + timedelta(minutes=1)
    assert await surveys.record_sms_reply(crm.db, MOBILE, "5", now=late) is None


@pytest.mark.parametrize(
    ("consent", "listed", "phone", "expected"),
    [
        (False, False, MOBILE, surveys.SmsSkipped.NO_CONSENT),
        (True, True, MOBILE, surveys.SmsSkipped.DO_NOT_CONTACT),
        (True, False, "01012345678", surveys.SmsSkipped.NOT_MOBILE),
    ],
    ids=["no-consent", "do-not-contact", "landline"],
)
async def test_no_sms_survey_without_consent_on_the_do_not_contact_list_or_to_a_landline(
    crm: Crm, consent: bool, listed: bool, phone: str, expected: surveys.SmsSkipped
) -> None:
    who = await customer(crm, consent_sms=consent, phone=phone)
    if listed:
        await add_to_do_not_contact(crm.db, phone=phone, reason="asked us not to")
    assert await surveys.queue_sms_survey(crm.db, CALL, phone, now=NOW) is expected
    assert await surveys.survey_of(crm.db, CALL) is None
    assert who


async def test_an_unknown_caller_gets_no_sms_survey(crm: Crm) -> None:
    assert (
        await surveys.queue_sms_survey(crm.db, CALL, "13912345678", now=NOW)
        is surveys.SmsSkipped.UNKNOWN_CALLER
    )


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("4", 4),
        ("5分", 5),
        ("１", 1),
        (" 3 thanks", 3),
        ("0", None),
        ("6", None),
        ("45", None),
        ("ok", None),
        ("", None),
    ],
)
def test_a_reply_is_a_score_only_when_it_starts_with_one_digit_from_one_to_five(
    text: str, score: int | None
) -> None:
    assert surveys.parse_reply(text) == score


async def test_the_timeline_and_the_pop_show_each_calls_score_or_that_it_went_unanswered(crm: Crm) -> None:
    who = await customer(crm)
    scored = await wrap_up(crm, who)
    unanswered = await record_contact(
        crm.db, NewContact(who, Channel.CALL_IN, agent="agent1001", call_id="1763431300.9")
    )
    waiting = await record_contact(
        crm.db, NewContact(who, Channel.CALL_IN, agent="agent1001", call_id="1763431400.11")
    )
    unsurveyed = await record_contact(crm.db, NewContact(who, Channel.WEB, agent="agent1001"))
    await surveys.record_ivr_answer(crm.db, CALL, MOBILE, 4, now=NOW)
    await surveys.record_ivr_answer(crm.db, "1763431300.9", MOBILE, None, now=NOW)
    assert isinstance(
        await surveys.queue_sms_survey(crm.db, "1763431400.11", MOBILE, now=NOW), surveys.SmsSurveyQueued
    )
    expected = {
        scored: (4, "answered"),
        unanswered: (None, "unanswered"),
        waiting: (None, "asked"),
        unsurveyed: (None, ""),
    }

    entries = [e for e in await customer_timeline(crm.db, who) if e.kind == "contact"]
    by_call = {e.call_id: (e.satisfaction, e.survey) for e in entries}
    assert by_call == {
        CALL: (4, "answered"),
        "1763431300.9": (None, "unanswered"),
        "1763431400.11": (None, "asked"),
        None: (None, ""),
    }
    pop = await crm.screen_pop(MOBILE)
    assert {c.id: (c.satisfaction, c.survey) for c in pop.contacts} == expected
    assert {c.id: (c.satisfaction, c.survey) for c in await timeline(crm.db, who)} == expected
