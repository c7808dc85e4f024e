"""The post-call satisfaction survey: one per call, its score on the call's contact and ticket.

A call is surveyed once, one of two ways (docs/survey.md): in the IVR when the agent hung up
first (the caller is still on the line and presses 1–5), or by SMS when the caller hung up first
("reply 1–5"). The score is stored on the survey, on the contact the agent's wrap-up makes for
the call (whichever comes first: the wrap-up finds an earlier score, a later score finds the
contact), and as the customer's evaluation of the ticket that contact touched.

The SMS goes only for an answered call, to a mobile number, once per call, to a known customer
who consented to SMS and is not on the do-not-contact list: a survey is a message the customer
did not ask for, so the channel's consent decides, as for every other SMS (docs/crm-rules.md).
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm.customers import do_not_contact_clause
from crm.db import Database, utcnow
from crm.kinds import Channel, NoticeTopic, OutboxStatus, PhoneKind
from crm.models import CallSurvey, Contact, Customer, CustomerPhone, DoNotContact, OutboxMessage
from crm.phones import compact, fast_normalize, try_normalize_phone
from crm.tickets import evaluate_in_session

# How long an SMS survey waits for its reply; a later "4" is not taken as this call's score.
REPLY_WINDOW = timedelta(days=3)
SMS_SUBJECT = "满意度调查"
SMS_BODY = "感谢您致电客服热线。请为本次服务评分，回复数字1-5（5为非常满意，1为非常不满意）。"
_FIRST_DIGIT = re.compile(r"\s*([1-5])(?:\s|[.。!！分]|$)")


class SurveyWay(enum.StrEnum):
    IVR = "ivr"  # the agent hung up first: the caller answers on the keypad
    SMS = "sms"  # the caller hung up first: "reply 1–5"


class SurveyStatus(enum.StrEnum):
    ASKED = "asked"
    ANSWERED = "answered"
    UNANSWERED = "unanswered"  # the IVR survey ended without a valid key


class SmsSkipped(enum.StrEnum):
    """Why a call gets no SMS survey."""

    NOT_MOBILE = "not-mobile"
    UNKNOWN_CALLER = "unknown-caller"
    NO_CONSENT = "no-consent"
    DO_NOT_CONTACT = "do-not-contact"
    ALREADY_SURVEYED = "already-surveyed"


@dataclass(frozen=True, slots=True)
class SmsSurveyQueued:
    outbox_id: int


@dataclass(frozen=True, slots=True)
class SurveyScore:
    call_id: str
    satisfaction: int
    contacts: int  # contacts of the call that took the score
    tickets: tuple[int, ...]  # tickets evaluated


def parse_reply(text: str) -> int | None:
    """The score in an SMS reply: a digit 1–5 first (full-width digits too: ``４``), alone or
    followed by a space, punctuation or 分; anything else is not an answer."""
    normal = unicodedata.normalize("NFKC", text)
    found = _FIRST_DIGIT.match(normal)
    return int(found.group(1)) if found else None


async def record_ivr_answer(
    db: Database, call_id: str, caller: str, satisfaction: int | None, *, now: datetime | None = None
) -> SurveyScore | None:
    """The caller's answer in the IVR; ``None``: no valid key before the survey gave up. A call
    already surveyed keeps its first answer (None is returned)."""
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        raise ValueError(f"satisfaction must be 1 to 5, got {satisfaction}")
    now = now or utcnow()
    phone = fast_normalize(compact(caller)) or try_normalize_phone(caller) if caller else None
    async with db.write() as session:
        if await session.scalar(select(CallSurvey.id).where(CallSurvey.call_id == call_id)):
            return None
        customer_id = await _customer_of(session, call_id, phone.e164 if phone else "")
        survey = CallSurvey(
            call_id=call_id,
            way=SurveyWay.IVR.value,
            customer_id=customer_id,
            number=phone.e164 if phone else "",
            status=SurveyStatus.ASKED.value,
            asked_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(survey)
        except IntegrityError:
            return None  # surveyed a moment ago by another way
        if satisfaction is None:
            survey.status = SurveyStatus.UNANSWERED.value
            return None
        return await _score(session, survey, satisfaction, now, "IVR survey")


async def queue_sms_survey(
    db: Database, call_id: str, caller: str, *, now: datetime | None = None
) -> SmsSurveyQueued | SmsSkipped:
    """Queue the "reply 1–5" SMS for an answered call whose caller hung up first."""
    now = now or utcnow()
    phone = fast_normalize(compact(caller)) or try_normalize_phone(caller) if caller else None
    if phone is None or phone.kind is not PhoneKind.MOBILE:
        return SmsSkipped.NOT_MOBILE
    async with db.write() as session:
        if await session.scalar(select(CallSurvey.id).where(CallSurvey.call_id == call_id)):
            return SmsSkipped.ALREADY_SURVEYED
        row = (
            await session.execute(
                select(Customer.id, Customer.consent_sms, do_not_contact_clause(Customer.id).label("dnc"))
                .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
                .where(CustomerPhone.e164 == phone.e164, Customer.erased_at.is_(None))
            )
        ).first()
        if row is None:
            return SmsSkipped.UNKNOWN_CALLER
        listed = await session.scalar(select(DoNotContact.id).where(DoNotContact.e164 == phone.e164).limit(1))
        if row.dnc or listed:
            return SmsSkipped.DO_NOT_CONTACT
        if not row.consent_sms:
            return SmsSkipped.NO_CONSENT
        try:
            async with session.begin_nested():
                session.add(
                    CallSurvey(
                        call_id=call_id,
                        way=SurveyWay.SMS.value,
                        customer_id=row.id,
                        number=phone.e164,
                        status=SurveyStatus.ASKED.value,
                        asked_at=now,
                    )
                )
                message = OutboxMessage(
                    dedupe_key=f"survey:{call_id}:sms",
                    customer_id=row.id,
                    channel=Channel.SMS.value,
                    address=phone.e164,
                    topic=NoticeTopic.SURVEY.value,
                    subject=SMS_SUBJECT,
                    body=SMS_BODY,
                    status=OutboxStatus.PENDING.value,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
                session.add(message)
        except IntegrityError:
            return SmsSkipped.ALREADY_SURVEYED
        return SmsSurveyQueued(message.id)


async def record_sms_reply(
    db: Database, number: str, text: str, *, now: datetime | None = None
) -> SurveyScore | None:
    """An SMS from ``number``: the score for its latest SMS survey still waiting for a reply
    (asked within ``REPLY_WINDOW``); None when it is no score or nothing waits for one."""
    score = parse_reply(text)
    phone = fast_normalize(compact(number)) or try_normalize_phone(number)
    if score is None or phone is None:
        return None
    now = now or utcnow()
    async with db.write() as session:
        survey = await session.scalar(
            select(CallSurvey)
            .where(
                CallSurvey.number == phone.e164,
                CallSurvey.status == SurveyStatus.ASKED.value,
                CallSurvey.way == SurveyWay.SMS.value,
                CallSurvey.asked_at >= now - REPLY_WINDOW,
            )
            .order_by(CallSurvey.asked_at.desc(), CallSurvey.id.desc())
            .limit(1)
        )
        if survey is None:
            return None
        return await _score(session, survey, score, now, "SMS survey")


async def apply_to_contact(session: AsyncSession, contact: Contact) -> None:
    """A contact recorded after its call's survey was answered takes the score (and its ticket
    the evaluation); inside the contact's own write transaction."""
    if not contact.call_id:
        return
    survey = await session.scalar(
        select(CallSurvey).where(
            CallSurvey.call_id == contact.call_id, CallSurvey.status == SurveyStatus.ANSWERED.value
        )
    )
    if survey is None or survey.satisfaction is None:
        return
    contact.satisfaction = survey.satisfaction
    if contact.ticket_id is not None:
        await evaluate_in_session(
            session,
            contact.ticket_id,
            survey.satisfaction,
            comment=_comment(survey.way),
            now=survey.answered_at,
        )


