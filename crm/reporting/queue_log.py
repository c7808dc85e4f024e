"""Asterisk's queue_log, read to check Hotline's queue legs against what Asterisk recorded.

A site that ran app_queue (or runs it as Hotline's fallback) has ``/var/log/asterisk/queue_log``:
one line per queue event, ``time|callid|queue|agent|event|data1|data2|…``. The figures a queue
report rests on are in it: a caller's wait (*holdtime*), the talk (*calltime*, which includes
hold), where in line an abandoning caller was. :func:`parse_queue_log` turns the lines into one
:class:`QueueLogCall` per call and queue; :func:`compare_with_legs` sets them against the
``queue_legs`` rows of the same calls. ``hotline reports check-queue-log FILE`` runs both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import select

from crm.db import Database
from crm.reporting.tables import QueueLegRow

LOOKUP_CHUNK = 500
TOLERANCE_S = 1.0  # queue_log counts whole seconds


@dataclass(frozen=True, slots=True)
class QueueLogCall:
    call_id: str
    queue: str
    entered_at: datetime
    outcome: str = ""  # answered, abandoned, timeout, transferred, ended; "" while unfinished
    agent: str = ""  # the member name queue_log gives (e.g. "Agent 1001")
    wait_s: float = 0.0  # holdtime, or an abandoning caller's waittime
    talk_s: float = 0.0  # calltime: talk including hold
    position: int = 0
    original_position: int = 0


@dataclass(frozen=True, slots=True)
class Mismatch:
    call_id: str
    queue: str
    figure: str  # outcome, wait, talk, position, missing
    queue_log: object
    hotline: object

    def __str__(self) -> str:
        return f"{self.call_id} {self.queue}: {self.figure} queue_log={self.queue_log} hotline={self.hotline}"


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def parse_queue_log(lines: Iterable[str]) -> tuple[list[QueueLogCall], list[str]]:
    """The calls in the lines (in order of entry) and the lines that could not be read."""
    calls: dict[tuple[str, str], QueueLogCall] = {}
    problems: list[str] = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        parts = line.split("|")
        if len(parts) < 5 or not parts[0].isdigit():
            problems.append(f"line {number}: not a queue_log line")
            continue
        at = datetime.fromtimestamp(int(parts[0]), UTC)
        call_id, queue, agent, event = parts[1], parts[2], parts[3], parts[4]
        data = [*parts[5:], "", "", "", "", ""]
        key = (call_id, queue)
        if event == "ENTERQUEUE":
            position = _int(data[2])
            calls[key] = QueueLogCall(call_id, queue, at, position=position, original_position=position)
            continue
        call = calls.get(key)
        if call is None:
            continue  # queue-wide events (QUEUESTART, ADDMEMBER, PAUSE…) and calls entered earlier
        if event == "CONNECT":
            calls[key] = replace(call, outcome="answered", agent=agent, wait_s=float(_int(data[0])))
        elif event in ("COMPLETECALLER", "COMPLETEAGENT"):
            calls[key] = replace(
                call, outcome="answered", wait_s=float(_int(data[0])), talk_s=float(_int(data[1]))
            )
        elif event == "TRANSFER":
            calls[key] = replace(
                call, outcome="answered", wait_s=float(_int(data[2])), talk_s=float(_int(data[3]))
            )
        elif event == "ABANDON":
            calls[key] = replace(
                call,
                outcome="abandoned",
                position=_int(data[0]),
                original_position=_int(data[1]),
                wait_s=float(_int(data[2])),
            )
        elif event in ("EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY"):
            offset = 1 if event == "EXITWITHKEY" else 0
            calls[key] = replace(
                call,
                outcome="timeout" if event == "EXITWITHTIMEOUT" else "ended",
                position=_int(data[offset]),
                wait_s=float(_int(data[offset + 2])),
            )
    return list(calls.values()), problems


async def compare_with_legs(db: Database, calls: Sequence[QueueLogCall]) -> list[Mismatch]:
    """Where Hotline's queue legs disagree with queue_log about the same calls."""
    legs: dict[tuple[str, str], QueueLegRow] = {}
    ids = sorted({call.call_id for call in calls})
    async with db.read() as session:
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            for leg in await session.scalars(select(QueueLegRow).where(QueueLegRow.call_id.in_(chunk))):
                legs[leg.call_id, leg.queue] = leg
    found: list[Mismatch] = []
    for call in calls:
        if not call.outcome:
            continue  # still in the queue when the log was read
        leg = legs.get((call.call_id, call.queue))
        if leg is None:
            found.append(Mismatch(call.call_id, call.queue, "missing", call.outcome, None))
            continue
        if _outcome(leg.outcome) != call.outcome:
            found.append(Mismatch(call.call_id, call.queue, "outcome", call.outcome, leg.outcome))
        if abs(leg.wait_s - call.wait_s) > TOLERANCE_S:
            found.append(Mismatch(call.call_id, call.queue, "wait", call.wait_s, leg.wait_s))
        if (
            call.outcome == "answered"
            and call.talk_s
            and abs(leg.talk_s + leg.hold_s - call.talk_s) > TOLERANCE_S
        ):
            found.append(Mismatch(call.call_id, call.queue, "talk", call.talk_s, leg.talk_s + leg.hold_s))
        if call.outcome == "abandoned" and leg.position != call.position:
            found.append(Mismatch(call.call_id, call.queue, "position", call.position, leg.position))
    return found


def _outcome(leg_outcome: str) -> str:
    """A leg's outcome in queue_log's terms (Hotline tells a callback from a message prompt)."""
    return {"callback": "timeout"}.get(leg_outcome, leg_outcome)
