"""The callback queue: callers who keep their place while Hotline calls them back. Pure; every
input says when.

Ordering: a callback is ranked exactly like a live caller of its queue — call priority, then the
queue's weight, then the time the caller first queued (for a caller who asked in the IVR: the
time they asked). The shell compares the best callback an agent could take with the best live
caller the router holds for them, on those three; on a tie the live caller goes first (someone
is listening to music on hold; the callback loses nothing by waiting a moment).

- Dedupe: a number already waiting for a callback (or being dialed) is not queued twice — the
  new request joins the old one, which keeps its earlier place and takes the higher priority of
  the two. A number called back less than ``dedupe_window_s`` ago is refused: that covers the same
  request arriving again (a repeated event, a second press while the first was being dialed). The
  window is short on purpose: a caller who calls in again later and asks again was promised a
  call, and gets one. After a callback that gave up, a new request is accepted.
- Attempts: a failed attempt is held ``retry_delay_s`` and then waits again at its place; after
  ``max_attempts`` it is given up.
- Bounded: at most ``max_pending`` callbacks; a request beyond raises ``CallbackQueueFull``.
- Kept across restarts: ``states`` is every callback not yet made, as the store keeps it, and
  ``restore`` puts one back at its place (acd/callback_journal.py). One being dialed when Hotline
  stopped waits again, its attempt counted.
"""

from __future__ import annotations

import enum
import heapq
import itertools
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from acd.errors import CallbackQueueFull, UnknownQueue
from acd.events import CallbackSource
from acd.models import QueueConfig

MAX_PENDING = 10_000

Key = tuple[int, int, float, int]  # (−priority, −queue weight, queued since, order of request)


def normalize_number(number: str) -> str:
    """The digits of a number: "+86 138-0013-8000" and "8613800138000" are the same caller."""
    return "".join(ch for ch in number if ch.isdigit())


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    callback_id: str
    number: str
    queue: str
    requested_at: datetime  # the caller's place: when they first queued, or asked in the IVR
    skill: str = ""  # empty: the queue's skill
    priority: int = 0
    customer_id: str = ""
    language: str = ""
    call_id: str = ""  # the call the request came from
    source: CallbackSource = CallbackSource.IVR
    dialed: str = ""  # the hotline number the caller dialed: what the agent's phone shows


class Admission(enum.StrEnum):
    NEW = "new"
    MERGED = "merged"  # the number was already waiting: the request joined that callback
    RECENT = "recent"  # the number was called back within the dedupe window: refused


@dataclass(frozen=True, slots=True)
class Admitted:
    outcome: Admission
    request: CallbackRequest  # the callback that waits (for MERGED, the earlier one, updated)


@dataclass(frozen=True, slots=True)
class Retry:
    request: CallbackRequest
    attempt: int  # the attempt that failed
    at: datetime  # when it waits again


@dataclass(frozen=True, slots=True)
class GaveUp:
    request: CallbackRequest
    attempt: int


@dataclass(frozen=True, slots=True)
class CallbackState:
    """A callback not yet made, as it survives a restart."""

    request: CallbackRequest
    attempts: int
    retry_at: datetime | None  # after a failed attempt: when it waits again
    position: int  # order of request, the tie-break between equal places


class Phase(enum.StrEnum):
    WAITING = "waiting"
    DIALING = "dialing"  # given to an agent; the attempt's outcome is awaited
    HELD = "held"  # a failed attempt, waiting for its retry time


@dataclass(frozen=True, slots=True)
class CallbackView:
    """A callback not done, as a supervisor reads the queue."""

    request: CallbackRequest
    phase: Phase
    attempts: int
    agent: str  # the agent dialing it (DIALING)
    retry_at: datetime | None  # when it waits again (HELD)


class _Entry:
    __slots__ = ("agent", "attempts", "key", "phase", "request", "retry_ts", "skill", "token")

    def __init__(self, request: CallbackRequest, skill: str, key: Key) -> None:
        self.request = request
        self.skill = skill
        self.key = key
        self.phase = Phase.WAITING
        self.attempts = 0
        self.agent = ""
        self.retry_ts = 0.0
        self.token = 0


