"""The post-call satisfaction survey, pure: like the menu engine, steps out, replies in.

The dialplan's ``hotline-survey`` runs ``AGI(agi://…/survey)`` on the caller's channel when the
agent hung up first, and ``AGI(agi://…/survey,sms)`` from the ``h`` extension when the caller
hung up first (docs/survey.md). The first asks "press 1–5" with the menu's survey prompts, in
the caller's language; the second asks nothing of Asterisk (the channel is gone) but to have the
CRM text the caller.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from ivr import nodes as n
from ivr.agi import AgiReply
from ivr.crm_port import CallerRecord
from ivr.prompts import PromptPaths
from ivr.steps import FINISHED, FindCaller, GetData, GetVariable, Step, StreamFile

SCORES = "12345"
SMS_ARGUMENT = "sms"


@dataclass(frozen=True, slots=True)
class RecordAnswer:
    """Store the caller's score (None: no valid key) for the call."""

    call_id: str
    caller: str
    satisfaction: int | None


@dataclass(frozen=True, slots=True)
class QueueSmsSurvey:
    """The caller hung up first: the CRM texts them "reply 1–5" (if it may)."""

    call_id: str
    caller: str


SurveyStep = Step | RecordAnswer | QueueSmsSurvey
Script = Generator[SurveyStep, Any, None]


class SurveyRun:
    """One caller's survey; ``language`` is the channel's (``agi_language``)."""

    def __init__(
        self,
        menu: n.MenuDefinition,
        survey: n.Survey,
        *,
        caller: str,
        uniqueid: str,
        language: str,
        prompts: PromptPaths,
        by_sms: bool = False,
    ) -> None:
        self.menu = menu
        self.survey = survey
        self.caller = caller
        self.call_id = uniqueid
        self.language = language if language in menu.languages else menu.default_language
        self.by_sms = by_sms
        self.pressed: list[str] = []
        self.satisfaction: int | None = None
        self._prompts = prompts
        self._script = self._main()

    def start(self) -> SurveyStep:
        return next(self._script)

    def send(self, reply: object) -> SurveyStep:
        try:
            return self._script.send(reply)
        except StopIteration:
            return FINISHED

    def stop(self) -> None:
        self._script.close()

    def _file(self, prompt: str) -> str:
        return self._prompts.menu_prompt(self.menu.number, self.language, prompt)

    def _main(self) -> Script:
        reply: AgiReply = yield GetVariable("CHANNEL(linkedid)")
        if reply.result == "1" and reply.data:
            self.call_id = reply.data
        if self.by_sms:
            if self.caller:
                yield QueueSmsSurvey(self.call_id, self.caller)
            return
        if self.caller:
            # A caller the CRM knows hears the survey in their own language (a VIP's IVR never
            # asked them to choose one).
            record: CallerRecord | None = yield FindCaller(self.caller)
            if record is not None and record.language in self.menu.languages:
                self.language = record.language
        survey = self.survey
        for attempt in range(survey.retries + 1):
            ask = GetData(self._file(survey.prompt), int(survey.timeout_s * 1000), 1)
            answer: AgiReply = yield ask
            pressed = "" if answer.failed else answer.result
            self.pressed.append(pressed)
            if pressed and pressed in SCORES:
                self.satisfaction = int(pressed)
                yield RecordAnswer(self.call_id, self.caller, self.satisfaction)
                yield StreamFile(self._file(survey.thanks_prompt))
                return
            if pressed and survey.invalid_prompt and attempt < survey.retries:
                yield StreamFile(self._file(survey.invalid_prompt))
        yield RecordAnswer(self.call_id, self.caller, None)
        if survey.goodbye_prompt:
            yield StreamFile(self._file(survey.goodbye_prompt))
