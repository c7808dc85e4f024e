"""The real Hotline for the live tests: ``hotline serve`` in production mode (no ``--demo``) as a
child process against the real Asterisk, set up the way docs/deploy.md tells a site to do it
(``hotline db upgrade``, ``hotline accounts add``, ``hotline import customers``), and the
people who use it: agents and supervisors through the HTTP API and the page's WebSocket.

The IVR menu is the production one with its business hours widened to the whole day (or, for
the after-hours scenarios, narrowed to one minute far from now), so the tests do not depend on
the time they run at.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import yaml
from live_harness import LiveConfig

ROOT = Path(__file__).resolve().parents[2]
HOTLINE = [sys.executable, "-m", "hotline.cli"]
START_S = 30.0
# Where Asterisk can read the IVR's prompts: `make prompts` here, the shared sounds volume in compose.
PROMPTS_DIR = os.environ.get("HOTLINE_LIVE_PROMPTS_DIR", str(ROOT / "var" / "prompts"))
CENTRE_TIME = ZoneInfo("Asia/Shanghai")  # the production menu's business hours are local
STEP_S = 20.0  # the longest one step of a call may take on the real switch

AGENTS = {  # username → (extension, skills)
    "agent1001": ("1001", "support:5,sales:3"),
    "agent1002": ("1002", "support:5,sales:3"),
    "agent1003": ("1003", "support:5,sales:3"),
    "agent1004": ("1004", "support:5,sales:3"),
}
SUPERVISOR = ("supervisor", "2001")
PASSWORD = "live-test-password"
KNOWN_CALLER = "13800131000"  # SIPp's first caller (caller.xml: 1380013[call_number]000)
KNOWN_NAME = "张三"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def site_menus(target: Path, *, open_now: bool = True) -> Path:
    """The production menus, open around the clock, or closed but for a minute 12 hours away."""
    hours = "00:00-24:00"
    if not open_now:
        start = datetime.now(CENTRE_TIME) + timedelta(hours=12)
        hours = f"{start:%H:%M}-{start + timedelta(minutes=1):%H:%M}"
    target.mkdir(parents=True, exist_ok=True)
    for source in (ROOT / "ivr" / "menus").glob("*.yaml"):
        menu = yaml.safe_load(source.read_text(encoding="utf-8"))
        for node in menu["nodes"].values():
            if node.get("kind") == "business_hours":
                node["workdays"] = node["restdays"] = hours
        (target / source.name).write_text(yaml.safe_dump(menu, allow_unicode=True, sort_keys=False))
    return target


class HotlineProcess:
    """One site: a data directory, a database, accounts and customers, and the server."""

    def __init__(
        self, config: LiveConfig, workdir: Path, secret_file: Path, *, open_now: bool = True
    ) -> None:
        self.config = config
        self.workdir = workdir
        self.http_port = free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        data = workdir / "var"
        data.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "HOTLINE_DATA_DIR": str(data),
            "HOTLINE_DB_URL": f"sqlite+aiosqlite:///{data / 'hotline.db'}",
            "HOTLINE_AMI_HOST": config.ami_host,
            "HOTLINE_AMI_PORT": str(config.ami_port),
            "HOTLINE_AMI_USERNAME": config.ami_username,
            "HOTLINE_AMI_SECRET_FILE": str(secret_file),
            "HOTLINE_AGI_HOST": config.agi_host,
            "HOTLINE_AGI_PORT": str(config.agi_port),
            "HOTLINE_AGI_MENUS_DIR": str(site_menus(workdir / "menus", open_now=open_now)),
            "HOTLINE_AGI_PROMPTS_DIR": PROMPTS_DIR,
            "HOTLINE_HTTP_PORT": str(self.http_port),
            "HOTLINE_ACD_RING_TIMEOUT_S": "8",
            "HOTLINE_ACD_WRAPUP_S": "2",
            "HOTLINE_LOG_LEVEL": os.environ.get("HOTLINE_LIVE_LOG_LEVEL", "INFO"),
        }
        if config.spool_dir is not None:
            self.env["HOTLINE_RECORDING_SPOOL_DIR"] = str(config.spool_dir)
        self.log_path = workdir / "hotline.log"
        self.process: asyncio.subprocess.Process | None = None
        self._log = None

    async def command(self, *args: str, stdin: str = "") -> str:
        process = await asyncio.create_subprocess_exec(
            *HOTLINE,
            *args,
            cwd=ROOT,
            env=self.env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
        if process.returncode != 0:
            raise AssertionError(f"hotline {' '.join(args)} exited {process.returncode}: {out.decode()}")
        return out.decode()

    async def set_up(self) -> None:
        """What a site does before the first start (docs/deploy.md)."""
        await self.command("db", "upgrade")
        for username, (extension, skills) in AGENTS.items():
            await self.command(
                "accounts", "add", username, "--role", "agent", "--extension", extension,
                "--skills", skills, "--name", f"Agent {extension}", stdin=PASSWORD + "\n",
            )  # fmt: skip
        name, extension = SUPERVISOR
        await self.command(
            "accounts", "add", name, "--role", "supervisor", "--extension", extension, stdin=PASSWORD + "\n"
        )
        customers = self.workdir / "customers.csv"
        customers.write_text(f"name,phones,vip_level,segment\n{KNOWN_NAME},{KNOWN_CALLER},0,gold\n")
        await self.command("import", "customers", str(customers))

    async def start(self, ready: str = "event=ami_connected") -> None:
        """Start and wait until the log has ``ready`` and the login page answers (a node of a
        cluster that does not lead connects no AMI: its ``ready`` is ``event=cluster_standby``)."""
        self._log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            *HOTLINE, "serve", cwd=ROOT, env=self.env, stdout=self._log, stderr=self._log,
            start_new_session=True,
        )  # fmt: skip
        async with asyncio.timeout(START_S):
            while not self._logged(ready) or not await self._answers():
                if self.process.returncode is not None:
                    raise AssertionError(f"hotline serve exited: {self.log_tail()}")
                await asyncio.sleep(0.2)

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                async with asyncio.timeout(20):
                    await self.process.wait()
            except TimeoutError:
                os.killpg(self.process.pid, signal.SIGKILL)
                await self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> Any:
        return self.stop(signal.SIGKILL)

    async def _answers(self) -> bool:
        with contextlib.suppress(OSError, aiohttp.ClientError):
            async with aiohttp.ClientSession() as http, http.get(f"{self.url}/login") as response:
                return response.status == 200
        return False

    def _logged(self, needle: str) -> bool:
        return self.log_path.exists() and needle in self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    async def logged_times(self, needle: str, times: int, within_s: float = 60.0) -> None:
        """Until the log has ``needle`` on ``times`` lines (a reconnect: a second ami_connected)."""
        for _ in range(int(within_s * 4)):
            if len(self.log_lines(needle)) >= times:
                return
            await asyncio.sleep(0.25)
        raise AssertionError(f"{needle!r} not logged {times} times: {self.log_tail()}")

    def log_lines(self, needle: str) -> list[str]:
        return [line for line in self.log_path.read_text(errors="replace").splitlines() if needle in line]


@dataclass
class Desk:
    """One person's browser: a logged-in HTTP session and the page's WebSocket."""

    http: aiohttp.ClientSession
    base: str
    csrf: str
    frames: list[dict[str, Any]] = field(default_factory=list)
    _ws: aiohttp.ClientWebSocketResponse | None = None
    _reader: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    files_each_call: bool = False
    _filing: set[asyncio.Task[Any]] = field(default_factory=set)

    @classmethod
    async def log_in(cls, base: str, username: str, password: str = PASSWORD) -> Desk:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        async with http.post(f"{base}/api/session", json={"username": username, "password": password}) as r:
            body = await r.json()
            if r.status != 200:
                await http.close()
                raise AssertionError(f"login of {username}: {r.status} {body}")
        desk = cls(http, base, body["csrf_token"])
        desk._ws = await http.ws_connect(f"{base}/api/ws", origin=base)
        desk._reader = asyncio.create_task(desk._read())
        return desk

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(message.data)
                self.frames.append(data)
                self._changed.set()
                if self.files_each_call and data.get("type") == "ended" and data.get("wrapup"):
                    # As an agent who files every call at once: an open wrap-up form holds them.
                    body = {"disposition": "info", "ready": True}
                    path = f"/api/agent/calls/{data['call_id']}/wrapup"
                    self._filing.add(asyncio.create_task(self.call("POST", path, body)))
        self._changed.set()

    async def reconnect(self, within_s: float = STEP_S) -> dict[str, Any]:
        """The page's WebSocket opened again on the same session, retried as the desktop's script
        retries a lost connection (a node stopped, another taking its place); its hello frame."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._ws is not None:
            await self._ws.close()
        async with asyncio.timeout(within_s):
            while True:
                try:
                    self._ws = await self.http.ws_connect(f"{self.base}/api/ws", origin=self.base)
                    break
                except (aiohttp.ClientError, OSError):
                    await asyncio.sleep(0.5)
        seen = len(self.frames)
        self._reader = asyncio.create_task(self._read())
        return await self.frame("hello", lambda f: any(f is g for g in self.frames[seen:]), within_s)

    async def call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        headers = {"X-CSRF-Token": self.csrf}
        async with self.http.request(method, f"{self.base}{path}", json=body, headers=headers) as response:
            text = await response.text()
            return response.status, json.loads(text) if text.startswith(("{", "[")) else text

    async def download(self, path: str) -> tuple[int, bytes]:
        async with self.http.get(f"{self.base}{path}") as response:
            return response.status, await response.read()

    async def ok(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        status, answer = await self.call(method, path, body)
        assert 200 <= status < 300, f"{method} {path}: {status} {answer}"
        return answer

    def of(
        self, kind: str, match: Callable[[dict[str, Any]], bool] = lambda _f: True
    ) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == kind and match(f)]

    async def frame(
        self, kind: str, match: Callable[[dict[str, Any]], bool] = lambda _f: True, within_s: float = STEP_S
    ) -> dict[str, Any]:
        """The first frame of that kind (and match) received so far or within ``within_s``."""
        async with asyncio.timeout(within_s):
            while True:
                found = self.of(kind, match)
                if found:
                    return found[0]
                self._changed.clear()
                await self._changed.wait()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.http.close()


