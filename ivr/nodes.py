"""The node kinds a menu file is made of, as typed values (the loader builds them from YAML).

Every node names the nodes it may lead to (``targets``) and the prompts it plays (``prompts``),
so validation and prompt generation need no knowledge of each kind's internals.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, time

from ivr.crm_port import LookupSource


class NodeKind(enum.StrEnum):
    PLAY = "play"
    MENU = "menu"
    COLLECT = "collect"
    LOOKUP = "lookup"
    BUSINESS_HOURS = "business_hours"
    BRANCH = "branch"
    LANGUAGE = "language"
    QUEUE = "queue"
    CALLBACK = "callback"
    MESSAGE = "message"
    TRANSFER = "transfer"
    HANGUP = "hangup"


TERMINAL_KINDS = frozenset(
    {NodeKind.QUEUE, NodeKind.CALLBACK, NodeKind.MESSAGE, NodeKind.TRANSFER, NodeKind.HANGUP}
)


class DigitFormat(enum.StrEnum):
    TICKET = "ticket"  # 6–12 digits
    ORDER = "order"  # 8–20 digits
    PHONE = "phone"  # a mainland China mobile, or a fixed line with its area code
    DIGITS = "digits"  # any digits within min/max


class ReadBack(enum.StrEnum):
    DIGITS = "digits"
    NUMBER = "number"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Node:
    name: str

    @property
    def kind(self) -> NodeKind:
        raise NotImplementedError

    def targets(self) -> Iterator[tuple[str, str]]:
        """(label, node name) for every node this one may lead to."""
        return iter(())

    def prompts(self) -> Iterator[str]:
        return iter(())


def _present(*names: str | None) -> Iterator[str]:
    return (name for name in names if name)


@dataclass(frozen=True, slots=True)
class Play(Node):
    prompt: str
    next: str

    kind = NodeKind.PLAY

    def targets(self) -> Iterator[tuple[str, str]]:
        yield "next", self.next

    def prompts(self) -> Iterator[str]:
        yield self.prompt


@dataclass(frozen=True, slots=True)
class Menu(Node):
    prompt: str
    choices: Mapping[str, str]  # DTMF key(s) → node
    on_fail: str  # after the last retry
    timeout_s: float = 5.0
    retries: int = 2
    invalid_prompt: str | None = None

    kind = NodeKind.MENU

    def targets(self) -> Iterator[tuple[str, str]]:
        for key, target in self.choices.items():
            yield f"choice {key!r}", target
        yield "on_fail", self.on_fail

    def prompts(self) -> Iterator[str]:
        return _present(self.prompt, self.invalid_prompt)


@dataclass(frozen=True, slots=True)
class Collect(Node):
    prompt: str
    into: str
    format: DigitFormat
    next: str
    on_fail: str
    min_digits: int = 1
    max_digits: int = 20
    timeout_s: float = 8.0
    retries: int = 2
    invalid_prompt: str | None = None

    kind = NodeKind.COLLECT

    def targets(self) -> Iterator[tuple[str, str]]:
        yield "next", self.next
        yield "on_fail", self.on_fail

    def prompts(self) -> Iterator[str]:
        return _present(self.prompt, self.invalid_prompt)


@dataclass(frozen=True, slots=True)
class Lookup(Node):
    source: LookupSource
    key: str  # the collected value to look up
    results: Mapping[str, str]  # status → prompt
    not_found_prompt: str
    unavailable_prompt: str
    next: str
    on_not_found: str
    intro_prompt: str | None = None
    other_prompt: str | None = None  # a status the menu does not name
    read_back: ReadBack = ReadBack.DIGITS

    kind = NodeKind.LOOKUP

    def targets(self) -> Iterator[tuple[str, str]]:
        yield "next", self.next
        yield "on_not_found", self.on_not_found

    def prompts(self) -> Iterator[str]:
        yield from _present(self.intro_prompt, self.other_prompt, self.not_found_prompt)
        yield self.unavailable_prompt
        yield from self.results.values()


@dataclass(frozen=True, slots=True)
class OpeningHours:
    opens: time
    closes: time  # 24:00 is written 00:00 and means the end of the day

    def covers(self, moment: time) -> bool:
        if self.closes == time(0, 0):
            return moment >= self.opens
        return self.opens <= moment < self.closes


@dataclass(frozen=True, slots=True)
class BusinessHours(Node):
    open: str
    closed: str
    workdays: OpeningHours | None = None  # mainland China working days, make-up workdays included
    restdays: OpeningHours | None = None  # weekends and public holidays; None: closed

    kind = NodeKind.BUSINESS_HOURS

    def targets(self) -> Iterator[tuple[str, str]]:
        yield "open", self.open
        yield "closed", self.closed


@dataclass(frozen=True, slots=True)
class BranchRule:
    goto: str
    vip_min: int | None = None
    segment: str | None = None
    open_complaint: bool | None = None
    known: bool | None = None  # True: the CRM knows the caller


@dataclass(frozen=True, slots=True)
class Branch(Node):
    rules: tuple[BranchRule, ...]
    otherwise: str

    kind = NodeKind.BRANCH

    def targets(self) -> Iterator[tuple[str, str]]:
        for index, rule in enumerate(self.rules, 1):
            yield f"rule {index}", rule.goto
        yield "else", self.otherwise


@dataclass(frozen=True, slots=True)
class LanguageChoice(Node):
    prompt: str  # played once in every language of the menu, in order
    choices: Mapping[str, str]  # DTMF key → language
    next: str
    timeout_s: float = 4.0
    ask_known: bool = False  # ask even when the CRM knows the caller's language

    kind = NodeKind.LANGUAGE

    def targets(self) -> Iterator[tuple[str, str]]:
        yield "next", self.next

    def prompts(self) -> Iterator[str]:
        yield self.prompt


@dataclass(frozen=True, slots=True)
class Queue(Node):
    queue: str
    skill: str
    priority: int = 0
    prompt: str | None = None

    kind = NodeKind.QUEUE

    def prompts(self) -> Iterator[str]:
        return _present(self.prompt)


@dataclass(frozen=True, slots=True)
class Callback(Node):
    queue: str
    skill: str
    priority: int = 0
    number_from: str | None = None  # a collected phone number; the caller's number when absent
    prompt: str | None = None

    kind = NodeKind.CALLBACK

    def prompts(self) -> Iterator[str]:
        return _present(self.prompt)


@dataclass(frozen=True, slots=True)
class Message(Node):
    prompt: str | None = None
    max_s: int = 120
    silence_s: int = 5
    goodbye_prompt: str | None = None

    kind = NodeKind.MESSAGE

    def prompts(self) -> Iterator[str]:
        return _present(self.prompt, self.goodbye_prompt)


@dataclass(frozen=True, slots=True)
class Transfer(Node):
    to: str
    prompt: str | None = None

    kind = NodeKind.TRANSFER

    def prompts(self) -> Iterator[str]:
        return _present(self.prompt)


@dataclass(frozen=True, slots=True)
class Hangup(Node):
    prompt: str | None = None

    kind = NodeKind.HANGUP

    def prompts(self) -> Iterator[str]:
        return _present(self.prompt)


@dataclass(frozen=True, slots=True)
class Survey(Node):
    """The post-call satisfaction survey (docs/survey.md): not part of the menu's graph, run
    when the agent hung up first and the caller is still on the line."""

    prompt: str  # asks for 1–5
    thanks_prompt: str  # after a valid key
    goodbye_prompt: str | None = None  # no valid key after the retries
    invalid_prompt: str | None = None  # a key other than 1–5, before asking again
    timeout_s: float = 6.0
    retries: int = 1

    kind = "survey"  # type: ignore[assignment]

    def prompts(self) -> Iterator[str]:
        return _present(self.prompt, self.thanks_prompt, self.goodbye_prompt, self.invalid_prompt)


@dataclass(frozen=True, slots=True)
class CalendarOverrides:
    """Days the operator knows better than the packaged calendar (e.g. next year's schedule)."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()


@dataclass(frozen=True, slots=True)
class MenuDefinition:
    number: str  # the hotline number (the file's stem)
    file: str
    languages: tuple[str, ...]  # the first is the default
    fallback_queue: str
    start: str
    prompts: Mapping[str, Mapping[str, str]]  # prompt → language → text
    nodes: Mapping[str, Node]
    calendar: CalendarOverrides = field(default_factory=CalendarOverrides)
    survey: Survey | None = None  # the post-call survey; None: this number has none

    @property
    def default_language(self) -> str:
        return self.languages[0]
