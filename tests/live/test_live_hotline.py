"""The real Hotline on the real switch: ``hotline serve`` in production mode against Asterisk
with asterisk-config/, SIPp as the carrier and the agents' phones, the agents and supervisors
through the HTTP API and their WebSocket. Each scenario asserts the domain events (an AMI
session of its own, through Hotline's tracker), what the agent's WebSocket received, the ACD's
counts and what Hotline stored."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hotline_process import KNOWN_CALLER, KNOWN_NAME, Desk, HotlineProcess, lines_of, queue_log_agrees
from live_harness import AmiSession, Sipp
from sip_scripts import caller_scenario

from cti.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallQueued,
    CallResumed,
    CallRinging,
    CallTransferred,
)

pytestmark = pytest.mark.live

NUMBER = "4008123456"
UNKNOWN_CALLER = "13912345678"
# The production menu: the welcome (4.9 s, no escape), then (not VIP) the language choice
# (1: Mandarin) while it plays, then the main menu (0: an agent) as it starts.
TO_AN_AGENT = ((6.5, "1"), (2.5, "0"))


async def agent_on_duty(hotline: HotlineProcess, ami: AmiSession, username: str, extension: str) -> Desk:
    await ami.phone_reachable(extension)
    desk = await Desk.log_in(hotline.url, username)
    await desk.ok("POST", "/api/agent/login", {"extension": extension})
    await desk.ok("POST", "/api/agent/ready")
    await desk.frame("hello")
    return desk


async def place_call(sipp: Sipp, tmp_path: Path, number: str, presses=TO_AN_AGENT, stay_s: float = 15.0):
    scenario = caller_scenario(
        tmp_path / f"caller-{number}-{abs(hash(presses))}.xml", number, presses, stay_s
    )
    target = f"{sipp.config.trunk_sip_host}:{sipp.config.sip_port}"
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


async def talk_then_hang_up(desk: Desk, call_id: str, seconds: float = 2.0) -> None:
    await desk.frame("call", lambda f: f["call_id"] == call_id and f["answered"])
    await asyncio.sleep(seconds)  # real time on a real switch: the call is talking
    await desk.ok("POST", f"/api/agent/calls/{call_id}/hangup")
    await desk.frame("ended", lambda f: f["call_id"] == call_id)


def events_of(ami: AmiSession, call_id: str) -> list[object]:
    return [e for e in ami.events if getattr(e, "call_id", "") == call_id]


async def test_an_unknown_caller_pops_as_a_new_caller_with_the_number(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path
) -> None:
    async with sipp.phone("1001"):
        desk = await agent_on_duty(hotline, ami, "agent1001", "1001")
        try:
            await place_call(sipp, tmp_path, UNKNOWN_CALLER)
            pop = await desk.frame("pop", within_s=40)
            assert (pop["caller"], pop["known"], pop["customer"]) == (UNKNOWN_CALLER, False, None)
            assert pop["ivr_path"], "the IVR path travels with the call"
            await talk_then_hang_up(desk, pop["call_id"])
            await ami.wait_until(lambda: any(isinstance(e, CallEnded) for e in ami.events), within_s=20)
            assert CallAbandoned not in [type(e) for e in events_of(ami, pop["call_id"])]
        finally:
            await desk.close()


async def test_an_agent_who_does_not_answer_is_paused_missed_and_the_next_agent_gets_the_call(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path
) -> None:
    async with sipp.phone("1001", "agent-noanswer.xml"), sipp.phone("1002"):
        first = await agent_on_duty(hotline, ami, "agent1001", "1001")  # longest idle: rung first
        await asyncio.sleep(1.0)
        second = await agent_on_duty(hotline, ami, "agent1002", "1002")
        try:
            await place_call(sipp, tmp_path, KNOWN_CALLER, stay_s=40)
            missed = await first.frame("pop", within_s=40)
            pop = await second.frame("pop", within_s=30)
            assert pop["call_id"] == missed["call_id"]
            assert (pop["caller"], pop["known"]) == (KNOWN_CALLER, True)
            assert pop["ivr_path"] == missed["ivr_path"] != []
            status = await first.ok("GET", "/api/agent/status")
            assert (status["state"], status["reason"]) == ("paused", "missed")
            await talk_then_hang_up(second, pop["call_id"])
            queued = [e for e in events_of(ami, pop["call_id"]) if isinstance(e, CallQueued)]
            assert [q.queue for q in queued] == ["support", "support"]
            assert queued[1].priority == queued[0].priority + 1
            answered = [e for e in events_of(ami, pop["call_id"]) if isinstance(e, CallAnswered)]
            assert [a.agent for a in answered] == ["PJSIP/1002"]
            assert CallAbandoned not in [type(e) for e in events_of(ami, pop["call_id"])]
            assert hotline.log_lines("acd_call_without_channel") == []
            # queue_log: app_queue's ABANDON at each Redirect is followed by RINGNOANSWER, then
            # CONNECT and COMPLETECALLER: answered, with the wait from the first join.
            await second.ok(
                "POST", f"/api/agent/calls/{pop['call_id']}/wrapup", {"disposition": "info", "ready": True}
            )
            await queue_log_agrees(hotline, {pop["call_id"]}, tmp_path)
            assert "RINGNOANSWER" in lines_of({pop["call_id"]})
        finally:
            await first.close()
            await second.close()


async def test_an_agent_on_a_call_is_not_offered_a_second_one(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path
) -> None:
    async with sipp.phone("1001"), sipp.phone("1002"):
        desks = [
            await agent_on_duty(hotline, ami, "agent1001", "1001"),
            await agent_on_duty(hotline, ami, "agent1002", "1002"),
        ]
        try:
            await place_call(sipp, tmp_path, KNOWN_CALLER, stay_s=25)
            first = await asyncio.wait_for(_first_pop(desks), 40)
            await place_call(sipp, tmp_path, UNKNOWN_CALLER, stay_s=25)
            other = desks[1] if first is desks[0] else desks[0]
            pop = await other.frame("pop", within_s=40)
            assert pop["caller"] == UNKNOWN_CALLER
            assert len(first.of("pop")) == 1, "the busy agent got no second ring"
            for desk in desks:
                await talk_then_hang_up(desk, desk.of("pop")[0]["call_id"], seconds=0.5)
        finally:
            for desk in desks:
                await desk.close()


async def _first_pop(desks: list[Desk]) -> Desk:
    while True:
        for desk in desks:
            if desk.of("pop"):
                return desk
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def answered_call(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path, stay_s: float = 30.0
) -> AsyncIterator[tuple[Desk, str]]:
    """Agent 1001 on duty, a known caller put through the IVR to them and answered: their desk
    and the call's id. The desk is closed after."""
    async with sipp.phone("1001"):
        desk = await agent_on_duty(hotline, ami, "agent1001", "1001")
        try:
            await place_call(sipp, tmp_path, KNOWN_CALLER, stay_s=stay_s)
            call_id = (await desk.frame("pop", within_s=40))["call_id"]
            await desk.frame("call", lambda f: f["call_id"] == call_id and f["answered"])
            yield desk, call_id
        finally:
            await desk.close()


