"""The ACD's fallback pauses against the simulated switch running the production dialplan: the
agents are queues.conf's static members, and with Hotline's IVR down app_queue rings only those
the ACD left unpaused."""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import UTC, datetime

import pytest

from acd.models import AcdConfig, AgentProfile, QueueConfig
from acd.service import AcdService
from cti.ami_link import AmiLinkConfig
from cti.bus import EventBus
from cti.events import SwitchResynced
from cti.service import CtiService
from cti.simulator import AgentScript, CallerScript, SwitchSimulator
from cti.tracker import CallTracker

FALLBACK_QUEUES = ("support-fallback", "sales-fallback", "vip-fallback", "complaints-fallback")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config() -> AcdConfig:
    agents = [
        AgentProfile("alice", "1001", {"support": 8}),
        AgentProfile("bob", "1002", {"support": 5}),
        AgentProfile("carol", "1003", {"support": 5}),
    ]
    settings = type("Acd", (), {"wrapup_s": 5.0, "ring_timeout_s": 15.0, "sticky_agent_s": 3600.0})()
    return AcdConfig.from_settings(settings, [QueueConfig("support")], agents)


async def test_only_agents_the_acd_left_unpaused_are_rung_by_the_fallback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    phones = [AgentScript(ext, answer_after_s=0.1, hangup_after_s=0.2) for ext in ("1001", "1002", "1003")]
    sim = SwitchSimulator(agents=phones, agi_url=f"agi://127.0.0.1:{_closed_port()}/ivr", secret="s")
    port = await sim.start()
    carol_paused = asyncio.Event()
    pauses: list[bytes] = []

    def on_event(data: bytes) -> None:
        if data.startswith(b"Event: QueueMemberPause") and b"Interface: PJSIP/1003" in data:
            pauses.append(data)
            if len(pauses) == len(FALLBACK_QUEUES):
                carol_paused.set()

    sim.subscribe(on_event)
    bus = EventBus()
    resynced = bus.subscribe("test", SwitchResynced)
    cti = CtiService(AmiLinkConfig(host="127.0.0.1", port=port, secret="s"), bus, CallTracker())
    acd = AcdService(bus, cti.switch, lambda: datetime.now(UTC), _config())
    caplog.set_level(logging.WARNING, logger="acd")
    try:
        await acd.start()
        await cti.start()
        async with asyncio.timeout(10):
            await resynced.get()
        await acd.login("alice")
        await acd.login("bob")
        await acd.pause("bob", "lunch")
        async with asyncio.timeout(10):
            await carol_paused.wait()  # the resync's pauses travel on the ACD's own task
        for queue in FALLBACK_QUEUES:
            members = sim.queues[queue].members
            assert members["PJSIP/1001"].paused is False
            assert (members["PJSIP/1002"].paused, members["PJSIP/1002"].paused_reason) == (True, "lunch")
            assert (members["PJSIP/1003"].paused, members["PJSIP/1003"].paused_reason) == (True, "logged-out")
        assert "acd_fallback_membership_failed" not in caplog.text
        for _ in range(3):
            record = sim.place_call(CallerScript(digits="", hangup_after_s=10.0))
            async with asyncio.timeout(10):
                await record.done
            assert record.queue == "support-fallback" and record.agent == "1001"
        await acd.logout("alice")
        assert sim.queues["support-fallback"].members["PJSIP/1001"].paused_reason == "logged-out"
        assert set(sim.queues["support-fallback"].members) == {"PJSIP/1001", "PJSIP/1002", "PJSIP/1003"}
    finally:
        await cti.stop()
        await acd.stop()
        await sim.stop()