async def survey_of(db: Database, call_id: str) -> CallSurvey | None:
    async with db.read() as session:
        survey = await session.scalar(select(CallSurvey).where(CallSurvey.call_id == call_id))
        if survey is not None:
            session.expunge(survey)
        return survey


async def _customer_of(session: AsyncSession, call_id: str, e164: str) -> int | None:
    found = await session.scalar(
        select(Contact.customer_id)
        .where(Contact.call_id == call_id, Contact.customer_id.is_not(None))
        .limit(1)
    )
    if found is None and e164:
        found = await session.scalar(select(CustomerPhone.customer_id).where(CustomerPhone.e164 == e164))
    return found


async def _score(
    session: AsyncSession, survey: CallSurvey, satisfaction: int, now: datetime, how: str
) -> SurveyScore:
    survey.status = SurveyStatus.ANSWERED.value
    survey.satisfaction = satisfaction
    survey.answered_at = now
    await session.execute(
        update(Contact).where(Contact.call_id == survey.call_id).values(satisfaction=satisfaction)
    )
    rows = (
        await session.execute(select(Contact.id, Contact.ticket_id).where(Contact.call_id == survey.call_id))
    ).all()
    tickets = tuple(sorted({row.ticket_id for row in rows if row.ticket_id is not None}))
    for ticket_id in tickets:
        await evaluate_in_session(session, ticket_id, satisfaction, comment=how, now=now)
    return SurveyScore(survey.call_id, satisfaction, len(rows), tickets)


def _comment(way: str) -> str:
    return "IVR survey" if way == SurveyWay.IVR.value else "SMS survey"
