"""The IVR's callback node reaches the ACD through the composition root's forwarder."""

from __future__ import annotations

import asyncio
import logging

import pytest

from acd.events import CallbackScheduled, CallbackSource
from hotline.adapters import forward_ivr_to_acd
from ivr.events import CallbackRequested, IvrCompleted, IvrOutcome
from tests.acd.test_acd_service import Harness, at


def completed(call_id: str) -> IvrCompleted:
    return IvrCompleted(
        at(3),
        call_id,
        f"PJSIP/trunk-{call_id}",
        "13800131000",
        "4008123456",
        (),
        "support",
        "",
        2,
        "zh",
        "42",
        IvrOutcome.CALLBACK,
    )


def requested(call_id: str, queue: str = "support", number: str = "13800131000") -> CallbackRequested:
    return CallbackRequested(at(3), call_id, f"PJSIP/trunk-{call_id}", number, queue, "", 2, "zh", "42")


async def test_a_callback_the_ivr_took_is_queued_in_the_acd_and_a_bad_one_does_not_stop_the_next(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = Harness()
    scheduled = h.bus.subscribe("scheduled", CallbackScheduled)
    forwarder = asyncio.create_task(forward_ivr_to_acd(h.bus, h.acd))
    try:
        await asyncio.sleep(0)  # one turn of the loop: the forwarder subscribes on its first step
        await h.acd.login("alice")
        h.bus.publish(requested("bad", queue="nowhere"))
        h.bus.publish(completed("c1"))
        h.bus.publish(requested("c1"))
        async with asyncio.timeout(5):
            event = await scheduled.get()
        await h.acd.callbacks.wait_idle()
    finally:
        forwarder.cancel()
        with pytest.raises(asyncio.CancelledError):
            await forwarder
    assert (event.callback_id, event.number, event.priority, event.requested_at) == (
        "cb-c1",
        "13800131000",
        2,
        at(3),
    )
    assert (event.source, event.customer_id) == (CallbackSource.IVR, "42")
    assert h.switch.of("originate")[0][4] == '"Callback" <4008123456>'  # the number they dialed
    assert "ivr_callback_to_acd_failed" in caplog.text
    assert logging.ERROR in {r.levelno for r in caplog.records}
