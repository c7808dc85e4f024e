"""The real Hotline on the real switch, continued: outbound and supervisor calls, recordings
through the API, a burst, and the failures a site lives through (Hotline killed and restarted,
Asterisk restarted mid-call, the AMI socket dropped)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hotline_process import KNOWN_CALLER, Desk, HotlineProcess, queue_log_agrees
from live_harness import AmiSession, LiveConfig, Sipp
from sip_scripts import caller_scenario
from test_live_hotline import TO_AN_AGENT, agent_on_duty, events_of, place_call, talk_then_hang_up

from cti.events import CallAbandoned, CallAnswered, CallEnded, CallOffered, CallRinging

pytestmark = pytest.mark.live

ACTIVITY = re.compile(
    r"calls: (\d+) offered, (\d+) answered, (\d+) abandoned, (\d+) in progress, (\d+) waiting"
)


def activity(hotline: HotlineProcess) -> tuple[int, ...]:
    """The last of the lines ``hotline serve`` prints every ten seconds."""
    lines = hotline.log_lines("calls: ")
    match = ACTIVITY.search(lines[-1]) if lines else None
    return tuple(int(n) for n in match.groups()) if match else ()


async def cli(config: LiveConfig, command: str) -> str:
    if not config.asterisk_cli:
        pytest.skip("HOTLINE_LIVE_ASTERISK_CLI is not set: no way to run Asterisk's CLI")
    process = await asyncio.create_subprocess_exec(
        *config.asterisk_cli, "-rx", command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    return out.decode()


async def test_click_to_dial_rings_the_agent_then_the_customer_through_the_trunk(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, live_config: LiveConfig
) -> None:
    carrier = await sipp.start("agent.xml", local_ip=live_config.carrier_ip, port=5090)
    async with sipp.phone("1001"):
        desk = await agent_on_duty(hotline, ami, "agent1001", "1001")
        try:
            await desk.ok("POST", "/api/agent/dial", {"number": "13900001111"})
            pop = await desk.frame("pop")
            assert pop["direction"] == "outbound" and pop["caller"] == "13900001111"
            await desk.frame("call", lambda f: f["call_id"] == pop["call_id"] and f["answered"])
            status = await desk.ok("GET", "/api/agent/status")
            assert status["state"] == "outbound"
            await talk_then_hang_up(desk, pop["call_id"], seconds=1.0)
            kinds = [type(e) for e in events_of(ami, pop["call_id"])]
            assert CallRinging in kinds and CallAnswered in kinds and CallOffered not in kinds
        finally:
            await desk.close()
            carrier.terminate()


@pytest.mark.parametrize(("mode", "options"), [("listen", "qE"), ("whisper", "qwE"), ("barge", "qBE")])
async def test_a_supervisor_listens_whispers_or_barges_from_their_phone(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path, mode: str, options: str
) -> None:
    async with sipp.phone("1001"), sipp.phone("2001"):
        desk = await agent_on_duty(hotline, ami, "agent1001", "1001")
        boss = await Desk.log_in(hotline.url, "supervisor")
        try:
            await place_call(sipp, tmp_path, KNOWN_CALLER, stay_s=40)
            pop = await desk.frame("pop", within_s=40)
            await desk.frame("call", lambda f: f["call_id"] == pop["call_id"] and f["answered"])
            answer = await boss.ok("POST", "/api/supervisor/agents/agent1001/spy", {"mode": mode})
            assert answer["success"] is True, answer
            # The supervisor's phone answered and spies on the agent's channel in that mode.
            await ami.wait_until(
                lambda: any(
                    m.get("Event") == "Newexten" and m.get("Application") == "ChanSpy"
                    and str(m.get("Channel", "")).startswith("PJSIP/2001")
                    and m.get("AppData") == f"PJSIP/1001-,{options}"
                    for m in ami.raw
                ),
                within_s=15,
            )  # fmt: skip
            await talk_then_hang_up(desk, pop["call_id"], seconds=1.0)
        finally:
            await desk.close()
            await boss.close()


async def test_a_recorded_call_is_indexed_transcoded_and_played_through_the_api(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path, live_config: LiveConfig
) -> None:
    if live_config.spool_dir is None:
        pytest.skip("HOTLINE_LIVE_SPOOL_DIR is not set: Asterisk's recordings are not visible here")
    async with sipp.phone("1001"):
        desk = await agent_on_duty(hotline, ami, "agent1001", "1001")
        boss = await Desk.log_in(hotline.url, "supervisor")
        try:
            await place_call(sipp, tmp_path, KNOWN_CALLER, stay_s=40)
            pop = await desk.frame("pop", within_s=40)
            await talk_then_hang_up(desk, pop["call_id"], seconds=3.0)
            async with asyncio.timeout(60):
                while True:
                    found = (await boss.ok("GET", f"/api/recordings?call_id={pop['call_id']}"))["recordings"]
                    mine = [r for r in found if r["call_id"] == pop["call_id"]]
                    if mine and mine[0]["state"] not in ("recording", "pending", "transcoding"):
                        break
                    await asyncio.sleep(1.0)
            record = mine[0]
            assert record["state"] in ("ready", "stored"), record
            assert record["duration_s"] and record["duration_s"] > 1.0
            status, audio = await boss.download(f"/api/recordings/{record['id']}/audio")
            assert status == 200 and len(audio) > 1000
        finally:
            await desk.close()
            await boss.close()


async def test_a_burst_of_twenty_callers_on_four_agents_counts_every_call_exactly_once(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path, live_config: LiveConfig
) -> None:
    phones = ("1001", "1002", "1003", "1004")
    async with sipp.phone(phones[0]), sipp.phone(phones[1]), sipp.phone(phones[2]), sipp.phone(phones[3]):
        desks = [await agent_on_duty(hotline, ami, f"agent{p}", p) for p in phones]
        for desk in desks:
            desk.files_each_call = True
        try:
            scenario = caller_scenario(tmp_path / "burst.xml", "1380013[call_number]000", TO_AN_AGENT, 12.0)
            target = f"{live_config.trunk_sip_host}:5060"
            burst = await sipp.start(
                str(scenario), "-s", "4008123456", "-m", "20", "-r", "2", "-l", "20", "-timeout", "150s",
                target, local_ip=live_config.carrier_ip,
            )  # fmt: skip
            await asyncio.wait_for(burst.wait(), 160)
            await ami.wait_until(
                lambda: (
                    len([e for e in ami.events if isinstance(e, CallEnded)])
                    >= len([e for e in ami.events if isinstance(e, CallOffered)])
                ),
                within_s=60,
            )
            offered = {e.call_id for e in ami.events if isinstance(e, CallOffered)}
            answered = {e.call_id for e in ami.events if isinstance(e, CallAnswered)}
            abandoned = {e.call_id for e in ami.events if isinstance(e, CallAbandoned)}
            assert len(offered) == 20
            assert answered & abandoned == set()
            queued_and_left = answered | abandoned
            # A caller who hung up in the IVR never reached a queue: neither answered nor abandoned.
            assert queued_and_left <= offered and len(answered) >= 4
            await asyncio.sleep(11)  # the next activity line
            counts = activity(hotline)
            assert counts[0] == 20
            assert counts[1] == len(answered) and counts[2] == len(abandoned)
            assert counts[3:] == (0, 0), "no call stays in progress or waiting"
            # Asterisk's queue_log says the same of every call that reached a queue.
            await queue_log_agrees(hotline, queued_and_left, tmp_path)
        finally:
            for desk in desks:
                await desk.close()


async def test_hotline_killed_while_a_caller_waits_the_fallback_rings_and_a_restart_resyncs(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path
) -> None:
    # Shorter dialplan timers for the test (globals, restored after): the wait for Hotline and
    # the fallback queue before every phone rings.
    await ami.action("Setvar", Variable="HOTLINE_WAIT_S", Value="10")
    await ami.action("Setvar", Variable="HOTLINE_FALLBACK_WAIT_S", Value="4")
    try:
        async with sipp.phone("1001"):
            desk = await Desk.log_in(hotline.url, "agent1001")  # not signed in: nobody to route to
            await place_call(sipp, tmp_path, KNOWN_CALLER, stay_s=60)
            await ami.wait_until(lambda: any(e.__class__.__name__ == "CallQueued" for e in ami.events), 40)
            await desk.close()
            await hotline.kill()
            await ami.wait_until(
                lambda: any(isinstance(e, CallAnswered) and e.agent == "PJSIP/1001" for e in ami.events), 40
            )
            answered = next(e for e in ami.events if isinstance(e, CallAnswered))
            await hotline.start()
            await asyncio.sleep(11)  # the first activity line after the resync
            assert activity(hotline)[3] == 1, "the call answered in the fallback is in progress"
            await ami.action("Hangup", Channel="/^PJSIP\\/trunk/")
            await ami.wait_until(lambda: any(isinstance(e, CallEnded) for e in ami.events), 20)
            await asyncio.sleep(10)
            assert activity(hotline)[3:] == (0, 0), "nothing stuck after the call"
            assert answered.call_id in {e.call_id for e in ami.events if isinstance(e, CallEnded)}
    finally:
        await ami.action("Setvar", Variable="HOTLINE_WAIT_S", Value="180")
        await ami.action("Setvar", Variable="HOTLINE_FALLBACK_WAIT_S", Value="300")


@contextlib.asynccontextmanager
async def talking_with_the_switch_to_ourselves(
    hotline: HotlineProcess, sipp: Sipp, tmp_path: Path, live_config: LiveConfig
) -> AsyncIterator[tuple[Desk, dict]]:
    """agent1001 on an answered call, and no AMI session of the test's own left open: the
    scenarios that break the switch's side watch Hotline alone."""
    ami = AmiSession(lambda _m: [])
    await ami.connect(live_config)
    async with sipp.phone("1001"):
        desk = await agent_on_duty(hotline, ami, "agent1001", "1001")
        await ami.close()
        try:
            await place_call(sipp, tmp_path, KNOWN_CALLER, stay_s=60)
            pop = await desk.frame("pop", within_s=40)
            await desk.frame("call", lambda f: f["call_id"] == pop["call_id"] and f["answered"])
            yield desk, pop
        finally:
            await desk.close()


