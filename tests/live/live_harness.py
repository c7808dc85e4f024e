"""What the live tests need to drive a real Asterisk: its address, an AMI session whose events
go through Hotline's tracker, a FastAGI server standing in for Hotline's IVR, and SIPp.

Everything comes from the environment (docker-compose.yml sets it for the harness container):

| variable | meaning | default |
|---|---|---|
| HOTLINE_LIVE_AMI_HOST | Asterisk's AMI address; unset: the live tests skip | — |
| HOTLINE_LIVE_AMI_PORT | | 5038 |
| HOTLINE_LIVE_AMI_USERNAME | manager.conf user | hotline |
| HOTLINE_LIVE_AMI_SECRET / _FILE | its secret | — |
| HOTLINE_LIVE_SIP_HOST | where the agents' phones register | the AMI host |
| HOTLINE_LIVE_PHONE_IP | local address the phones use (must not be the trunk's) | SIPp's choice |
| HOTLINE_LIVE_TRUNK_SIP_HOST | where the carrier sends calls | the SIP host |
| HOTLINE_LIVE_CARRIER_IP | local address the callers use (pjsip_trunk.conf's match) | SIPp's choice |
| HOTLINE_LIVE_PHONES_FILE | make-secrets' phones.csv (extension,password) | — |
| HOTLINE_LIVE_AGI_HOST | where Hotline's FastAGI listens ("hotline" in HOTLINE_AGI) | 127.28.0.20 |
| HOTLINE_LIVE_AGI_PORT | its port | 4573 |
| HOTLINE_LIVE_SPOOL_DIR | Asterisk's monitor spool, if mounted here: recordings are checked | — |
| HOTLINE_LIVE_ASTERISK_CLI | Asterisk's CLI command (`asterisk -C FILE`): restart, AMI kick | — |
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import shlex
import shutil
import socket
import struct
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cti.ami_protocol import AmiMessage, AmiParser, format_action
from cti.events import SwitchEvent

SIP_DIR = Path(__file__).resolve().parents[1] / "sip"
TIMEOUT_S = 5.0


class LiveUnavailable(Exception):
    """No Asterisk (or no SIPp) to run against; the message says what is missing."""


@dataclass(frozen=True, slots=True)
class LiveConfig:
    ami_host: str
    ami_port: int
    ami_username: str
    ami_secret: str = field(repr=False)
    sip_host: str
    phone_ip: str
    trunk_sip_host: str
    carrier_ip: str
    phones: Mapping[str, str] = field(repr=False)
    agi_port: int
    agi_host: str
    spool_dir: Path | None
    sipp: str
    asterisk_cli: tuple[str, ...] = ()
    sip_port: int = 5060  # where the phones register and the carrier calls

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> LiveConfig:
        host = environ.get("HOTLINE_LIVE_AMI_HOST", "")
        if not host:
            raise LiveUnavailable(
                "HOTLINE_LIVE_AMI_HOST is not set: no Asterisk to run the live tests against"
            )
        secret = environ.get("HOTLINE_LIVE_AMI_SECRET", "")
        if not secret and environ.get("HOTLINE_LIVE_AMI_SECRET_FILE"):
            secret = Path(environ["HOTLINE_LIVE_AMI_SECRET_FILE"]).read_text().strip()
        if not secret:
            raise LiveUnavailable("HOTLINE_LIVE_AMI_SECRET(_FILE) is not set: cannot log in to AMI")
        phones_file = environ.get("HOTLINE_LIVE_PHONES_FILE", "")
        if not phones_file:
            raise LiveUnavailable("HOTLINE_LIVE_PHONES_FILE is not set: the agents' phones cannot register")
        phones = dict(
            line.strip().split(",", 1) for line in Path(phones_file).read_text().splitlines() if "," in line
        )
        port = int(environ.get("HOTLINE_LIVE_AMI_PORT", "5038"))
        try:
            socket.create_connection((host, port), timeout=3).close()
        except OSError as exc:
            raise LiveUnavailable(f"no AMI at {host}:{port}: {exc}") from None
        sipp = shutil.which("sipp")
        if sipp is None:
            raise LiveUnavailable("sipp is not installed (Debian package sip-tester)")
        sip_host = environ.get("HOTLINE_LIVE_SIP_HOST", host)
        spool = environ.get("HOTLINE_LIVE_SPOOL_DIR", "")
        return cls(
            ami_host=host,
            ami_port=port,
            ami_username=environ.get("HOTLINE_LIVE_AMI_USERNAME", "hotline"),
            ami_secret=secret,
            sip_host=sip_host,
            phone_ip=environ.get("HOTLINE_LIVE_PHONE_IP", ""),
            trunk_sip_host=environ.get("HOTLINE_LIVE_TRUNK_SIP_HOST", sip_host),
            carrier_ip=environ.get("HOTLINE_LIVE_CARRIER_IP", ""),
            phones=phones,
            agi_port=int(environ.get("HOTLINE_LIVE_AGI_PORT", "4573")),
            agi_host=environ.get("HOTLINE_LIVE_AGI_HOST", "127.28.0.20"),
            spool_dir=Path(spool) if spool else None,
            sipp=sipp,
            asterisk_cli=tuple(shlex.split(environ.get("HOTLINE_LIVE_ASTERISK_CLI", ""))),
        )


# --- AMI ----------------------------------------------------------------------------------


class AmiSession:
    """One AMI connection: every event goes through ``feed`` (Hotline's tracker); actions await
    their response. Raw events are kept too, for what the tracker does not model (UserEvent)."""

    def __init__(self, feed: Callable[[AmiMessage], list[SwitchEvent]]) -> None:
        self._feed = feed
        self._parser = AmiParser()
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[AmiMessage]] = {}
        self._changed = asyncio.Event()
        self.raw: list[AmiMessage] = []
        self.events: list[SwitchEvent] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None

    async def connect(self, config: LiveConfig) -> None:
        async with asyncio.timeout(TIMEOUT_S):
            self._reader, self._writer = await asyncio.open_connection(config.ami_host, config.ami_port)
        self._task = asyncio.create_task(self._read(), name="live-ami-reader")
        response = await self.action(
            "Login", Username=config.ami_username, Secret=config.ami_secret, Events="on"
        )
        if response.get("Response") != "Success":
            raise LiveUnavailable(f"AMI login refused: {response.get('Message')}")

    async def close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self.action("Logoff")
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _read(self) -> None:
        assert self._reader is not None
        while data := await self._reader.read(65536):
            for message in self._parser.feed(data):
                action_id = message.get("ActionID")
                if "Response" in message and isinstance(action_id, str) and action_id in self._pending:
                    self._pending.pop(action_id).set_result(message)
                if "Event" in message:
                    self.raw.append(message)
                    self.events.extend(self._feed(message))
            self._changed.set()
        for future in self._pending.values():
            future.set_exception(ConnectionError("AMI connection closed"))

    async def action(self, name: str, **fields: object) -> AmiMessage:
        assert self._writer is not None
        action_id = f"live-{next(self._ids)}"
        future: asyncio.Future[AmiMessage] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = future
        self._writer.write(format_action(name, action_id, fields))
        await self._writer.drain()
        async with asyncio.timeout(TIMEOUT_S):
            return await future

    async def phone_reachable(self, extension: str) -> None:
        """Asterisk reports a phone that just registered as unavailable until it has answered an
        OPTIONS qualify (up to qualify_frequency later); ask for one now and wait for it."""
        await self.action("PJSIPQualify", Endpoint=extension)
        for _ in range(50):
            answer = await self.action("Getvar", Variable=f"DEVICE_STATE(PJSIP/{extension})")
            if answer.get("Value") == "NOT_INUSE":
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"phone {extension} is not reachable: {answer.get('Value')}")

    async def wait_until(self, condition: Callable[[], object], within_s: float) -> None:
        """Until ``condition()`` is true after some message arrived; TimeoutError otherwise."""
        async with asyncio.timeout(within_s):
            while not condition():
                self._changed.clear()
                await self._changed.wait()


# --- the stand-in IVR ---------------------------------------------------------------------


@dataclass
class IvrSession:
    dialed: str
    channel: str
    digit: str = ""
    variables: dict[str, str] = field(default_factory=dict)


class StandInIvr:
    """A FastAGI server playing Hotline's IVR: waits for one digit, then sets the variables the
    plan for the dialed number asks for (HOTLINE_QUEUE, QUEUE_PRIO, HOTLINE_ACTION…)."""

    def __init__(self, plans: dict[str, dict[str, str]]) -> None:
        self.plans = plans
        self.sessions: list[IvrSession] = []
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    async def start(self, port: int, host: str = "0.0.0.0") -> int:
        """Listen (port 0: any free port); returns the port."""
        self._server = await asyncio.start_server(self._serve, host, port, reuse_address=True)
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(30):
                env: dict[str, str] = {}
                while (line := (await reader.readline()).decode().strip()) != "":
                    key, _, value = line.partition(": ")
                    env[key] = value
                session = IvrSession(dialed=env.get("agi_extension", ""), channel=env.get("agi_channel", ""))
                self.sessions.append(session)

                async def command(text: str) -> str:
                    writer.write(text.encode() + b"\n")
                    await writer.drain()
                    reply = (await reader.readline()).decode().strip()
                    if not reply.startswith("200 result="):
                        raise ConnectionError(f"AGI {text!r} answered {reply!r}")
                    return reply.removeprefix("200 result=").split(" ", 1)[0]

                code = await command("WAIT FOR DIGIT 5000")
                session.digit = chr(int(code)) if code.isdigit() and int(code) > 0 else ""
                for name, value in self.plans.get(session.dialed, {"HOTLINE_QUEUE": "support"}).items():
                    await command(f'SET VARIABLE {name} "{value}"')
                    session.variables[name] = value
        except (ConnectionError, TimeoutError, ValueError):
            pass  # the caller hung up during the IVR; Asterisk goes on without us
        finally:
            writer.close()


# --- SIPp ---------------------------------------------------------------------------------


def ulaw_byte(sample: int) -> int:
    """One 16-bit linear sample as G.711 mu-law."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = max(0, min(7, magnitude.bit_length() - 8))
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def write_caller_audio(path: Path, seconds: float = 2.0, hertz: float = 440.0) -> None:
    """A mu-law WAV tone for SIPp's rtp_stream, so recordings have audio to write."""
    rate = 8000
    samples = bytes(
        ulaw_byte(int(8000 * math.sin(2 * math.pi * hertz * n / rate))) for n in range(int(rate * seconds))
    )
    fmt = struct.pack("<HHIIHH", 7, 1, rate, rate, 1, 8)  # format 7: mu-law, mono, 8 bits
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(samples))
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body) + len(samples)) + body + samples)