async def test_the_desktops_hold_and_resume_keep_the_call_and_its_recording(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path
) -> None:
    async with answered_call(hotline, ami, sipp, tmp_path, stay_s=40) as (desk, call_id):
        await desk.ok("POST", f"/api/agent/calls/{call_id}/hold", {"on": True})
        await desk.frame("call", lambda f: f["call_id"] == call_id and f["held"])
        await ami.wait_until(lambda: any(isinstance(e, CallHeld) for e in events_of(ami, call_id)), 10)
        await asyncio.sleep(2.0)  # the caller hears music on hold
        await desk.ok("POST", f"/api/agent/calls/{call_id}/hold", {"on": False})
        await desk.frame("call", lambda f: f["call_id"] == call_id and f["answered"] and not f["held"])
        await ami.wait_until(lambda: any(isinstance(e, CallResumed) for e in events_of(ami, call_id)), 10)
        await talk_then_hang_up(desk, call_id, seconds=1.0)
        await ami.wait_until(lambda: any(isinstance(e, CallEnded) for e in events_of(ami, call_id)), 10)
        kinds = [type(e) for e in events_of(ami, call_id)]
        assert CallAbandoned not in kinds and CallTransferred not in kinds
        ended = next(e for e in events_of(ami, call_id) if isinstance(e, CallEnded))
        assert ended.agent == "PJSIP/1001" and ended.talk_seconds > 2.0


