"""The real Hotline on the real switch: ``hotline serve`` in production mode against Asterisk
with asterisk-config/, SIPp as the carrier and the agents' phones, the agents and supervisors
through the HTTP API and their WebSocket. Each scenario asserts the domain events (an AMI
session of its own, through Hotline's tracker), what the agent's WebSocket received, the ACD's
counts and what Hotline stored."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hotline_process import KNOWN_CALLER, KNOWN_NAME, Desk, HotlineProcess
from live_harness import AmiSession, Sipp
from sip_scripts import caller_scenario

from cti.events import CallAbandoned, CallAnswered, CallEnded, CallRinging

pytestmark = pytest.mark.live

NUMBER = "4008123456"
UNKNOWN_CALLER = "13912345678"
# The production menu: the welcome (4.9 s, no escape), then (not VIP) the language choice
# (1: Mandarin) while it plays, then the main menu (0: an agent) as it starts.
TO_AN_AGENT = ((6.5, "1"), (2.5, "0"))


async def phone_reachable(ami: AmiSession, extension: str) -> None:
    """Asterisk reports a phone that just registered as unavailable until it has answered an
    OPTIONS qualify (up to qualify_frequency later); ask for one now and wait for it."""
    await ami.action("PJSIPQualify", Endpoint=extension)
    async with asyncio.timeout(10):
        while True:
            answer = await ami.action("Getvar", Variable=f"DEVICE_STATE(PJSIP/{extension})")
            if answer.get("Value") == "NOT_INUSE":
                return
            await asyncio.sleep(0.2)


async def agent_on_duty(hotline: HotlineProcess, ami: AmiSession, username: str, extension: str) -> Desk:
    await phone_reachable(ami, extension)
    desk = await Desk.log_in(hotline.url, username)
    await desk.ok("POST", "/api/agent/login", {"extension": extension})
    await desk.ok("POST", "/api/agent/ready")
    await desk.frame("hello")
    return desk


async def place_call(sipp: Sipp, tmp_path: Path, number: str, presses=TO_AN_AGENT, stay_s: float = 15.0):
    scenario = caller_scenario(tmp_path / f"caller-{number}.xml", number, presses, stay_s)
    target = f"{sipp.config.trunk_sip_host}:5060"
    return await sipp.start(
        str(scenario), "-s", NUMBER, "-m", "1", "-timeout", "90s", target, local_ip=sipp.config.carrier_ip
    )


async def test_a_known_caller_through_the_ivr_pops_the_customer_card_and_path(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path
) -> None:
    async with sipp.phone("1001"):
        desk = await agent_on_duty(hotline, ami, "agent1001", "1001")
        try:
            caller = await place_call(sipp, tmp_path, KNOWN_CALLER)
            pop = await desk.frame("pop", within_s=40)
            assert pop["caller"] == KNOWN_CALLER
            assert pop["known"] is True
            assert pop["customer"]["name"] == KNOWN_NAME
            assert pop["queue"] == "support"
            assert any(step.startswith("main") for step in pop["ivr_path"]), pop["ivr_path"]
            call_id = pop["call_id"]
            await ami.wait_until(lambda: any(isinstance(e, CallEnded) for e in ami.events), within_s=40)
            await caller.wait()
            kinds = [type(e) for e in ami.events if getattr(e, "call_id", "") == call_id]
            assert CallRinging in kinds and CallAnswered in kinds
            assert CallAbandoned not in kinds
        finally:
            await desk.close()
