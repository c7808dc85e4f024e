"""Consult (attended) transfer on the real switch (docs/transfers.md): AMI Atxfer on the agent's
leg into hotline-consult, then CancelAtxfer, or the attended-transfer keys fed to the agent's leg
(PlayDTMF Receive). First the switch alone through the tracker (the captures
tests/cti/test_tracker_consult.py replays), then the real Hotline's desktop doing the same."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hotline_process import KNOWN_CALLER, HotlineProcess
from live_harness import AmiSession, Sipp
from test_live_hotline import agent_on_duty, events_of, place_call, talk_then_hang_up

from cti.events import (
    CallAnswered,
    CallEnded,
    CallTransferred,
    ConferenceLeft,
    ConferenceStarted,
    ConsultCancelled,
    ConsultStarted,
    RecordingStopped,
)

pytestmark = pytest.mark.live

# How each consult ends: the AMI action on the agent's leg, and the event that says it ended so.
# "agent-hangs-up": the agent's phone hangs up mid-consult (atxferdropcall = no: a transfer);
# "target-hangs-up": the consulted phone hangs up (back to the caller).
EXPECTED = {
    "complete": "CallTransferred",
    "cancel": "ConsultCancelled",
    "threeway": "ConferenceStarted",
    "agent-hangs-up": "CallTransferred",
    "target-hangs-up": "ConsultCancelled",
}
STEPS = {"complete": ("PlayDTMF", "*7"), "threeway": ("PlayDTMF", "*8"), "cancel": ("CancelAtxfer", "")}


def in_conference(call_id: str):  # type: ignore[no-untyped-def]
    return lambda f: f["call_id"] == call_id and f.get("consult") == "conference"


def answered_by_them(call_id: str):  # type: ignore[no-untyped-def]
    return lambda f: f["call_id"] == call_id and f["answered"] and not f["consult"]


def kinds(ami: AmiSession, call_id: str) -> list[str]:
    return [type(e).__name__ for e in events_of(ami, call_id)]


async def state_becomes(desk, state: str, within_s: float = 5.0) -> str:  # type: ignore[no-untyped-def]
    """The agent's state once it is ``state`` (the ACD reads the switch's news a moment later)."""
    seen = ""
    for _ in range(int(within_s / 0.1)):
        seen = (await desk.ok("GET", "/api/agent/status"))["state"]
        if seen == state:
            break
        await asyncio.sleep(0.1)
    return seen


@pytest.mark.parametrize("how", ["complete", "cancel", "threeway", "agent-hangs-up", "target-hangs-up"])
async def test_a_consult_on_the_switch_is_reported_as_it_ends(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path, how: str
) -> None:
    async with sipp.phone("1001"), sipp.phone("1002"):
        first = await agent_on_duty(hotline, ami, "agent1001", "1001")
        await asyncio.sleep(1.0)
        second = await agent_on_duty(hotline, ami, "agent1002", "1002")
        try:
            await place_call(sipp, tmp_path, KNOWN_CALLER, stay_s=60)
            call_id = (await first.frame("pop", within_s=40))["call_id"]
            await first.frame("call", lambda f: f["call_id"] == call_id and f["answered"])
            leg = next(e for e in events_of(ami, call_id) if isinstance(e, CallAnswered)).agent_channel
            answer = await ami.action("Atxfer", Channel=leg, Exten="1002", Context="hotline-consult")
            assert answer.get("Response") == "Success", answer
            await ami.wait_until(lambda: "ConsultStarted" in kinds(ami, call_id), 10)
            await asyncio.sleep(3.0)  # the consulted phone answers; the two agents talk
            assert kinds(ami, call_id).count("ConsultAnswered") == 1
            if how == "agent-hangs-up":
                await ami.action("Hangup", Channel=leg)
            elif how == "target-hangs-up":
                [started] = [e for e in events_of(ami, call_id) if isinstance(e, ConsultStarted)]
                await ami.action("Hangup", Channel=started.target_channel)
            else:
                action, keys = STEPS[how]
                for key in keys:
                    await ami.action(action, Channel=leg, Digit=key, Receive="yes")
                if not keys:
                    await ami.action(action, Channel=leg)
            await ami.wait_until(lambda: EXPECTED[how] in kinds(ami, call_id), 10)
            if how == "threeway":
                await ami.action("Hangup", Channel=leg)  # the first agent leaves; the others talk on
                await ami.wait_until(lambda: "ConferenceLeft" in kinds(ami, call_id), 10)
            await asyncio.sleep(1.0)
            assert "CallEnded" not in kinds(ami, call_id), "the caller is still talking"
            await ami.action("Hangup", Channel="/^PJSIP\\/trunk/")
            await ami.wait_until(lambda: "CallEnded" in kinds(ami, call_id), 10)
            ended = next(e for e in events_of(ami, call_id) if isinstance(e, CallEnded))
            assert ended.agent == ("PJSIP/1001" if EXPECTED[how] == "ConsultCancelled" else "PJSIP/1002")
        finally:
            await first.close()
            await second.close()


async def test_the_desktop_consults_cancels_then_completes_and_the_second_agent_has_the_caller(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path
) -> None:
    async with sipp.phone("1001"), sipp.phone("1002"):
        first = await agent_on_duty(hotline, ami, "agent1001", "1001")
        await asyncio.sleep(1.0)
        second = await agent_on_duty(hotline, ami, "agent1002", "1002")
        try:
            await place_call(sipp, tmp_path, KNOWN_CALLER, stay_s=90)
            call_id = (await first.frame("pop", within_s=40))["call_id"]
            await first.frame("call", lambda f: f["call_id"] == call_id and f["answered"])
            path = f"/api/agent/calls/{call_id}/consult"
            # A consult, cancelled: the pop on the second desk goes without a wrap-up.
            await first.ok("POST", path, {"target": "agent1002"})
            pop = await second.frame("pop", lambda f: f["call_id"] == call_id, within_s=15)
            assert (pop["caller"], pop["known"], pop["consult_from"]) == (KNOWN_CALLER, True, "1001")
            await first.frame("call", lambda f: f["call_id"] == call_id and f.get("consult") == "consulting")
            # The live phones pick up at once: the colleague is on the call, talking with the first.
            await ami.wait_until(lambda: "ConsultAnswered" in kinds(ami, call_id), 10)
            assert await state_becomes(second, "on-call") == "on-call"
            await asyncio.sleep(2.0)
            await first.ok("POST", path + "/cancel")
            gone = await second.frame("ended", lambda f: f["call_id"] == call_id, within_s=15)
            assert gone["wrapup"] is False
            await ami.wait_until(lambda: "ConsultCancelled" in kinds(ami, call_id), 10)
            assert (await second.ok("GET", "/api/agent/status"))["state"] == "available"
            # Again, completed: the second agent has the caller, the first wraps up.
            second.frames.clear()
            await asyncio.sleep(1.0)
            await first.ok("POST", path, {"target": "1002"})
            await second.frame("pop", lambda f: f["call_id"] == call_id, within_s=15)
            await ami.wait_until(lambda: kinds(ami, call_id).count("ConsultStarted") == 2, 10)
            await asyncio.sleep(2.0)
            await first.ok("POST", path + "/complete")
            done = await first.frame("ended", lambda f: f["call_id"] == call_id, within_s=15)
            assert done["wrapup"] is True
            await second.frame("call", answered_by_them(call_id))
            assert (await first.ok("GET", "/api/agent/status"))["state"] == "wrap-up"
            assert (await second.ok("GET", "/api/agent/status"))["state"] == "on-call"
            [transfer] = [e for e in events_of(ami, call_id) if isinstance(e, CallTransferred)]
            assert (transfer.from_agent, transfer.to) == ("PJSIP/1001", "PJSIP/1002")
            await asyncio.sleep(2.0)
            # The caller's recording goes on through the transfer, to the end of the call.
            assert not [e for e in events_of(ami, call_id) if isinstance(e, RecordingStopped)]
            await talk_then_hang_up(second, call_id, seconds=0.5)
            await ami.wait_until(lambda: "CallEnded" in kinds(ami, call_id), 10)
            ended = next(e for e in events_of(ami, call_id) if isinstance(e, CallEnded))
            assert ended.agent == "PJSIP/1002"
            assert [type(e).__name__ for e in events_of(ami, call_id) if isinstance(e, ConsultCancelled)]
        finally:
            await first.close()
            await second.close()


async def test_the_desktops_three_way_call_goes_on_when_the_first_agent_leaves(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path
) -> None:
    async with sipp.phone("1001"), sipp.phone("1002"):
        first = await agent_on_duty(hotline, ami, "agent1001", "1001")
        await asyncio.sleep(1.0)
        second = await agent_on_duty(hotline, ami, "agent1002", "1002")
        try:
            await place_call(sipp, tmp_path, KNOWN_CALLER, stay_s=90)
            call_id = (await first.frame("pop", within_s=40))["call_id"]
            await first.frame("call", lambda f: f["call_id"] == call_id and f["answered"])
            await first.ok("POST", f"/api/agent/calls/{call_id}/consult", {"target": "1002"})
            await second.frame("pop", lambda f: f["call_id"] == call_id, within_s=15)
            await ami.wait_until(lambda: "ConsultStarted" in kinds(ami, call_id), 10)
            await asyncio.sleep(2.0)
            await first.ok("POST", f"/api/agent/calls/{call_id}/consult/conference")
            for desk in (first, second):
                await desk.frame("call", in_conference(call_id))
            assert (await second.ok("GET", "/api/agent/status"))["state"] == "on-call"
            [conference] = [e for e in events_of(ami, call_id) if isinstance(e, ConferenceStarted)]
            assert (conference.agent, conference.target) == ("PJSIP/1001", "PJSIP/1002")
            await asyncio.sleep(1.0)
            await first.ok("POST", f"/api/agent/calls/{call_id}/hangup")
            done = await first.frame("ended", lambda f: f["call_id"] == call_id, within_s=15)
            assert done["wrapup"] is True
            await ami.wait_until(lambda: "ConferenceLeft" in kinds(ami, call_id), 10)
            [left] = [e for e in events_of(ami, call_id) if isinstance(e, ConferenceLeft)]
            assert left.agent == "PJSIP/1001"
            await asyncio.sleep(1.0)
            assert "CallEnded" not in kinds(ami, call_id), "the caller and the second agent talk on"
            assert (await second.ok("GET", "/api/agent/status"))["state"] == "on-call"
            await second.ok("POST", f"/api/agent/calls/{call_id}/hangup")
            await second.frame("ended", lambda f: f["call_id"] == call_id, within_s=15)
            await ami.wait_until(lambda: "CallEnded" in kinds(ami, call_id), 10)
        finally:
            await first.close()
            await second.close()
