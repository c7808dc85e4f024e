"""The AGI protocol without I/O: the environment block, command lines, result lines.

Asterisk opens the FastAGI connection with ``agi_*: value`` lines and an empty line, then
answers every command with one line ``200 result=VALUE [(DATA)] [key=value…]``. Other lines it
may send: ``100 result=0 Trying...`` (a reply is still coming), ``510 Invalid or unknown
command``, ``511 Command Not Permitted on a dead channel…``, a ``520-`` usage block closed by
``520 End of proper usage.``, and ``HANGUP`` when the caller hangs up (tests/transcripts).
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ivr.errors import AgiProtocolError

MAX_ENVIRONMENT_LINES = 200  # Asterisk sends ~25 (plus agi_arg_N); more is not Asterisk
_ENVIRONMENT_NAME = re.compile(r"agi_[A-Za-z0-9_]+")
_ENVIRONMENT_BLOCK = re.compile(r"(?:agi_[A-Za-z0-9_]+:[^\n]*\n)+\n")
_NEEDS_QUOTES = re.compile(r'[\s"\\]')


class ReplyKind(enum.StrEnum):
    RESULT = "result"  # 200
    TRYING = "trying"  # 100: the real reply follows
    INVALID = "invalid"  # 510
    DEAD_CHANNEL = "dead-channel"  # 511
    USAGE = "usage"  # 520 (the first line of a usage block, or a one-line 520)
    HANGUP = "hangup"


@dataclass(frozen=True, slots=True)
class AgiReply:
    kind: ReplyKind
    code: int
    result: str = ""  # the text after ``result=``: digits, 0/1, -1, an ASCII code
    data: str = ""  # the text in parentheses: a variable's value, "timeout", "hangup"
    extra: Mapping[str, str] = field(default_factory=dict)  # endpos=…; shared by equal replies: read only
    text: str = ""  # the line as received, for errors
    continues: bool = False  # a ``520-`` line: more usage lines follow

    @property
    def failed(self) -> bool:
        """``result=-1``: the command failed, often because the caller hung up."""
        return self.result == "-1"


@dataclass(frozen=True, slots=True)
class AgiEnvironment:
    variables: Mapping[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.variables.get(name, default)

    @property
    def script(self) -> str:
        return self.get("agi_network_script")

    @property
    def channel(self) -> str:
        return self.get("agi_channel")

    @property
    def uniqueid(self) -> str:
        return self.get("agi_uniqueid")

    @property
    def caller(self) -> str:
        number = self.get("agi_callerid")
        return "" if number == "unknown" else number

    @property
    def dialed(self) -> str:
        """The hotline number: the dialed number (DNID) when known, else the extension."""
        dnid = self.get("agi_dnid")
        return dnid if dnid and dnid != "unknown" else self.get("agi_extension")

    @property
    def args(self) -> tuple[str, ...]:
        found = []
        index = 1
        while f"agi_arg_{index}" in self.variables:
            found.append(self.variables[f"agi_arg_{index}"])
            index += 1
        return tuple(found)


def parse_environment_line(line: str) -> tuple[str, str]:
    """One ``agi_name: value`` line (value may be empty, as ``agi_accountcode: `` is)."""
    name, sep, value = line.partition(":")
    if not sep or _ENVIRONMENT_NAME.fullmatch(name) is None:
        raise AgiProtocolError("not an AGI environment line", line)
    return name, value[1:] if value[:1] == " " else value


def parse_environment(lines: Iterable[str]) -> AgiEnvironment:
    return AgiEnvironment(dict(parse_environment_line(line) for line in lines))


def parse_environment_block(text: str) -> AgiEnvironment:
    """The whole block as received: ``agi_name: value`` lines, then an empty line."""
    if _ENVIRONMENT_BLOCK.fullmatch(text) is None:
        parse_environment(text.rstrip("\n").split("\n"))  # raises, naming the first bad line
        raise AgiProtocolError("not an AGI environment block", text[:80])
    variables = {}
    for line in text[:-2].split("\n"):
        name, _, value = line.partition(":")
        variables[name] = value[1:] if value[:1] == " " else value
    return AgiEnvironment(variables)


@functools.lru_cache(maxsize=1024)
def parse_reply(line: str) -> AgiReply:
    """One reply line, without its line end. Raises ``AgiProtocolError`` for anything else."""
    if line.startswith("200 result="):
        return _parse_result(200, line[4:], line)
    if line == "HANGUP":
        return AgiReply(ReplyKind.HANGUP, 0, text=line)
    if len(line) < 3 or not line[:3].isdigit() or (len(line) > 3 and line[3] not in " -"):
        raise AgiProtocolError("not an AGI reply", line)
    code = int(line[:3])
    rest = line[4:]
    if code == 200:
        return _parse_result(code, rest, line)
    if code == 100:
        return AgiReply(ReplyKind.TRYING, code, text=line)
    if code == 510:
        return AgiReply(ReplyKind.INVALID, code, text=line)
    if code == 511:
        return AgiReply(ReplyKind.DEAD_CHANNEL, code, text=line)
    if code == 520:
        return AgiReply(ReplyKind.USAGE, code, text=line, continues=line[3:4] == "-")
    raise AgiProtocolError(f"unknown AGI reply code {code}", line)


def _parse_result(code: int, rest: str, line: str) -> AgiReply:
    if not rest.startswith("result="):
        raise AgiProtocolError("200 reply without result=", line)
    rest = rest[7:]
    value, _, tail = rest.partition(" ")
    data = ""
    tail = tail.lstrip(" ")
    if tail.startswith("("):
        # A variable's value may hold spaces and parentheses; Asterisk adds no escaping, so the
        # data runs to the last ")" (only key=value pairs, which hold no ")", may follow it).
        close = tail.rfind(")")
        if close < 0:
            raise AgiProtocolError("unclosed ( in AGI result", line)
        data = tail[1:close]
        tail = tail[close + 1 :]
    extra = {}
    for token in tail.split():
        key, sep, token_value = token.partition("=")
        if sep:
            extra[key] = token_value
    return AgiReply(ReplyKind.RESULT, code, value, data, extra, line)


def quote(argument: str) -> str:
    """An AGI command argument: quoted when empty or when it holds spaces or quotes."""
    if argument and _NEEDS_QUOTES.search(argument) is None:
        return argument
    return '"' + argument.replace("\\", "\\\\").replace('"', '\\"') + '"'


def command_line(*words: str) -> bytes:
    """The bytes of one command: ``command_line("GET", "DATA", "menu", "5000", "1")``."""
    text = " ".join(words)
    if "\n" in text or "\r" in text:
        raise ValueError(f"AGI command arguments cannot hold line ends: {words!r}")
    return (text + "\n").encode("utf-8")
