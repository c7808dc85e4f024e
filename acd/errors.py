"""The errors of the ACD, each carrying what a person needs to fix the problem."""

from __future__ import annotations


class AcdError(Exception):
    """Base of every error the ACD raises."""


class AcdConfigError(AcdError):
    """A queue, skill, agent or marketing policy that cannot be used; the message says which and why."""


class UnknownAgent(AcdError):
    def __init__(self, agent: str) -> None:
        super().__init__(f"unknown agent {agent!r}: not in the ACD's agent profiles")
        self.agent = agent


class UnknownQueue(AcdError):
    def __init__(self, queue: str) -> None:
        super().__init__(f"unknown queue {queue!r}: not configured in the ACD")
        self.queue = queue


class QueueInUse(AcdError):
    """A queue that cannot be removed now: callers or callbacks wait in it, or another overflows to it."""

    def __init__(self, queue: str, why: str) -> None:
        super().__init__(f"queue {queue!r} cannot be removed: {why}")
        self.queue = queue
        self.why = why


class ExtensionInUse(AcdError):
    """An extension another agent holds (their own desk) or is logged in on: one phone rings for
    one agent only, or calls would reach the wrong person."""

    def __init__(self, extension: str, holder: str) -> None:
        super().__init__(f"extension {extension} is in use by another agent")
        self.extension = extension
        self.holder = holder


class UnknownReasonCode(AcdError):
    def __init__(self, reason: str, known: frozenset[str]) -> None:
        super().__init__(f"unknown pause reason {reason!r} (known: {', '.join(sorted(known))})")
        self.reason = reason


class IllegalTransition(AcdError):
    """An agent state change the state machine does not allow, e.g. pausing an agent on a call."""

    def __init__(self, agent: str, state: str, action: str) -> None:
        super().__init__(f"agent {agent!r} cannot {action} while {state}")
        self.agent = agent
        self.state = state
        self.action = action


class CallbackNotWaiting(AcdError):
    """A callback that is not in the queue (made, given up, unknown) or is being dialed now, so it
    cannot be cancelled or taken by hand."""

    def __init__(self, callback_id: str, why: str) -> None:
        super().__init__(f"callback {callback_id!r} {why}")
        self.callback_id = callback_id


class CallbackQueueFull(AcdError):
    """More callbacks wait than the queue holds: the request is refused, never silently dropped."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the callback queue is full ({limit} waiting); the request was refused")
        self.limit = limit
