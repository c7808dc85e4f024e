"""The menu engine: pure. It takes the caller's inputs and results and returns the next step.

``MenuRun.start()`` gives the first step; ``MenuRun.send(reply)`` takes the reply to the last
step (an ``AgiReply`` for an AGI command, a ``CallerRecord | None`` for ``FindCaller``, a
``LookupAnswer`` for ``LookupStatus``) and gives the next, until ``Finished``. Nothing here
awaits, reads a clock or touches a socket: the call's start time comes in, and the shell
(fastagi_server.py) performs the steps.

The very first step sets HOTLINE_QUEUE to the menu's fallback queue, so whatever happens later
(an exception, a stalled socket, a crash of the process) the dialplan queues the call there.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ivr import nodes as n
from ivr.agi import AgiReply
from ivr.crm_port import CallerRecord
from ivr.events import IvrOutcome, PathEntry
from ivr.prompts import PromptPaths, says_digits_itself
from ivr.steps import (
    FINISHED,
    FindCaller,
    GetData,
    GetVariable,
    HangupChannel,
    LookupAnswer,
    LookupStatus,
    SayDigits,
    SayNumber,
    SetVariable,
    Step,
    StreamFile,
)
from ivr.validation import digits_valid
from ivr.workdays import WorkCalendar

MAX_NODES_PER_CALL = 200  # a caller cannot take this many turns; past it the call is queued

Script = Generator[Step, Any, str | None]


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    number: str
    queue: str
    skill: str
    priority: int


def _digits(reply: AgiReply) -> str:
    return "" if reply.failed else reply.result


class MenuRun:
    """One caller's way through one menu."""

    def __init__(
        self,
        menu: n.MenuDefinition,
        *,
        caller: str,
        uniqueid: str,
        now: datetime,
        calendar: WorkCalendar,
        prompts: PromptPaths,
    ) -> None:
        self.menu = menu
        self.caller = caller
        self.now = now
        self.call_id = uniqueid
        self.uniqueid = uniqueid
        self.language = menu.default_language
        self.customer: CallerRecord | None = None
        self.path: list[PathEntry] = []
        self.values: dict[str, str] = {}
        self.queue = menu.fallback_queue
        self.skill = ""
        self.priority = 0
        self.outcome = IvrOutcome.FAILED
        self.transfer_to = ""
        self.callback: CallbackRequest | None = None
        self.calendar_estimated = False
        self._calendar = calendar
        self._prompts = prompts
        self._script = self._main()

    def start(self) -> Step:
        return next(self._script)

    def send(self, reply: object) -> Step:
        try:
            return self._script.send(reply)
        except StopIteration:
            return FINISHED

    def stop(self, outcome: IvrOutcome) -> None:
        """The call left the menu early (hang-up, stalled socket, failure)."""
        self._script.close()
        self.outcome = outcome

    @property
    def customer_id(self) -> str | None:
        return self.customer.customer_id if self.customer else None

    # --- the script ---------------------------------------------------------------------

    def _main(self) -> Script:
        yield SetVariable("HOTLINE_QUEUE", self.menu.fallback_queue)
        reply: AgiReply = yield GetVariable("CHANNEL(linkedid)")
        if reply.result == "1" and reply.data:
            self.call_id = reply.data
        if self.caller:
            self.customer = yield FindCaller(self.caller)
        name: str | None = self.menu.start
        turns = 0
        while name is not None:
            turns += 1
            if turns > MAX_NODES_PER_CALL:
                self.path.append(PathEntry(name, "guard", result="too many turns"))
                self.outcome = IvrOutcome.FAILED
                return None
            node = self.menu.nodes[name]
            name = yield from getattr(self, f"_{node.kind}")(node)
        return None

    def _file(self, prompt: str, language: str | None = None) -> str:
        return self._prompts.menu_prompt(self.menu.number, language or self.language, prompt)

    def _note(self, node: n.Node, digits: str = "", result: str = "") -> None:
        self.path.append(PathEntry(node.name, node.kind, digits, result))

    def _play(self, node: n.Play) -> Script:
        yield StreamFile(self._file(node.prompt))
        self._note(node)
        return node.next

    def _menu(self, node: n.Menu) -> Script:
        longest = max(len(key) for key in node.choices)
        pressed = ""
        for _ in range(node.retries + 1):
            pressed = _digits((yield GetData(self._file(node.prompt), int(node.timeout_s * 1000), longest)))
            if pressed in node.choices:
                self._note(node, pressed)
                return node.choices[pressed]
            if pressed and node.invalid_prompt:
                yield StreamFile(self._file(node.invalid_prompt))
        self._note(node, pressed, "no valid choice")
        return node.on_fail

    def _collect(self, node: n.Collect) -> Script:
        entered = ""
        for _ in range(node.retries + 1):
            ask = GetData(self._file(node.prompt), int(node.timeout_s * 1000), node.max_digits)
            entered = _digits((yield ask))
            if digits_valid(node.format, entered, node.min_digits, node.max_digits):
                self.values[node.into] = entered
                self._note(node, entered)
                return node.next
            if node.invalid_prompt:
                yield StreamFile(self._file(node.invalid_prompt))
        self._note(node, entered, "invalid")
        return node.on_fail

    def _lookup(self, node: n.Lookup) -> Script:
        key = self.values.get(node.key, "")
        answer: LookupAnswer = (yield LookupStatus(node.source, key)) if key else LookupAnswer(True, False)
        if not answer.available:
            yield StreamFile(self._file(node.unavailable_prompt))
            self._note(node, key, "unavailable")
            return node.next
        if not answer.found:
            yield StreamFile(self._file(node.not_found_prompt))
            self._note(node, key, "not-found")
            return node.on_not_found
        if node.intro_prompt:
            yield StreamFile(self._file(node.intro_prompt))
        yield from self._read_back(node.read_back, key)
        prompt = node.results.get(answer.status, node.other_prompt)
        if prompt:
            yield StreamFile(self._file(prompt))
        self._note(node, key, answer.status)
        return node.next

    def _read_back(self, mode: n.ReadBack, digits: str) -> Script:
        if mode is n.ReadBack.NONE:
            return None
        if not says_digits_itself(self.language):
            for digit in digits:
                yield StreamFile(self._prompts.digit(self.language, digit))
        elif mode is n.ReadBack.NUMBER:
            yield SayNumber(int(digits))
        else:
            yield SayDigits(digits)
        return None

    def _business_hours(self, node: n.BusinessHours) -> Script:
        verdict = self._calendar.verdict(self.now.date())
        hours = node.workdays if verdict.workday else node.restdays
        is_open = hours is not None and hours.covers(self.now.time().replace(tzinfo=None))
        self.calendar_estimated = self.calendar_estimated or verdict.estimated
        day = "workday" if verdict.workday else "restday"
        self._note(
            node, result=f"{'open' if is_open else 'closed'} ({day}{', estimated' * verdict.estimated})"
        )
        return node.open if is_open else node.closed
        yield  # a generator like every node, though it asks Asterisk nothing

    def _branch(self, node: n.Branch) -> Script:
        for index, rule in enumerate(node.rules, 1):
            if _matches(rule, self.customer):
                self._note(node, result=f"rule {index}")
                return rule.goto
        self._note(node, result="else")
        return node.otherwise
        yield

    def _language(self, node: n.LanguageChoice) -> Script:
        known = self.customer.language if self.customer else ""
        if not node.ask_known and known in self.menu.languages:
            self.language = known
            yield SetVariable("CHANNEL(language)", known)
            self._note(node, result=f"{known} (customer record)")
            return node.next
        keys = "".join(node.choices)
        pressed = ""
        for language in self.menu.languages[:-1]:
            reply: AgiReply = yield StreamFile(self._file(node.prompt, language), keys)
            if not reply.failed and reply.result.isdigit() and int(reply.result) > 0:
                pressed = chr(int(reply.result))
                break
        if not pressed:
            last = self.menu.languages[-1]
            ask = GetData(self._file(node.prompt, last), int(node.timeout_s * 1000), 1)
            pressed = _digits((yield ask))
        self.language = node.choices.get(pressed, self.language)
        yield SetVariable("CHANNEL(language)", self.language)
        self._note(node, pressed, self.language)
        return node.next

    def _queue(self, node: n.Queue) -> Script:
        if node.prompt:
            yield StreamFile(self._file(node.prompt))
        yield SetVariable("HOTLINE_QUEUE", node.queue)
        yield SetVariable("HOTLINE_SKILL", node.skill)
        yield SetVariable("QUEUE_PRIO", str(node.priority))
        self.queue, self.skill, self.priority = node.queue, node.skill, node.priority
        self.outcome = IvrOutcome.QUEUED
        self._note(node, result=node.queue)
        return None

    def _callback(self, node: n.Callback) -> Script:
        number = self.values.get(node.number_from, "") if node.number_from else self.caller
        self.queue, self.skill, self.priority = node.queue, node.skill, node.priority
        if not number:
            # An anonymous caller cannot be called back: they wait in the queue instead.
            yield SetVariable("HOTLINE_QUEUE", node.queue)
            self.outcome = IvrOutcome.QUEUED
            self._note(node, result="no number, queued")
            return None
        if node.prompt:
            yield StreamFile(self._file(node.prompt))
        yield SetVariable("HOTLINE_ACTION", "callback")
        self.callback = CallbackRequest(number, node.queue, node.skill, node.priority)
        self.outcome = IvrOutcome.CALLBACK
        self._note(node, result=node.queue)
        yield HangupChannel()
        return None

    def _message(self, node: n.Message) -> Script:
        """The dialplan's hotline-message records it, the one place messages are recorded (and
        announced: UserEvent HotlineMessage); the menu names its prompts, in the caller's
        language, and its limits."""
        if node.prompt:
            yield SetVariable("HOTLINE_MESSAGE_PROMPT", self._file(node.prompt))
        if node.goodbye_prompt:
            yield SetVariable("HOTLINE_MESSAGE_GOODBYE", self._file(node.goodbye_prompt))
        yield SetVariable("HOTLINE_MESSAGE_SILENCE_S", str(node.silence_s))
        yield SetVariable("HOTLINE_MESSAGE_MAX_S", str(node.max_s))
        yield SetVariable("HOTLINE_ACTION", "message")
        self.outcome = IvrOutcome.MESSAGE
        self._note(node)
        return None

    def _transfer(self, node: n.Transfer) -> Script:
        if node.prompt:
            yield StreamFile(self._file(node.prompt))
        yield SetVariable("HOTLINE_ACTION", "transfer")
        yield SetVariable("HOTLINE_TRANSFER_TO", node.to)
        self.transfer_to = node.to
        self.outcome = IvrOutcome.TRANSFERRED
        self._note(node, result=node.to)
        return None

    def _hangup(self, node: n.Hangup) -> Script:
        if node.prompt:
            yield StreamFile(self._file(node.prompt))
        self.outcome = IvrOutcome.HUNG_UP
        self._note(node)
        yield HangupChannel()
        return None


def _matches(rule: n.BranchRule, record: CallerRecord | None) -> bool:
    if rule.known is not None and (record is not None) != rule.known:
        return False
    if rule.vip_min is not None and (record is None or record.vip_level < rule.vip_min):
        return False
    if rule.segment is not None and (record is None or record.segment != rule.segment):
        return False
    complaint = record.has_open_complaint if record else False
    return rule.open_complaint is None or complaint == rule.open_complaint
