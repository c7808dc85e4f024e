"""The callback queue, pure: places among callers, dedupe by number, attempts and retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from acd.callbacks import Admission, CallbackQueue, CallbackRequest, GaveUp, Retry, normalize_number
from acd.errors import CallbackQueueFull, UnknownQueue
from acd.models import QueueConfig

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
QUEUES = {"support": QueueConfig("support"), "vip": QueueConfig("vip", skill="support", weight=5)}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def request(
    cid: str, number: str, queued: float, *, queue: str = "support", priority: int = 0
) -> CallbackRequest:
    return CallbackRequest(cid, number, queue, at(queued), priority=priority)


def test_callbacks_are_served_by_priority_then_queue_weight_then_first_queue_time() -> None:
    queue = CallbackQueue(QUEUES)
    queue.request(request("late", "13800000001", 30), at(40))
    queue.request(request("early", "13800000002", 10), at(41))
    queue.request(request("weighty", "13800000003", 50, queue="vip"), at(42))
    queue.request(request("vip-caller", "13800000004", 60, priority=5), at(43))
    order = [r.callback_id for r in queue.pending()]
    assert order == ["vip-caller", "weighty", "early", "late"]
    assert queue.best_for(["support"]).callback_id == "vip-caller"
    assert queue.best_for(["sales"]) is None


def test_a_number_already_waiting_is_merged_keeping_the_earlier_place_and_the_higher_priority() -> None:
    queue = CallbackQueue(QUEUES)
    queue.request(request("first", "+86 138-0000-0001", 10), at(10))
    queue.request(request("other", "13900000000", 5), at(11))
    again = queue.request(request("second", "8613800000001", 20, priority=3), at(20))
    assert again.outcome is Admission.MERGED
    assert (again.request.callback_id, again.request.priority, again.request.requested_at) == (
        "first",
        3,
        at(10),
    )
    assert [r.callback_id for r in queue.pending()] == ["first", "other"]
    assert queue.best_for(["support"]).callback_id == "first"


def test_a_number_called_back_within_the_window_is_refused_and_accepted_after_it() -> None:
    queue = CallbackQueue(QUEUES, dedupe_window_s=600)
    queue.request(request("a", "13800000001", 0), at(0))
    queue.start("a", "alice")
    queue.completed("a", at(60))
    assert queue.request(request("b", "13800000001", 100), at(100)).outcome is Admission.RECENT
    assert len(queue) == 0
    assert queue.request(request("c", "13800000001", 700), at(700)).outcome is Admission.NEW


def test_a_failed_attempt_waits_the_retry_delay_at_its_place_and_gives_up_after_the_last() -> None:
    queue = CallbackQueue(QUEUES, retry_delay_s=120, max_attempts=2)
    queue.request(request("a", "13800000001", 0), at(0))
    queue.request(request("b", "13800000002", 50), at(50))
    assert queue.start("a", "alice") == 1
    retry = queue.failed("a", at(60))
    assert isinstance(retry, Retry) and (retry.attempt, retry.at) == (1, at(180))
    assert queue.best_for(["support"]).callback_id == "b"  # "a" is held
    assert queue.next_due() == at(180)
    assert queue.due(at(179)) == []
    assert [r.callback_id for r in queue.due(at(180))] == ["a"]
    assert queue.best_for(["support"]).callback_id == "a"  # back at its place, ahead of "b"
    assert queue.start("a", "bob") == 2
    gave_up = queue.failed("a", at(200))
    assert isinstance(gave_up, GaveUp) and gave_up.attempt == 2
    assert queue.get("a") is None
    assert queue.request(request("a2", "13800000001", 300), at(300)).outcome is Admission.NEW


def test_a_callback_given_to_an_agent_is_not_offered_to_another() -> None:
    queue = CallbackQueue(QUEUES)
    queue.request(request("a", "13800000001", 0), at(0))
    queue.start("a", "alice")
    assert queue.best_for(["support"]) is None
    with pytest.raises(ValueError):
        queue.start("a", "bob")


def test_bad_requests_are_refused_with_a_clear_error_and_the_queue_is_bounded() -> None:
    queue = CallbackQueue(QUEUES, max_pending=1)
    with pytest.raises(UnknownQueue):
        queue.request(request("a", "13800000001", 0, queue="nowhere"), at(0))
    with pytest.raises(ValueError, match="no number"):
        queue.request(request("a", "anonymous", 0), at(0))
    queue.request(request("a", "13800000001", 0), at(0))
    with pytest.raises(CallbackQueueFull):
        queue.request(request("b", "13800000002", 0), at(0))
    assert [r.callback_id for r in queue.pending()] == ["a"]


def test_numbers_are_compared_by_their_digits() -> None:
    assert normalize_number("+86 (138) 0013-8000") == "8613800138000"
