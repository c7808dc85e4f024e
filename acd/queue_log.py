"""Asterisk's queue_log for the calls Hotline delivers. Pure: events in, lines out.

app_queue logs a caller's stay in a waiting queue (``ENTERQUEUE``), but Hotline takes the caller
out of ``Queue()`` with a Redirect to ``hotline-deliver``, and app_queue writes that as
``ABANDON`` (transcript 16). Left alone, every delivered call would read as abandoned in
queue_log, and in whatever reads it (QueueMetrics, ``hotline reports check-queue-log``). So
Hotline writes, through AMI ``QueueLog``, the lines app_queue would have written had it
connected the call itself; they come after app_queue's ``ABANDON`` and say what really happened
(docs/routing.md, "queue_log"):

- ``CONNECT`` wait | agent channel | ring seconds, when the agent answers;
- ``COMPLETECALLER`` wait | talk (hold included) | original position, when the call ends;
- ``TRANSFER`` target | ``hotline`` | wait | talk | original position, when the agent transfers it;
- ``RINGNOANSWER`` ring milliseconds, when the agent's phone was not answered and the caller
  is back in the queue;
- ``ABANDON`` position | original position | wait, when the caller hangs up while the agent's
  phone rings (app_queue's own line said the caller left at once).

Only queues Hotline routes get lines: the ``-fallback`` twins are app_queue's own ACD, which
logs for itself. The agent field is the phone's interface (``PJSIP/1001``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cti.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallQueued,
    CallRinging,
    CallTransferred,
)


@dataclass(frozen=True, slots=True)
class QueueLogLine:
    queue: str
    call_id: str  # the caller's Uniqueid, as app_queue names the call
    event: str
    agent: str = ""
    data: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        return "|".join(self.data)


@dataclass(slots=True)
class _Visit:
    queue: str
    original_position: int
    agent: str = ""  # the phone being rung or talking
    rung_at: datetime | None = None
    answered_at: datetime | None = None
    wait_s: float = 0.0


def _seconds(value: float) -> str:
    return str(round(value))


class DeliveryLog:
    """Follows each routed call from its queue to its end; ``feed`` returns the lines to write."""

    def __init__(self, routed: Callable[[str], bool]) -> None:
        self._routed = routed
        self._visits: dict[str, _Visit] = {}

    def carry_on(self, other: DeliveryLog) -> None:
        """Go on from where ``other`` is, for the queues this log's calls are routed in: another
        node's log of the leader's events, so that a call answered before a takeover is still
        completed (its lines before were the old leader's to write)."""
        self._visits.update({c: v for c, v in other._visits.items() if self._routed(v.queue)})

    def feed(self, event: object) -> list[QueueLogLine]:
        if isinstance(event, CallQueued):
            return self._queued(event)
        if not isinstance(event, CallRinging | CallAnswered | CallTransferred | CallAbandoned | CallEnded):
            return []
        visit = self._visits.get(event.call_id)
        if visit is None:
            return []
        if isinstance(event, CallRinging):
            if event.queue == visit.queue:
                visit.agent, visit.rung_at = event.agent, event.at
            return []
        if isinstance(event, CallAnswered):
            if visit.answered_at is not None or event.queue != visit.queue:
                return []
            visit.agent, visit.answered_at, visit.wait_s = event.agent, event.at, event.wait_seconds
            data = (_seconds(event.wait_seconds), event.agent_channel, _seconds(event.ring_seconds))
            return [self._line(event.call_id, visit, "CONNECT", data)]
        if isinstance(event, CallTransferred):
            if visit.answered_at is None:
                return []
            del self._visits[event.call_id]
            talk = (event.at - visit.answered_at).total_seconds()
            data = (event.to, "hotline", _seconds(visit.wait_s), _seconds(talk), str(visit.original_position))
            return [self._line(event.call_id, visit, "TRANSFER", data)]
        if isinstance(event, CallAbandoned):
            if visit.rung_at is None or visit.answered_at is not None:
                return []  # left while waiting: app_queue's own ABANDON is right
            del self._visits[event.call_id]
            data = (str(event.position), str(visit.original_position), _seconds(event.wait_seconds))
            return [QueueLogLine(visit.queue, event.call_id, "ABANDON", "NONE", data)]
        del self._visits[event.call_id]
        if visit.answered_at is None:
            return []
        data = (_seconds(visit.wait_s), _seconds(event.talk_seconds), str(visit.original_position))
        return [self._line(event.call_id, visit, "COMPLETECALLER", data)]

    def _queued(self, event: CallQueued) -> list[QueueLogLine]:
        visit = self._visits.get(event.call_id)
        if not self._routed(event.queue):
            return []
        if visit is not None and visit.queue == event.queue and visit.answered_at is None:
            # Back from a delivery nobody answered: the same stay in the same queue.
            lines = []
            if visit.rung_at is not None:
                ring_ms = round((event.at - visit.rung_at).total_seconds() * 1000)
                lines.append(self._line(event.call_id, visit, "RINGNOANSWER", (str(ring_ms),)))
            visit.agent, visit.rung_at = "", None
            return lines
        self._visits[event.call_id] = _Visit(event.queue, event.position)
        return []

    @staticmethod
    def _line(call_id: str, visit: _Visit, event: str, data: tuple[str, ...]) -> QueueLogLine:
        return QueueLogLine(visit.queue, call_id, event, visit.agent, data)
