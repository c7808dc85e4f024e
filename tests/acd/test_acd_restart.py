"""What the ACD keeps across a restart: the supervisors' thresholds and the callbacks not yet made."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from acd.callbacks import CallbackRequest, Phase
from acd.gate import MarketingPolicy
from acd.models import AgentState
from acd.service import AcdService
from crm.restart_state import SavedCallback
from cti.bus import EventBus
from cti.switch import OriginateResult
from tests.acd.fakes import FakeClock, FakeSwitch
from tests.acd.test_acd_service import T0, at, config

POLICY = MarketingPolicy("default", ("support",), max_agents=2, stop_waiting=3, resume_waiting=1)


class MemoryStore:
    """The CRM's store as the ACD sees it, in memory: what one process wrote, the next reads."""

    def __init__(self) -> None:
        self.policies: dict[str, dict[str, Any]] = {}
        self.callbacks: dict[str, SavedCallback] = {}
        self.failing = False

    async def marketing_policies(self) -> dict[str, dict[str, Any]]:
        return {group: dict(settings) for group, settings in self.policies.items()}

    async def save_marketing_policy(self, group: str, settings: Mapping[str, Any]) -> None:
        if self.failing:
            raise OSError("database unreachable")
        self.policies[group] = dict(settings)

    async def waiting_callbacks(self) -> list[SavedCallback]:
        return sorted(self.callbacks.values(), key=lambda c: c.position)

    async def save_callbacks(self, saved: Sequence[SavedCallback], removed: Sequence[str]) -> None:
        for callback_id in removed:
            del self.callbacks[callback_id]
        self.callbacks.update((c.callback_id, c) for c in saved)


async def started(store: MemoryStore, switch: FakeSwitch | None = None, acd_config=None) -> AcdService:
    acd = AcdService(EventBus(), switch or FakeSwitch(), FakeClock(T0), acd_config or config(), store=store)
    await acd.start()
    return acd


def callback(cid: str, number: str, queued_s: float, priority: int = 0) -> CallbackRequest:
    return CallbackRequest(cid, number, "support", at(queued_s), priority=priority, call_id=cid)


async def test_a_threshold_a_supervisor_set_holds_after_a_restart() -> None:
    store = MemoryStore()
    first = await started(store)
    assert await first.set_marketing_policy(POLICY) is None
    await first.stop()

    second = await started(store)
    assert second.gate.policy("default") == POLICY
    await second.stop()


async def test_a_threshold_that_cannot_be_saved_is_not_applied() -> None:
    store = MemoryStore()
    acd = await started(store)
    store.failing = True
    with pytest.raises(OSError):
        await acd.set_marketing_policy(POLICY)
    assert acd.gate.policy("default") is None
    await acd.stop()


async def test_a_kept_threshold_for_a_queue_removed_since_is_left_out() -> None:
    store = MemoryStore()
    store.policies["default"] = {"queues": ["gone"], "max_agents": 2}
    store.policies["sales"] = {"queues": ["sales"], "max_percent": 50.0}
    acd = await started(store)
    assert acd.gate.policy("default") is None
    assert acd.gate.policy("sales") == MarketingPolicy("sales", ("sales",), max_percent=50.0)
    await acd.stop()


async def test_callbacks_not_yet_made_wait_again_at_their_places_after_a_restart() -> None:
    store = MemoryStore()
    switch = FakeSwitch()
    switch.originate_results = [OriginateResult(action_id="o1", success=False, reason="5")]
    first = await started(store, switch)
    await first.login("alice")
    await first.request_callback(callback("cb-busy", "13800131000", 0))  # alice dials it: it fails
    await first.callbacks.wait_idle()
    await first.logout("alice")
    await first.request_callback(callback("cb-late", "13800132000", 30))
    await first.request_callback(callback("cb-early", "13800133000", 10))
    await first.stop()
    assert set(store.callbacks) == {"cb-busy", "cb-late", "cb-early"}

    second = await started(store, FakeSwitch())
    queue = second.callbacks.queue
    assert [r.callback_id for r in queue.pending()] == ["cb-busy", "cb-early", "cb-late"]
    assert queue.phase("cb-busy") is Phase.HELD and queue.attempts("cb-busy") == 1
    assert second.callbacks.next_due() == store.callbacks["cb-busy"].retry_at
    await second.login("alice")  # the first callback waiting goes to the first free agent
    assert second.states.get("alice").state is AgentState.OUTBOUND
    assert queue.phase("cb-early") is Phase.DIALING
    await second.stop()


async def test_a_callback_made_is_not_made_again_after_a_restart() -> None:
    store = MemoryStore()
    first = await started(store)
    await first.request_callback(callback("cb-1", "13800131000", 0))
    await first.login("alice")
    await first.callbacks.wait_idle()  # the originate succeeded: the callback is done
    await first.stop()
    assert store.callbacks == {}

    second = await started(store)
    assert second.callbacks.queue.pending() == []
    await second.stop()
