"""The live tests' own machinery, checked here without Asterisk: the AMI session against a
loopback server replaying a real capture, the stand-in IVR against a client playing
Asterisk's side of FastAGI, and the reasons given for skipping."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from live_harness import AmiSession, LiveConfig, LiveUnavailable, StandInIvr, ulaw_byte, write_caller_audio

from cti.events import CallAnswered, CallEnded, CallOffered, CallQueued
from cti.tracker import CallTracker

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "transcripts"


@contextlib.asynccontextmanager
async def replaying_asterisk(capture: bytes) -> AsyncIterator[int]:
    """A loopback AMI server: banner, accepts Login, then sends the capture; answers every other
    action with Success."""
    banner, _, stream = capture.partition(b"\r\n")
    handlers: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(banner + b"\r\n")
        sent = False
        while block := await reader.readuntil(b"\r\n\r\n"):
            action_id = re.search(rb"ActionID: (\S+)", block)
            writer.write(
                b"Response: Success\r\nActionID: " + (action_id[1] if action_id else b"") + b"\r\n\r\n"
            )
            if not sent:
                writer.write(
                    b"this is not a header\r\n\r\n"
                )  # garbage mid-stream, as a hostile peer might send
                writer.write(stream)
                sent = True
            await writer.drain()

    def start(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(serve(reader, writer))
        handlers.add(task)
        task.add_done_callback(handlers.discard)

    server = await asyncio.start_server(start, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in list(handlers):
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


def config_for(port: int) -> LiveConfig:
    return LiveConfig(
        ami_host="127.0.0.1",
        ami_port=port,
        ami_username="hotline",
        ami_secret="hotline-secret",
        sip_host="127.0.0.1",
        phone_ip="",
        trunk_sip_host="127.0.0.1",
        carrier_ip="",
        phones={"1001": "pw"},
        agi_port=0,
        agi_host="127.0.0.1",
        spool_dir=None,
        sipp="sipp",
    )


async def test_the_ami_session_turns_a_real_call_into_domain_events() -> None:
    capture = (TRANSCRIPTS / "01-inbound-answered" / "01.ami").read_bytes()
    async with replaying_asterisk(capture) as port:
        session = AmiSession(CallTracker().feed)
        await session.connect(config_for(port))
        try:
            await session.wait_until(lambda: any(isinstance(e, CallEnded) for e in session.events), 5)
            assert (await session.action("Ping"))["Response"] == "Success"
        finally:
            await session.close()
    kinds = [type(e) for e in session.events]
    assert (
        kinds.index(CallOffered)
        < kinds.index(CallQueued)
        < kinds.index(CallAnswered)
        < kinds.index(CallEnded)
    )
    (offer,) = [e for e in session.events if isinstance(e, CallOffered)]
    assert offer.dialed == "4008123456"
    (answered,) = [e for e in session.events if isinstance(e, CallAnswered)]
    assert (answered.agent, answered.queue) == ("PJSIP/1001", "support")
    assert any(m.get("Event") == "QueueCallerJoin" for m in session.raw)


async def agi_call(port: int, dialed: str, answers: dict[str, str]) -> list[str]:
    """Plays Asterisk's side of one FastAGI session; returns the commands received."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    environment = [
        "agi_network: yes",
        "agi_request: agi://hotline:4573/ivr",
        "agi_channel: PJSIP/trunk-00000001",
        f"agi_extension: {dialed}",
        "",
    ]
    writer.write(("\n".join(environment) + "\n").encode())
    commands = []
    async with asyncio.timeout(5):
        while line := (await reader.readline()).decode().strip():
            commands.append(line)
            verb = line.split()[0]
            writer.write(f"200 result={answers.get(verb, '1')}\n".encode())
    writer.close()
    return commands


async def test_the_stand_in_ivr_reads_the_digit_and_sets_the_plans_variables() -> None:
    ivr = StandInIvr({"4008000101": {"HOTLINE_QUEUE": "vip", "QUEUE_PRIO": "5"}})
    port = await ivr.start(0, host="127.0.0.1")
    try:
        commands = await agi_call(port, "4008000101", {"WAIT": "50"})
        default = await agi_call(port, "4008999999", {"WAIT": "0"})
    finally:
        await ivr.stop()
    assert commands == [
        "WAIT FOR DIGIT 5000",
        'SET VARIABLE HOTLINE_QUEUE "vip"',
        'SET VARIABLE QUEUE_PRIO "5"',
    ]
    assert default == ["WAIT FOR DIGIT 5000", 'SET VARIABLE HOTLINE_QUEUE "support"']
    assert [(s.dialed, s.digit) for s in ivr.sessions] == [("4008000101", "2"), ("4008999999", "")]


async def test_the_stand_in_ivr_survives_a_caller_hanging_up_and_serves_the_next() -> None:
    ivr = StandInIvr({})
    port = await ivr.start(0, host="127.0.0.1")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"agi_extension: 4008000103\n\n")
        await reader.readline()
        writer.write(b"HANGUP\n")  # what Asterisk sends instead of an answer when the caller is gone
        writer.close()
        commands = await agi_call(port, "4008000104", {"WAIT": "49"})
    finally:
        await ivr.stop()
    assert commands[0] == "WAIT FOR DIGIT 5000"
    assert [s.digit for s in ivr.sessions] == ["", "1"]


@pytest.mark.parametrize(
    ("environ", "reason"),
    [
        ({}, "HOTLINE_LIVE_AMI_HOST is not set"),
        ({"HOTLINE_LIVE_AMI_HOST": "127.0.0.1"}, "HOTLINE_LIVE_AMI_SECRET(_FILE) is not set"),
        (
            {"HOTLINE_LIVE_AMI_HOST": "127.0.0.1", "HOTLINE_LIVE_AMI_SECRET": "x"},
            "HOTLINE_LIVE_PHONES_FILE is not set",
        ),
    ],
)
def test_missing_settings_skip_with_the_reason(environ: dict[str, str], reason: str) -> None:
    with pytest.raises(LiveUnavailable, match=re.escape(reason)):
        LiveConfig.from_environment(environ)


def test_an_asterisk_that_refuses_the_connection_skips_with_its_address(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        (tmp_path / "phones.csv").write_text("1001,pw\n")
        (tmp_path / "secret").write_text("s3cret\n")
        environ = {
            "HOTLINE_LIVE_AMI_HOST": "127.0.0.1",
            "HOTLINE_LIVE_AMI_PORT": str(port),
            "HOTLINE_LIVE_AMI_SECRET_FILE": str(tmp_path / "secret"),
            "HOTLINE_LIVE_PHONES_FILE": str(tmp_path / "phones.csv"),
        }
        with pytest.raises(LiveUnavailable, match=rf"no AMI at 127\.0\.0\.1:{port}"):
            LiveConfig.from_environment(environ)


def test_the_callers_audio_is_a_mu_law_wav_sipp_can_stream(tmp_path: Path) -> None:
    assert (ulaw_byte(0), ulaw_byte(32767), ulaw_byte(-32768), ulaw_byte(-1)) == (0xFF, 0x80, 0x00, 0x7F)
    write_caller_audio(tmp_path / "tone.wav", seconds=1.0)
    data = (tmp_path / "tone.wav").read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<HHIIHH", data[20:36]) == (7, 1, 8000, 8000, 1, 8)
    assert data[36:40] == b"data" and struct.unpack("<I", data[40:44])[0] == 8000 == len(data) - 44
