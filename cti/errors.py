"""Typed errors of the switch boundary: what went wrong, with what a person needs to fix it.

Every ``Switch`` method either returns its result or raises a ``SwitchError``. Callers that only
care whether the switch did it catch ``SwitchError``; those that can do better (retry later when
the link is down, show Asterisk's message to a supervisor) catch the subclass.
"""

from __future__ import annotations


class SwitchError(Exception):
    """Base of every error raised by the switch actions and the AMI link."""


class SwitchUnavailable(SwitchError):
    """The link to Asterisk is down (or went down while waiting): nothing can be asked now.

    ``sent`` tells whether the action had reached the socket before the link was lost; when it
    had, Asterisk may have carried it out.
    """

    def __init__(self, reason: str, *, action: str = "", sent: bool = False) -> None:
        self.reason = reason
        self.action = action
        self.sent = sent
        what = f"action {action}: " if action else ""
        super().__init__(f"{what}switch unavailable: {reason}")


class AmiTimeout(SwitchError):
    """Asterisk did not answer an action in time; its outcome is unknown."""

    def __init__(self, action: str, action_id: str, timeout_s: float, waiting_for: str = "response") -> None:
        self.action = action
        self.action_id = action_id
        self.timeout_s = timeout_s
        self.waiting_for = waiting_for
        super().__init__(
            f"action {action} (ActionID {action_id}): no {waiting_for} from Asterisk within {timeout_s:g} s"
        )


class AmiActionFailed(SwitchError):
    """Asterisk answered ``Response: Error``; ``message`` is its ``Message:`` header, verbatim."""

    def __init__(self, action: str, message: str, action_id: str = "") -> None:
        self.action = action
        self.message = message
        self.action_id = action_id
        super().__init__(f"action {action} failed: {message or 'no message from Asterisk'}")


class AmiLoginRefused(SwitchError):
    """Asterisk refused the manager login: check ``[ami] username`` / secret and manager.conf."""

    def __init__(self, host: str, port: int, username: str, message: str) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.message = message
        super().__init__(
            f"Asterisk at {host}:{port} refused the manager login of user {username!r}: {message}"
            " (check the AMI username and secret against manager.conf)"
        )


class AmiProtocolError(SwitchError):
    """The peer does not speak AMI as expected (e.g. no banner, a reply that is not a Response)."""