QUEUE_LOG = Path(os.environ.get("HOTLINE_LIVE_QUEUE_LOG", "/var/log/asterisk/queue_log"))


def lines_of(call_ids: set[str]) -> str:
    """These calls' lines of the switch's queue_log (the call id is a line's second field)."""
    lines = QUEUE_LOG.read_text().splitlines()
    return "".join(f"{line}\n" for line in lines if line.split("|")[1:2] in [[c] for c in call_ids])


async def queue_log_agrees(hotline: HotlineProcess, call_ids: set[str], tmp_path: Path) -> None:
    """``hotline reports check-queue-log`` on these calls' queue_log lines finds nothing to
    disagree with, once Hotline has written their queue legs."""
    if not QUEUE_LOG.is_file():  # noqa: ASYNC240  (a test's one look)
        pytest.skip(f"Asterisk's queue_log is not readable here ({QUEUE_LOG}; HOTLINE_LIVE_QUEUE_LOG)")
    mine = tmp_path / "queue_log"
    for attempt in range(20):
        mine.write_text(lines_of(call_ids))
        try:
            await hotline.command("reports", "check-queue-log", str(mine))
            return
        except AssertionError:
            if attempt == 19:
                raise
            await asyncio.sleep(1)  # legs are written a moment after the wrap-up
