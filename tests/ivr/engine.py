"""Drives the pure menu engine the way the FastAGI shell does, with scripted caller answers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ivr.agi import parse_reply
from ivr.crm_port import CallerRecord
from ivr.menu import MenuRun
from ivr.nodes import MenuDefinition
from ivr.prompts import PromptPaths
from ivr.steps import (
    FindCaller,
    Finished,
    GetData,
    GetVariable,
    LookupAnswer,
    LookupStatus,
    Step,
    StreamFile,
)
from ivr.workdays import WorkCalendar
from tests.ivr.fakes import SHANGHAI

PROMPTS = PromptPaths("/p")


@dataclass
class Caller:
    digits: list[str] = field(default_factory=list)  # GET DATA answers; "" is a timeout
    record: CallerRecord | None = None
    lookup: LookupAnswer = field(default_factory=lambda: LookupAnswer(True, True, "in_progress"))
    linkedid: str = "1795416380.100"
    press_during: dict[str, str] = field(default_factory=dict)  # prompt path fragment → DTMF

    def reply(self, step: Step) -> object:
        if isinstance(step, FindCaller):
            return self.record
        if isinstance(step, LookupStatus):
            return self.lookup
        if isinstance(step, GetVariable):
            return parse_reply(f"200 result=1 ({self.linkedid})")
        if isinstance(step, GetData):
            pressed = self.digits.pop(0) if self.digits else ""
            return parse_reply(f"200 result={pressed}" if pressed else "200 result= (timeout)")
        if isinstance(step, StreamFile):
            for fragment, digit in self.press_during.items():
                if fragment in step.file:
                    return parse_reply(f"200 result={ord(digit)} endpos=100")
            return parse_reply("200 result=0 endpos=8000")
        return parse_reply("200 result=1")


def start_run(menu: MenuDefinition, *, now: datetime | None = None, caller: str = "13800131000") -> MenuRun:
    return MenuRun(
        menu,
        caller=caller,
        uniqueid="1795416380.155",
        now=now or datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI),
        calendar=WorkCalendar(menu.calendar),
        prompts=PROMPTS,
    )


def drive(run: MenuRun, caller: Caller, limit: int = 5000) -> list[Step]:
    steps = []
    step = run.start()
    while not isinstance(step, Finished):
        steps.append(step)
        assert len(steps) < limit, "the menu never finished"
        step = run.send(caller.reply(step))
    return steps


def lines(steps: Iterable[Step]) -> list[str]:
    """The AGI command lines among the steps (CRM steps are shown by their kind)."""
    shown = []
    for step in steps:
        line = getattr(step, "line", None)
        shown.append(line().decode().rstrip("\n") if line else type(step).__name__)
    return shown
