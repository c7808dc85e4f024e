"""Two real Asterisk servers under one ``hotline serve`` (docs/scale.md, "Several Asterisk
servers"): the live suite's Asterisk, without a systemname (a site that grew), and a second one
named "sh" beside it (tests/live/start-second-asterisk: SIP on 5070, AMI on 5039, its carrier
endpoint trunk-sh, its own queue_log, the same monitor spool). Both list every phone in their
queues, as the one asterisk-config/ has it; phone 1001 registers to the first server and 1002 to
the second.

A caller on each server is delivered to the agent whose phone is registered there, although the
other agent has been idle longer; the calls' ids carry their server's name (or none); each
agent hangs up from their page and the hang-up reaches the right server; each call's queue_log
lines are in its own server's file; both calls are recorded into the shared spool."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hotline_process import QUEUE_LOG, Desk, HotlineProcess
from live_harness import AmiSession, LiveConfig, Sipp
from test_live_hotline import agent_on_duty, place_call, talk_then_hang_up

from cti.events import CallEnded
from cti.tracker import CallTracker

pytestmark = pytest.mark.live

SECOND = os.environ.get("HOTLINE_LIVE_SECOND_NAME", "sh")
SECOND_AMI_PORT = int(os.environ.get("HOTLINE_LIVE_SECOND_AMI_PORT", "5039"))
SECOND_SIP_PORT = int(os.environ.get("HOTLINE_LIVE_SECOND_SIP_PORT", "5070"))
SECOND_QUEUE_LOG = Path(
    os.environ.get("HOTLINE_LIVE_SECOND_QUEUE_LOG", f"/var/log/asterisk-{SECOND}/queue_log")
)


@pytest.fixture
def second_config(live_config: LiveConfig) -> LiveConfig:
    config = dataclasses.replace(live_config, ami_port=SECOND_AMI_PORT, sip_port=SECOND_SIP_PORT)
    try:
        socket.create_connection((config.ami_host, config.ami_port), timeout=3).close()
    except OSError as exc:
        pytest.skip(
            f"no second Asterisk at {config.ami_host}:{config.ami_port} ({exc}): "
            "start one with tests/live/start-second-asterisk PREFIX"
        )
    return config


@pytest.fixture
async def second_ami(second_config: LiveConfig) -> AsyncIterator[AmiSession]:
    session = AmiSession(CallTracker().feed)
    await session.connect(second_config)
    yield session
    await session.action("Hangup", Channel="/^PJSIP\\//")
    await session.close()


@pytest.fixture
async def two_server_hotline(
    live_config: LiveConfig, second_config: LiveConfig, tmp_path: Path
) -> AsyncIterator[HotlineProcess]:
    secret = tmp_path / "ami_secret"
    secret.write_text(live_config.ami_secret)
    secret.chmod(0o600)
    process = HotlineProcess(live_config, tmp_path / "site", secret)
    process.env["HOTLINE_AMI_SERVERS"] = f"{SECOND}={second_config.ami_host}:{second_config.ami_port}"
    await process.set_up()
    await process.start()
    try:
        await process.logged_times("event=ami_connected", 2, within_s=30)
        yield process
    finally:
        await process.stop()
        print(f"--- hotline serve log ({process.log_path}) ---\n{process.log_tail(200)}")


def queue_log_events(path: Path, call_id: str) -> list[str]:
    lines = path.read_text(errors="replace").splitlines() if path.is_file() else []
    return [line.split("|")[4] for line in lines if f"|{call_id}|" in line]


async def test_each_servers_caller_reaches_the_agent_whose_phone_is_registered_there(
    two_server_hotline: HotlineProcess,
    ami: AmiSession,
    second_ami: AmiSession,
    second_config: LiveConfig,
    sipp: Sipp,
    tmp_path: Path,
) -> None:
    hotline = two_server_hotline
    (tmp_path / SECOND).mkdir()
    sipp_sh = Sipp(second_config, tmp_path / SECOND, first_media_port=17000)
    async with sipp.phone("1001"), sipp_sh.phone("1002"):
        await second_ami.phone_reachable("1002")
        # agent1002 is idle longest: by the longest-idle rule alone the first server's caller
        # would ring their phone, which that server cannot reach.
        desk_sh = await agent_on_duty(hotline, second_ami, "agent1002", "1002")
        await asyncio.sleep(1.0)
        desk = await agent_on_duty(hotline, ami, "agent1001", "1001")
        try:
            await place_call(sipp, tmp_path, "13900001001", stay_s=40)
            pop = await desk.frame("pop", within_s=40)
            first_call = pop["call_id"]
            assert "-" not in first_call  # the first server has no systemname
            await talk_then_hang_up(desk, first_call)

            await place_call(sipp_sh, tmp_path, "13900001002", stay_s=40)
            pop_sh = await desk_sh.frame("pop", within_s=40)
            second_call = pop_sh["call_id"]
            assert second_call.startswith(f"{SECOND}-")
            await talk_then_hang_up(desk_sh, second_call)

            assert [f for f in desk.of("pop") if f["call_id"] == second_call] == []
            assert [f for f in desk_sh.of("pop") if f["call_id"] == first_call] == []
            await ami.wait_until(
                lambda: any(isinstance(e, CallEnded) and e.call_id == first_call for e in ami.events), 20
            )
            await second_ami.wait_until(
                lambda: any(isinstance(e, CallEnded) and e.call_id == second_call for e in second_ami.events),
                20,
            )
            await asyncio.sleep(2.0)  # the writer's COMPLETECALLER lines
            assert queue_log_events(QUEUE_LOG, first_call)[-2:] == ["CONNECT", "COMPLETECALLER"]
            assert queue_log_events(SECOND_QUEUE_LOG, second_call)[-2:] == ["CONNECT", "COMPLETECALLER"]
            assert queue_log_events(QUEUE_LOG, second_call) == []
            assert queue_log_events(SECOND_QUEUE_LOG, first_call) == []
            boss = await Desk.log_in(hotline.url, "supervisor")
            try:
                for call_id in (first_call, second_call):  # both in the shared spool, indexed
                    record = await recording_of(boss, call_id)
                    assert record["state"] in ("ready", "stored"), record
                    assert record["duration_s"] and record["duration_s"] > 1.0
            finally:
                await boss.close()
        finally:
            await desk.close()
            await desk_sh.close()


async def recording_of(boss: Desk, call_id: str) -> dict:
    async with asyncio.timeout(60):
        while True:
            found = (await boss.ok("GET", f"/api/recordings?call_id={call_id}"))["recordings"]
            mine = [r for r in found if r["call_id"] == call_id]
            if mine and mine[0]["state"] not in ("recording", "pending", "transcoding"):
                return mine[0]
            await asyncio.sleep(1.0)