@pytest.mark.parametrize(
    ("kind", "target", "queue"),
    [("agent", "1002", "support"), ("queue", "sales", "sales")],
    ids=["agent", "queue"],
)
async def test_a_blind_transfer_pops_the_caller_on_the_next_agents_screen(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path, kind: str, target: str, queue: str
) -> None:
    async with sipp.phone("1001"), sipp.phone("1002"):
        first = await agent_on_duty(hotline, ami, "agent1001", "1001")
        await asyncio.sleep(1.0)
        second = await agent_on_duty(hotline, ami, "agent1002", "1002")
        try:
            await place_call(sipp, tmp_path, KNOWN_CALLER, stay_s=40)
            pop = await first.frame("pop", within_s=40)
            call_id = pop["call_id"]
            await first.frame("call", lambda f: f["call_id"] == call_id and f["answered"])
            await first.ok("POST", f"/api/agent/calls/{call_id}/transfer", {"kind": kind, "target": target})
            await first.frame("ended", lambda f: f["call_id"] == call_id)
            handed = await second.frame("pop", lambda f: f["call_id"] == call_id, within_s=30)
            assert (handed["caller"], handed["known"], handed["queue"]) == (KNOWN_CALLER, True, queue)
            await talk_then_hang_up(second, call_id, seconds=1.0)
            transfers = [e for e in events_of(ami, call_id) if isinstance(e, CallTransferred)]
            assert [t.from_agent for t in transfers] == ["PJSIP/1001"]
            assert CallAbandoned not in [type(e) for e in events_of(ami, call_id)]
            # The second agent hung up first: the caller is asked the survey on the keypad (and
            # presses nothing), as after a call that was not transferred.
            from test_live_survey import survey_answered

            assert await survey_answered(hotline, call_id, 60) == ("ivr", "unanswered", None)
        finally:
            await first.close()
            await second.close()


async def test_a_caller_hears_their_tickets_status_by_its_number_then_reaches_an_agent(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path
) -> None:
    async with sipp.phone("1001"):
        desk = await agent_on_duty(hotline, ami, "agent1001", "1001")
        try:
            # A first call opens the ticket at wrap-up.
            await place_call(sipp, tmp_path, KNOWN_CALLER, stay_s=40)
            first = await desk.frame("pop", within_s=40)
            await talk_then_hang_up(desk, first["call_id"], seconds=0.5)
            done = await desk.ok(
                "POST",
                f"/api/agent/calls/{first['call_id']}/wrapup",
                {
                    "disposition": "follow_up",
                    "new_ticket": {"kind": "service_request", "subject": "空调不制冷"},
                    "ready": True,
                },
            )
            number = done["ticket_number"]
            assert number
            # The second call: 1 (Mandarin), 1 (a ticket), its digits (the keypad has no "T") and #,
            # then 0 after the
            # status is read back (tried again in case a press lands in a prompt that ignores it).
            presses = (
                (6.5, "1"),
                (2.5, "1"),
                (3.0, number.removeprefix("T") + "#"),
                (16.0, "0"),
                (3.0, "0"),
                (3.0, "0"),
            )
            await place_call(sipp, tmp_path, KNOWN_CALLER, presses=presses, stay_s=30)
            pop = await desk.frame("pop", lambda f: f["call_id"] != first["call_id"], within_s=90)
            assert any("ticket_lookup" in step for step in pop["ivr_path"]), pop["ivr_path"]
            assert number in [t["number"] for t in pop["tickets"]]
            await talk_then_hang_up(desk, pop["call_id"], seconds=0.5)
        finally:
            await desk.close()


