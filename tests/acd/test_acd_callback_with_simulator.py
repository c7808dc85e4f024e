"""A callback through the simulated switch: the agent's phone is originated into click-to-dial,
the carrier answers, the ACD follows the call by its real id and wraps the agent up when it ends."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime

import pytest

from acd.callbacks import CallbackRequest
from acd.events import AgentStateChanged, CallbackCompleted
from acd.models import AcdConfig, AgentProfile, AgentState, QueueConfig
from acd.service import AcdService
from cti.ami_link import AmiLinkConfig
from cti.bus import EventBus
from cti.events import CallAnswered, CallEnded, SwitchResynced
from cti.service import CtiService
from cti.simulator import AgentScript, SwitchSimulator
from cti.tracker import CallTracker


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config() -> AcdConfig:
    settings = type("Acd", (), {"wrapup_s": 30.0, "ring_timeout_s": 15.0, "sticky_agent_s": 3600.0})()
    return AcdConfig.from_settings(
        settings, [QueueConfig("support")], [AgentProfile("alice", "1001", {"support": 8})]
    )


@pytest.mark.parametrize("hangs_up_by_itself", [False, True])
async def test_a_callback_rings_the_agent_dials_the_customer_and_ends_in_wrapup(
    hangs_up_by_itself: bool,
) -> None:
    # A phone that hangs up on its own (the demo's robot agents) ends a callback as it ends a
    # queue call: the agent is not left on it for ever.
    hangup_after_s = 0.3 if hangs_up_by_itself else None
    sim = SwitchSimulator(
        agents=[AgentScript("1001", answer_after_s=0.05, hangup_after_s=hangup_after_s)],
        agi_url=f"agi://127.0.0.1:{_closed_port()}/ivr",
        secret="s",
    )
    port = await sim.start()
    bus = EventBus()
    seen = bus.subscribe(
        "test", SwitchResynced, CallAnswered, CallEnded, CallbackCompleted, AgentStateChanged
    )
    cti = CtiService(AmiLinkConfig(host="127.0.0.1", port=port, secret="s"), bus, CallTracker())
    acd = AcdService(bus, cti.switch, lambda: datetime.now(UTC), _config())

    async def next_of(kind: type, **fields: object) -> object:
        async with asyncio.timeout(10):
            while True:
                event = await seen.get()
                if isinstance(event, kind) and all(getattr(event, k) == v for k, v in fields.items()):
                    return event

    try:
        await acd.start()
        await cti.start()
        await next_of(SwitchResynced)
        await acd.login("alice")
        await acd.request_callback(CallbackRequest("cb-1", "13800131000", "support", datetime.now(UTC)))
        assert acd.states.get("alice").state is AgentState.OUTBOUND
        answered = await next_of(CallAnswered, agent="PJSIP/1001")
        await next_of(CallbackCompleted, callback_id="cb-1")
        if not hangs_up_by_itself:
            await cti.switch.hangup(answered.agent_channel)
        # The wrap-up names the switch's call: the ACD followed the Originate's call to its end.
        wrapup = await next_of(AgentStateChanged, agent="alice", state=AgentState.WRAP_UP)
        assert wrapup.call_id == answered.call_id
        assert acd.states.get("alice").queue == "support"
        assert acd.callbacks.queue.pending() == []
    finally:
        await cti.stop()
        await acd.stop()
        await sim.stop()