class CallbackQueue:
    def __init__(
        self,
        queues: Mapping[str, QueueConfig],
        *,
        retry_delay_s: float = 300.0,
        max_attempts: int = 3,
        dedupe_window_s: float = 300.0,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._queues = dict(queues)
        self._retry_s = retry_delay_s
        self._max_attempts = max_attempts
        self._dedupe_s = dedupe_window_s
        self._max_pending = max_pending
        self._entries: dict[str, _Entry] = {}
        self._by_number: dict[str, str] = {}  # number → pending callback id
        self._called_back: OrderedDict[str, float] = OrderedDict()  # number → completed at
        self._heaps: dict[str, list[tuple[Key, int, _Entry]]] = {}  # skill → waiting callbacks
        self._retries: list[tuple[float, int, str, int]] = []
        self._seq = itertools.count()

    def set_queues(self, queues: Mapping[str, QueueConfig]) -> None:
        """Queues changed at run time: new requests use them; waiting callbacks keep their place."""
        self._queues = dict(queues)

    def waiting_in(self, queue: str) -> int:
        """Callbacks not yet done whose caller asked in ``queue``."""
        return sum(1 for entry in self._entries.values() if entry.request.queue == queue)

    # --- requests ------------------------------------------------------------------------------

    def request(self, request: CallbackRequest, now: datetime) -> Admitted:
        queue = self._queues.get(request.queue)
        if queue is None:
            raise UnknownQueue(request.queue)
        number = normalize_number(request.number)
        if not number:
            raise ValueError(f"callback {request.callback_id}: no number to call back")
        existing = self._entries.get(self._by_number.get(number, ""))
        if existing is not None:
            return Admitted(Admission.MERGED, self._merge(existing, request))
        self._forget_old_completions(now)
        if number in self._called_back:
            return Admitted(Admission.RECENT, request)
        if len(self._entries) >= self._max_pending:
            raise CallbackQueueFull(self._max_pending)
        skill = request.skill or queue.skill
        request = replace(request, skill=skill)
        key = (-request.priority, -queue.weight, request.requested_at.timestamp(), next(self._seq))
        entry = _Entry(request, skill, key)
        self._entries[request.callback_id] = entry
        self._by_number[number] = request.callback_id
        self._index(entry)
        return Admitted(Admission.NEW, request)

    def restore(self, state: CallbackState, now: datetime) -> bool:
        """Put back a callback kept across a restart, at its place; False when its queue is gone
        or its number already waits."""
        request = state.request
        queue = self._queues.get(request.queue)
        number = normalize_number(request.number)
        if queue is None or not number or number in self._by_number or request.callback_id in self._entries:
            return False
        self._seq = itertools.count(max(next(self._seq), state.position + 1))
        skill = request.skill or queue.skill
        key = (-request.priority, -queue.weight, request.requested_at.timestamp(), state.position)
        entry = _Entry(replace(request, skill=skill), skill, key)
        entry.attempts = state.attempts
        self._entries[request.callback_id] = entry
        self._by_number[number] = request.callback_id
        if state.retry_at is not None and state.retry_at > now:
            entry.phase = Phase.HELD
            entry.retry_ts = state.retry_at.timestamp()
            heapq.heappush(self._retries, (entry.retry_ts, next(self._seq), request.callback_id, entry.token))
        else:
            self._index(entry)
        return True

    def _merge(self, entry: _Entry, request: CallbackRequest) -> CallbackRequest:
        first = entry.request
        merged = replace(
            first,
            priority=max(first.priority, request.priority),
            requested_at=min(first.requested_at, request.requested_at),
            customer_id=first.customer_id or request.customer_id,
            language=first.language or request.language,
        )
        if merged != first:
            entry.request = merged
            key = (-merged.priority, entry.key[1], merged.requested_at.timestamp(), entry.key[3])
            entry.key = key
            if entry.phase is Phase.WAITING:
                self._index(entry)  # the old heap entry is stale now
        return entry.request

    def _forget_old_completions(self, now: datetime) -> None:
        horizon = now.timestamp() - self._dedupe_s
        while self._called_back and next(iter(self._called_back.values())) <= horizon:
            self._called_back.popitem(last=False)

    # --- which callback next -------------------------------------------------------------------

    def key(self, callback_id: str) -> Key:
        return self._entries[callback_id].key

    def best_for(self, skills: Iterable[str]) -> CallbackRequest | None:
        """The first waiting callback an agent with these skills could take."""
        best: tuple[Key, int, _Entry] | None = None
        for skill in skills:
            top = self._top(skill)
            if top is not None and (best is None or top < best):
                best = top
        return best[2].request if best is not None else None

    def _top(self, skill: str) -> tuple[Key, int, _Entry] | None:
        heap = self._heaps.get(skill)
        while heap:
            top = heap[0]
            entry = top[2]
            if entry.phase is Phase.WAITING and entry.token == top[1] and entry.key == top[0]:
                return top
            heapq.heappop(heap)
        return None

    def _index(self, entry: _Entry) -> None:
        entry.phase = Phase.WAITING
        entry.token += 1
        heapq.heappush(self._heaps.setdefault(entry.skill, []), (entry.key, entry.token, entry))

    # --- attempts ------------------------------------------------------------------------------

    def start(self, callback_id: str, agent: str) -> int:
        """The callback is given to the agent; returns the attempt's number (1, 2, …)."""
        entry = self._entries[callback_id]
        if entry.phase is not Phase.WAITING:
            raise ValueError(f"callback {callback_id} is {entry.phase}, not waiting")
        entry.phase = Phase.DIALING
        entry.token += 1
        entry.agent = agent
        entry.attempts += 1
        return entry.attempts

    def completed(self, callback_id: str, now: datetime) -> CallbackRequest | None:
        """The agent was connected and the number dialed: the callback is done."""
        entry = self._remove(callback_id)
        if entry is None:
            return None
        self._called_back[normalize_number(entry.request.number)] = now.timestamp()
        self._called_back.move_to_end(normalize_number(entry.request.number))
        return entry.request

    def failed(self, callback_id: str, now: datetime) -> Retry | GaveUp | None:
        entry = self._entries.get(callback_id)
        if entry is None or entry.phase is not Phase.DIALING:
            return None
        entry.agent = ""
        if entry.attempts >= self._max_attempts:
            self._remove(callback_id)
            return GaveUp(entry.request, entry.attempts)
        entry.phase = Phase.HELD
        entry.token += 1
        entry.retry_ts = now.timestamp() + self._retry_s
        heapq.heappush(self._retries, (entry.retry_ts, next(self._seq), callback_id, entry.token))
        return Retry(entry.request, entry.attempts, now + timedelta(seconds=self._retry_s))

    def cancel(self, callback_id: str) -> CallbackRequest | None:
        entry = self._remove(callback_id)
        return entry.request if entry is not None else None

    def _remove(self, callback_id: str) -> _Entry | None:
        entry = self._entries.pop(callback_id, None)
        if entry is None:
            return None
        entry.token += 1
        entry.phase = Phase.HELD  # unreachable from any heap now
        number = normalize_number(entry.request.number)
        if self._by_number.get(number) == callback_id:
            del self._by_number[number]
        return entry

    # --- time ----------------------------------------------------------------------------------

    def due(self, now: datetime) -> list[CallbackRequest]:
        """Held callbacks whose retry time has come: waiting again, at their place."""
        now_ts = now.timestamp()
        ready = []
        while self._retries and self._retries[0][0] <= now_ts:
            _, _, callback_id, token = heapq.heappop(self._retries)
            entry = self._entries.get(callback_id)
            if entry is None or entry.phase is not Phase.HELD or entry.token != token:
                continue
            self._index(entry)
            ready.append(entry.request)
        return ready

    def next_due(self) -> datetime | None:
        while self._retries:
            due, _, callback_id, token = self._retries[0]
            entry = self._entries.get(callback_id)
            if entry is not None and entry.phase is Phase.HELD and entry.token == token:
                return datetime.fromtimestamp(due, UTC)
            heapq.heappop(self._retries)
        return None

    # --- lookups -------------------------------------------------------------------------------

    def get(self, callback_id: str) -> CallbackRequest | None:
        entry = self._entries.get(callback_id)
        return entry.request if entry is not None else None

    def phase(self, callback_id: str) -> Phase | None:
        entry = self._entries.get(callback_id)
        return entry.phase if entry is not None else None

    def attempts(self, callback_id: str) -> int:
        entry = self._entries.get(callback_id)
        return entry.attempts if entry is not None else 0

    def pending(self) -> list[CallbackRequest]:
        """Every callback not done, in the order they would be served."""
        return [entry.request for entry in sorted(self._entries.values(), key=lambda e: e.key)]

    def views(self) -> list[CallbackView]:
        """Every callback not done, in the order they would be served."""
        return [
            CallbackView(
                entry.request,
                entry.phase,
                entry.attempts,
                entry.agent,
                datetime.fromtimestamp(entry.retry_ts, UTC) if entry.phase is Phase.HELD else None,
            )
            for entry in sorted(self._entries.values(), key=lambda e: e.key)
        ]

    def states(self) -> list[CallbackState]:
        """Every callback not yet made, as kept across a restart."""
        return [
            CallbackState(
                entry.request,
                entry.attempts,
                datetime.fromtimestamp(entry.retry_ts, UTC) if entry.phase is Phase.HELD else None,
                entry.key[3],
            )
            for entry in self._entries.values()
        ]

    def __len__(self) -> int:
        return len(self._entries)
