"""The post-call survey over FastAGI: the production menu's survey, a client playing Asterisk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cti.bus import EventBus
from ivr.crm_port import CallerRecord
from ivr.errors import LookupUnavailable, MenuInvalid
from ivr.fastagi_server import IvrServer
from ivr.loader import parse_menu
from ivr.prompts import PromptPaths, prompt_specs
from ivr.registry import MenuRegistry
from tests.ivr.asterisk import AsteriskScript, environment
from tests.ivr.fakes import REPO_MENUS, TRANSCRIPT_MENU, FakeCustomers

ROOT = "/var/lib/hotline/prompts/4008123456"
LINKEDID = "1795416380.150"


class FakeSurveys:
    def __init__(self) -> None:
        self.answers: list[tuple[str, str, int | None]] = []
        self.sms: list[tuple[str, str]] = []
        self.failing = False

    async def record_answer(self, call_id: str, caller: str, satisfaction: int | None) -> None:
        if self.failing:
            raise LookupUnavailable("database down")
        self.answers.append((call_id, caller, satisfaction))

    async def queue_sms_survey(self, call_id: str, caller: str) -> None:
        self.sms.append((call_id, caller))


@pytest.fixture
def surveys() -> FakeSurveys:
    return FakeSurveys()


@pytest.fixture
async def server(surveys: FakeSurveys, customers: FakeCustomers) -> AsyncIterator[IvrServer]:
    registry = MenuRegistry(REPO_MENUS)
    registry.load()
    ivr = IvrServer(
        registry=registry,
        bus=EventBus(),
        customers=customers,
        surveys=surveys,
        prompts=PromptPaths("/var/lib/hotline/prompts"),
        command_timeout_s=2.0,
        lookup_timeout_s=1.0,
        port=0,
    )
    await ivr.start()
    yield ivr
    await ivr.stop(grace_s=1.0)


def survey_call(*digits: str, language: str = "zh", sms: bool = False, **options: object) -> AsteriskScript:
    env = [
        line.replace("agi_network_script: ivr", "agi_network_script: survey")
        .replace("agi_language: en", f"agi_language: {language}")
        .replace("agi_context: from-trunk", "agi_context: hotline-survey")
        for line in environment(uniqueid="1795416380.155")
    ]
    if sms:
        env.append("agi_arg_1: sms")
    return AsteriskScript(
        environment=env, digits=list(digits), variables={"CHANNEL(linkedid)": LINKEDID}, **options
    )


def question(language: str = "zh") -> str:
    return f"GET DATA {ROOT}/{language}/survey-question 6000 1"


async def test_a_caller_who_presses_four_is_thanked_and_the_four_is_stored_for_the_call(
    server: IvrServer, surveys: FakeSurveys
) -> None:
    commands = await survey_call("4").call(server.port)
    assert commands == [
        "GET VARIABLE CHANNEL(linkedid)",
        question(),
        f'STREAM FILE {ROOT}/zh/survey-thanks ""',
    ]
    assert surveys.answers == [(LINKEDID, "13800131000", 4)]


async def test_a_wrong_key_is_asked_again_and_silence_ends_politely_with_no_score(
    server: IvrServer, surveys: FakeSurveys
) -> None:
    commands = await survey_call("9", "").call(server.port)
    assert commands == [
        "GET VARIABLE CHANNEL(linkedid)",
        question(),
        f'STREAM FILE {ROOT}/zh/survey-invalid ""',
        question(),
        f'STREAM FILE {ROOT}/zh/goodbye ""',
    ]
    assert surveys.answers == [(LINKEDID, "13800131000", None)]


async def test_the_survey_speaks_the_language_the_caller_chose_or_the_one_the_crm_knows(
    server: IvrServer, surveys: FakeSurveys, customers: FakeCustomers
) -> None:
    commands = await survey_call("5", language="en").call(server.port)
    assert commands[1] == question("en")
    # Asterisk's own default (en) is not a choice the caller made: the CRM's record wins.
    customers.callers["13800131000"] = CallerRecord("7", "王芳", vip_level=1, language="zh")
    commands = await survey_call("5", language="en").call(server.port)
    assert commands[1] == question("zh")
    assert [answer[2] for answer in surveys.answers] == [5, 5]


async def test_a_caller_who_hangs_up_during_the_question_is_kept_as_unanswered(
    server: IvrServer, surveys: FakeSurveys
) -> None:
    asterisk = survey_call(stream_reply=["200 result=0 endpos=8000"])
    asterisk.hangup_on = "survey-question"
    asterisk.digits = []
    # GET DATA's prompt is not a STREAM FILE: the caller hangs up as the question is asked.
    asterisk.garbage_on = None
    asterisk.hung_up = False
    original = asterisk.answer

    def answer(command: str) -> list[str] | None:
        if command.startswith("GET DATA"):
            asterisk.commands.append(command)
            asterisk.hung_up = True
            return ["200 result=-1", "HANGUP"]
        return original(command)

    asterisk.answer = answer  # type: ignore[method-assign]
    await asterisk.call(server.port)
    assert surveys.answers == [(LINKEDID, "13800131000", None)]


async def test_a_caller_who_hung_up_first_is_sent_the_sms_survey_and_asked_nothing(
    server: IvrServer, surveys: FakeSurveys
) -> None:
    commands = await survey_call(sms=True).call(server.port)
    assert commands == ["GET VARIABLE CHANNEL(linkedid)"]
    assert surveys.sms == [(LINKEDID, "13800131000")]
    assert surveys.answers == []


async def test_a_crm_that_cannot_store_the_answer_still_thanks_the_caller(
    server: IvrServer, surveys: FakeSurveys
) -> None:
    surveys.failing = True
    commands = await survey_call("3").call(server.port)
    assert commands[-1] == f'STREAM FILE {ROOT}/zh/survey-thanks ""'


async def test_a_number_without_a_survey_asks_nothing(server: IvrServer, surveys: FakeSurveys) -> None:
    asterisk = survey_call("4")
    asterisk.environment = [line.replace("4008123456", "4008000000") for line in asterisk.environment]
    assert await asterisk.call(server.port) == []
    assert surveys.answers == []


def test_the_survey_prompts_are_made_with_the_menus_prompts_in_both_languages() -> None:
    menu = MenuRegistry(REPO_MENUS)
    menu.load()
    made = {spec.relative for spec in prompt_specs(menu.menus())}
    for name in ("survey-question", "survey-invalid", "survey-thanks"):
        assert {f"4008123456/zh/{name}", f"4008123456/en/{name}"} <= made


def test_a_survey_naming_a_missing_prompt_or_an_unknown_key_is_refused(tmp_path: Path) -> None:
    for survey, problem in (
        ("{prompt: rate-us, thanks_prompt: welcome}", "plays prompt 'rate-us', which is not under prompts"),
        ("{prompt: menu, thanks_prompt: welcome, loudness: 3}", "unknown key 'loudness'"),
        ("{prompt: menu}", "needs 'thanks_prompt'"),
    ):
        with pytest.raises(MenuInvalid, match=problem):
            parse_menu(f"{TRANSCRIPT_MENU}survey: {survey}\n", file="4008123456.yaml", number="4008123456")
    with pytest.raises(MenuInvalid, match="survey must be a mapping"):
        parse_menu(TRANSCRIPT_MENU + "survey: yes\n", file="4008123456.yaml", number="4008123456")


async def test_a_dead_channel_that_refuses_even_get_variable_still_gets_its_sms_survey(
    server: IvrServer, surveys: FakeSurveys
) -> None:
    asterisk = survey_call(sms=True)
    asterisk.hung_up = True  # every command: 511 Command Not Permitted on a dead channel
    assert await asterisk.call(server.port) == ["GET VARIABLE CHANNEL(linkedid)"]
    assert surveys.sms == [("1795416380.155", "13800131000")]