async def test_asterisk_restarted_mid_call_ends_the_call_and_frees_the_agent(
    hotline: HotlineProcess, sipp: Sipp, tmp_path: Path, live_config: LiveConfig
) -> None:
    async with talking_with_the_switch_to_ourselves(hotline, sipp, tmp_path, live_config) as (desk, pop):
        await cli(live_config, "core restart now")
        await desk.frame("ended", lambda f: f["call_id"] == pop["call_id"], within_s=60)
        await hotline.logged_times("event=ami_connected", 2, within_s=60)
        status = await desk.ok("GET", "/api/agent/status")
        assert status["state"] in ("wrap-up", "available", "paused"), status


async def test_a_dropped_ami_socket_reconnects_and_the_call_in_progress_ends_cleanly(
    hotline: HotlineProcess, sipp: Sipp, tmp_path: Path, live_config: LiveConfig
) -> None:
    async with talking_with_the_switch_to_ourselves(hotline, sipp, tmp_path, live_config) as (desk, pop):
        sessions = await cli(live_config, "manager show connected")
        for fd in re.findall(r"^\s*hotline\s+\S+\s+\d+\s+\d+\s+(\d+)", sessions, re.M):
            await cli(live_config, f"manager kick session {fd}")
        await hotline.logged_times("event=ami_connected", 2, within_s=30)
        await talk_then_hang_up(desk, pop["call_id"], seconds=0.5)
        await asyncio.sleep(11)
        assert activity(hotline)[1:] == (1, 0, 0, 0), hotline.log_tail()
