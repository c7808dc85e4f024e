"""Typed errors of the IVR: menu files that cannot be used, and AGI conversations that went wrong.

A menu error names the file and the node, so whoever edits the YAML knows where to look. AGI
errors say which command was waiting and what Asterisk sent (or did not send).
"""

from __future__ import annotations

from dataclasses import dataclass


class IvrError(Exception):
    """Base of every error raised by ivr/."""


@dataclass(frozen=True, slots=True)
class MenuProblem:
    file: str
    node: str  # "" when the problem is in the file's header, not in a node
    message: str

    def __str__(self) -> str:
        where = f"node {self.node!r}: " if self.node else ""
        return f"{self.file}: {where}{self.message}"


class MenuInvalid(IvrError):
    """A menu file that cannot be used; every problem found is listed, each with file and node."""

    def __init__(self, problems: list[MenuProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class AgiError(IvrError):
    """The AGI conversation cannot go on."""


class AgiHangup(AgiError):
    """The caller hung up (``HANGUP``, a dead-channel answer, or Asterisk closed the socket)."""


class AgiTimeout(AgiError):
    def __init__(self, waiting_for: str, timeout_s: float) -> None:
        self.waiting_for = waiting_for
        self.timeout_s = timeout_s
        super().__init__(f"no reply from Asterisk to {waiting_for} within {timeout_s:g} s")


class AgiProtocolError(AgiError):
    """Asterisk (or whatever is on the socket) sent something that is not AGI."""

    def __init__(self, reason: str, line: str = "") -> None:
        self.reason = reason
        self.line = line
        shown = f": {line[:80]!r}" if line else ""
        super().__init__(f"{reason}{shown}")


class AgiCommandRejected(AgiError):
    """Asterisk refused a command (510 unknown command, 520 usage error)."""

    def __init__(self, command: str, code: int, detail: str) -> None:
        self.command = command
        self.code = code
        self.detail = detail
        super().__init__(f"Asterisk rejected {command!r} ({code}): {detail}")


class LookupUnavailable(IvrError):
    """The CRM could not answer a lookup now; the menu says so to the caller and goes on."""
