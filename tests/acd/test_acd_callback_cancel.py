"""A supervisor reads the callback queue and takes a waiting callback out of it by hand."""

from __future__ import annotations

import pytest

from acd.callbacks import Phase
from acd.errors import CallbackNotWaiting
from cti.switch import OriginateResult
from tests.acd.test_acd_service import Harness, at
from tests.acd.test_acd_service_callbacks import callback, settle


async def test_the_queue_reads_in_serving_order_with_attempts_and_the_next_try() -> None:
    h = Harness()
    h.switch.originate_results = [OriginateResult("o", False, reason="8")]
    await h.acd.login("alice")
    await h.acd.request_callback(callback("cb1", queued_s=0, number="13800131000"))
    await settle(h)  # alice tried it, and it failed: held for its retry
    await h.acd.pause("alice", "break")
    await h.acd.request_callback(callback("cb2", queued_s=5, number="13800132000"))
    views = h.acd.callbacks_waiting()
    assert [v.request.callback_id for v in views] == ["cb1", "cb2"]
    held, waiting = views
    assert (held.phase, held.attempts, held.retry_at) == (Phase.HELD, 1, at(300))
    assert (waiting.phase, waiting.attempts, waiting.retry_at) == (Phase.WAITING, 0, None)


async def test_a_cancelled_callback_is_never_dialed() -> None:
    h = Harness()
    await h.acd.request_callback(callback("cb1"))
    cancelled = h.acd.cancel_callback("cb1")
    assert cancelled.number == "13800131000"
    assert h.acd.callbacks_waiting() == []
    await h.acd.login("alice")
    await settle(h)
    assert h.switch.of("originate") == []
    with pytest.raises(CallbackNotWaiting):
        h.acd.cancel_callback("cb1")


async def test_a_callback_being_dialed_cannot_be_cancelled() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.acd.request_callback(callback("cb1"))  # alice is idle: dialing at once
    assert h.acd.callbacks_waiting()[0].phase is Phase.DIALING
    with pytest.raises(CallbackNotWaiting, match="being dialed"):
        h.acd.cancel_callback("cb1")
    await settle(h)