async def test_a_callback_asked_for_in_the_ivr_rings_a_free_agent_then_the_customer(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path
) -> None:
    carrier = await sipp.start("agent.xml", local_ip=sipp.config.carrier_ip, port=5090)
    async with sipp.phone("1001"):
        desk = await agent_on_duty(hotline, ami, "agent1001", "1001")
        try:
            await place_call(sipp, tmp_path, KNOWN_CALLER, presses=((6.5, "1"), (2.5, "4")), stay_s=20)
            pop = await desk.frame("pop", within_s=90)
            # The agent's phone rings first; the pop names the customer about to be called back.
            assert (pop["caller"], pop["known"], pop["queue"]) == (KNOWN_CALLER, True, "support")
            await desk.frame("call", lambda f: f["call_id"] == pop["call_id"] and f["answered"], within_s=30)
            await talk_then_hang_up(desk, pop["call_id"], seconds=0.5)
        finally:
            await desk.close()
            carrier.terminate()


@pytest.mark.after_hours
async def test_a_message_left_after_hours_is_listed_and_played_for_the_supervisor(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path
) -> None:
    boss = await Desk.log_in(hotline.url, "supervisor")
    try:
        # 1 (Mandarin); the centre is closed: 1 to leave a message; the caller speaks for a
        # while and hangs up, as most callers end a message.
        caller = await place_call(sipp, tmp_path, KNOWN_CALLER, presses=((6.5, "1"), (2.5, "1")), stay_s=15)
        await caller.wait()
        async with asyncio.timeout(30):
            while not (listed := (await boss.ok("GET", "/api/messages"))["messages"]):  # noqa: ASYNC110
                await asyncio.sleep(0.5)  # the page polls too: no frame tells of a new message
        [message] = listed
        assert (message["caller"], message["customer_name"], message["status"]) == (
            KNOWN_CALLER,
            KNOWN_NAME,
            "new",
        )
        assert message["has_audio"] is True, message
        status, audio = await boss.download(f"/api/messages/{message['id']}/audio")
        assert status == 200 and audio[:4] == b"RIFF" and len(audio) > 8000, (status, audio[:64])
    finally:
        await boss.close()


async def test_the_desktops_keypad_plays_digits_to_the_caller_through_the_switch(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path
) -> None:
    async with answered_call(hotline, ami, sipp, tmp_path) as (desk, call_id):
        # As an agent in a supplier's menu: 1, then 1 again in a second press, then 2#. Each is
        # Asterisk's PlayDTMF, answered Success (the AMI user reads no "dtmf" events: the digits
        # themselves are not seen here; the desktop tests count them).
        for digits in ("1", "1", "2#"):
            await desk.ok("POST", f"/api/agent/calls/{call_id}/dtmf", {"digits": digits})
        refused = await desk.call("POST", f"/api/agent/calls/{call_id}/dtmf", {"digits": "x"})
        assert refused[0] == 422
        await talk_then_hang_up(desk, call_id, seconds=0.5)


async def test_the_agent_mutes_and_unmutes_their_microphone_on_the_real_switch(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path
) -> None:
    async with answered_call(hotline, ami, sipp, tmp_path) as (desk, call_id):
        # Each is the switch's answer to Setvar MUTEAUDIO(in): 409 had it refused.
        await desk.ok("POST", f"/api/agent/calls/{call_id}/mute", {"muted": True})
        await desk.frame("call", lambda f: f["call_id"] == call_id and f.get("muted") is True)
        await desk.ok("POST", f"/api/agent/calls/{call_id}/mute", {"muted": False})
        await desk.ok("POST", f"/api/agent/calls/{call_id}/mute", {"muted": True})
        await talk_then_hang_up(desk, call_id, seconds=0.5)
