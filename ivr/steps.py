"""What the menu engine asks the FastAGI shell to do next: an AGI command, a CRM question, or stop.

AGI steps know their command line and how long Asterisk may legitimately take before replying
(``patience_s``: GET DATA waits for the caller); the shell adds
its own command timeout on top.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ivr.agi import command_line, quote
from ivr.crm_port import LookupSource


@dataclass(frozen=True, slots=True)
class StreamFile:
    file: str
    escape_digits: str = ""

    def line(self) -> bytes:
        return _cached_line("STREAM FILE", self.file, self.escape_digits)

    @property
    def patience_s(self) -> float:
        return 0.0


@dataclass(frozen=True, slots=True)
class GetData:
    file: str
    timeout_ms: int
    max_digits: int

    def line(self) -> bytes:
        return _cached_line("GET DATA", self.file, str(self.timeout_ms), str(self.max_digits))

    @property
    def patience_s(self) -> float:
        # Asterisk's timeout runs after the prompt and restarts with each digit.
        return self.timeout_ms / 1000 * (self.max_digits + 1)


@dataclass(frozen=True, slots=True)
class SayDigits:
    digits: str

    def line(self) -> bytes:
        return command_line("SAY DIGITS", self.digits, '""')

    @property
    def patience_s(self) -> float:
        return 0.0


@dataclass(frozen=True, slots=True)
class SayNumber:
    number: int

    def line(self) -> bytes:
        return command_line("SAY NUMBER", str(self.number), '""')

    @property
    def patience_s(self) -> float:
        return 0.0


@dataclass(frozen=True, slots=True)
class SetVariable:
    name: str
    value: str

    def line(self) -> bytes:
        return _cached_line("SET VARIABLE", self.name, self.value)

    @property
    def patience_s(self) -> float:
        return 0.0


@dataclass(frozen=True, slots=True)
class GetVariable:
    name: str

    def line(self) -> bytes:
        return _cached_line("GET VARIABLE", self.name)

    @property
    def patience_s(self) -> float:
        return 0.0


@dataclass(frozen=True, slots=True)
class HangupChannel:
    def line(self) -> bytes:
        return b"HANGUP\n"

    @property
    def patience_s(self) -> float:
        return 0.0


@functools.lru_cache(maxsize=4096)
def _cached_line(verb: str, *arguments: str) -> bytes:
    # Calls repeat the same prompts and variables: the bytes are made once.
    return command_line(verb, *(quote(argument) for argument in arguments))


AgiStep = StreamFile | GetData | SayDigits | SayNumber | SetVariable | GetVariable | HangupChannel


@dataclass(frozen=True, slots=True)
class FindCaller:
    number: str


@dataclass(frozen=True, slots=True)
class LookupStatus:
    source: LookupSource
    key: str


@dataclass(frozen=True, slots=True)
class LookupAnswer:
    available: bool
    found: bool = False
    status: str = ""


@dataclass(frozen=True, slots=True)
class Finished:
    pass


Step = AgiStep | FindCaller | LookupStatus | Finished
FINISHED = Finished()
