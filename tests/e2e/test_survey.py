"""The post-call survey through the whole system (docs/survey.md): the simulator runs the
production dialplan's hotline-survey against Hotline's own survey AGI, and the CRM stores it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from acd.events import AgentStateChanged
from acd.models import AgentState
from crm import call_surveys
from crm.contacts import NewContact, record_contact
from crm.customers import NewCustomer, create_customer
from crm.kinds import Channel, NoticeTopic
from crm.models import Contact, OutboxMessage
from cti.events import CallAnswered, CallEnded
from cti.simulator import CallerScript
from hotline.app import Hotline
from tests.e2e.system import MENU, NUMBER, PROMPT_S, running_system

CUSTOMER = "13800131001"
KINDS = (CallAnswered, CallEnded, AgentStateChanged)
SURVEY_MENU = (
    MENU.replace(
        "prompts:\n",
        "prompts:\n  rate: {en: Press 1 to 5.}\n  thanks: {en: Thank you.}\n  bye: {en: Goodbye.}\n",
    )
    + "survey: {prompt: rate, thanks_prompt: thanks, goodbye_prompt: bye, timeout_s: 4, retries: 0}\n"
)


async def until_surveyed(hotline: Hotline, call_id: str, within_s: float = 10.0) -> object:
    async with asyncio.timeout(within_s):
        while (survey := await call_surveys.survey_of(hotline.db, call_id)) is None:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # stored by the IVR server's own task
    return survey


def short_prompts(system: object, tmp_path: Path) -> None:
    for name in ("rate", "thanks", "bye"):
        path = f"{(tmp_path / 'prompts').resolve()}/{NUMBER}/en/{name}"
        system.sim.prompt_lengths[path] = PROMPT_S  # type: ignore[attr-defined]


async def test_the_agent_hangs_up_first_the_caller_presses_four_and_the_contact_gets_it(
    tmp_path: Path,
) -> None:
    async with running_system(tmp_path, KINDS, menu=SURVEY_MENU) as system:
        hotline, watch = system.hotline, system.watch
        short_prompts(system, tmp_path)
        customer = await create_customer(hotline.db, NewCustomer("Li Lei", phones=[CUSTOMER]))
        await hotline.acd.login("agent1001")
        await watch.until(AgentStateChanged, lambda e: e.state is AgentState.AVAILABLE)
        # 0: an agent; the phone answers 0.3 s later and hangs up 0.5 s after that; then 4.
        record = system.sim.place_call(
            CallerScript(caller=CUSTOMER, presses=((0.4, "0"), (2.5, "4")), hangup_after_s=None)
        )
        answered = await watch.until(CallAnswered)
        call_id = answered.call_id
        await watch.until(CallEnded, lambda e: e.call_id == call_id)
        # The agent is done with the call while the caller is still in the survey.
        await watch.until(AgentStateChanged, lambda e: e.state is AgentState.WRAP_UP)
        assert not record.done.done()
        survey = await until_surveyed(hotline, call_id)
        assert (survey.way, survey.status, survey.satisfaction, survey.customer_id) == (  # type: ignore[attr-defined]
            "ivr",
            "answered",
            4,
            customer,
        )
        await asyncio.wait_for(record.done, 10)
        # The agent's wrap-up, made after the survey, takes the score.
        contact = await record_contact(
            hotline.db, NewContact(customer, Channel.CALL_IN, agent="agent1001", call_id=call_id)
        )
        async with hotline.db.read() as session:
            assert await session.scalar(select(Contact.satisfaction).where(Contact.id == contact)) == 4


async def test_a_caller_who_hangs_up_first_is_texted_the_survey(tmp_path: Path) -> None:
    async with running_system(tmp_path, KINDS, menu=SURVEY_MENU, phone_hangup_after_s=None) as system:
        hotline, watch = system.hotline, system.watch
        short_prompts(system, tmp_path)
        await create_customer(hotline.db, NewCustomer("Li Lei", phones=[CUSTOMER], consent_sms=True))
        await hotline.acd.login("agent1001")
        await watch.until(AgentStateChanged, lambda e: e.state is AgentState.AVAILABLE)
        system.sim.place_call(CallerScript(caller=CUSTOMER, presses=((0.4, "0"),), hangup_after_s=2.0))
        answered = await watch.until(CallAnswered)
        await watch.until(CallEnded, lambda e: e.call_id == answered.call_id)
        survey = await until_surveyed(hotline, answered.call_id)
        assert (survey.way, survey.status, survey.number) == ("sms", "asked", "+8613800131001")  # type: ignore[attr-defined]
        async with hotline.db.read() as session:
            sms = (await session.scalars(select(OutboxMessage))).all()
        assert [(m.topic, m.address) for m in sms] == [(NoticeTopic.SURVEY, "+8613800131001")]