class Sipp:
    """Runs SIPp scenarios from tests/sip/ and stops whatever is still running at the end."""

    def __init__(self, config: LiveConfig, workdir: Path, *, first_media_port: int = 16000) -> None:
        self.config = config
        self.workdir = workdir
        self._running: list[asyncio.subprocess.Process] = []
        self._media_ports = itertools.count(first_media_port, 10)
        write_caller_audio(workdir / "caller-ulaw.wav")

    async def start(
        self, scenario: str, *args: str, local_ip: str = "", port: int = 0
    ) -> asyncio.subprocess.Process:
        command = [
            self.config.sipp,
            "-sf",
            str(SIP_DIR / scenario),
            "-nostdin",
            "-trace_err",
            "-error_file",
            str(self.workdir / f"{scenario}-{port or 'any'}-errors.log"),
            "-mp",
            str(next(self._media_ports)),
            *(["-i", local_ip] if local_ip else []),
            *(["-p", str(port)] if port else []),
            *args,
        ]
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=self.workdir,  # where rtp_stream finds caller-ulaw.wav
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._running.append(process)
        return process

    async def run(
        self, scenario: str, *args: str, local_ip: str = "", port: int = 0, limit_s: float = 40
    ) -> None:
        process = await self.start(scenario, *args, local_ip=local_ip, port=port)
        async with asyncio.timeout(limit_s):
            _, stderr = await process.communicate()
        if process.returncode != 0:
            errors = self.workdir / f"{scenario}-{port or 'any'}-errors.log"
            detail = errors.read_text()[-2000:] if errors.exists() else stderr.decode()[-2000:]
            raise AssertionError(f"sipp {scenario} {' '.join(args)} exited {process.returncode}: {detail}")

    async def stop_all(self) -> None:
        for process in self._running:
            if process.returncode is None:
                process.terminate()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(5):
                        await process.wait()
                if process.returncode is None:
                    process.kill()
                    await process.wait()
        self._running.clear()

    def caller(self, scenario: str, dialed: str, *extra: str, digit: str = "1") -> Callable[[], object]:
        """The coroutine function that places calls to ``dialed`` from the carrier's side."""
        target = f"{self.config.trunk_sip_host}:{self.config.sip_port}"
        args = ("-s", dialed, "-key", "digit", digit, "-timeout", "60s", *extra, target)
        return lambda: self.run(scenario, *args, local_ip=self.config.carrier_ip, limit_s=70)

    @contextlib.asynccontextmanager
    async def phone(self, extension: str, scenario: str = "agent.xml") -> AsyncIterator[None]:
        """An agent's phone: registered with its generated password, answering as ``scenario``."""
        password = self.config.phones[extension]
        # 1001 → 5081 as in the captures; the supervisors' 20XX from 5181.
        port = 5080 + int(extension[-3:]) + (100 if extension.startswith("20") else 0)
        registrar = f"{self.config.sip_host}:{self.config.sip_port}"
        common = ("-s", extension, "-au", extension, "-ap", password, "-m", "1", "-timeout", "10s")
        await self.run(
            "register.xml",
            *common,
            "-key",
            "expires",
            "3600",
            registrar,
            local_ip=self.config.phone_ip,
            port=port,
        )
        phone = await self.start(scenario, "-aa", local_ip=self.config.phone_ip, port=port)
        try:
            yield
        finally:
            if phone.returncode is None:
                phone.terminate()
                await phone.wait()
            # Unregister, so that no later test rings a phone nobody answers.
            await self.run(
                "register.xml",
                *common,
                "-key",
                "expires",
                "0",
                registrar,
                local_ip=self.config.phone_ip,
                port=port,
            )
