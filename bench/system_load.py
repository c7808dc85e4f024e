"""The whole system under a rising call rate, on one machine, until a limit is crossed.

Three processes, so that each one's CPU is its own:

- the switch: ``cti.simulator.SwitchSimulator`` on real time with the production dialplan, one
  phone per agent (each rings ``--ring`` seconds, answers, hangs up ``--talk`` seconds later);
  callers arrive at its trunk (Poisson, seeded) and go through the IVR over real FastAGI;
- Hotline: ``hotline.app.Hotline``, the composition root as ``hotline serve`` builds it (AMI
  link, call tracker, FastAGI IVR, ACD, recording index, CRM on SQLite, HTTP and WebSocket);
- the agents: this process. Every agent logs in through the HTTP API (``POST /api/session``,
  ``POST /api/agent/login``), holds the desktop's WebSocket, and after each call saves its
  wrap-up (``POST /api/agent/calls/{id}/wrapup``, ready at once), which writes the CRM contact.

The menu: a greeting, a DTMF menu (1 ticket status, 0 an agent); half the callers press 1 and
type the number of an open ticket (the IVR's CRM lookup), the others press 0; then the support
queue. 70% of the callers are customers of the CRM data set, so the screen-pop finds a card,
contacts, tickets and offers. The data set is bench/crm_screen_pop.py's generator at
``--customers`` (default 40,000 with 10 contacts each, the documented site's size; generated once
and cached beside that benchmark's, under the same name, so ``--customers 1000000`` reuses the
1M set when it is there), copied for each run.

Recordings: MixMonitor starts on every answer and the recording index is written (a row per
call, updated on answer and end). The transcode after the call is held back (rows stay
``pending``): its cost is bench/recording_transcode.py's question, and two cores of ffmpeg would
take the CPU this benchmark measures the call path on.

Ring → pop = the pop frame's arrival at the agent's WebSocket − the moment the switch rang the
phone (the AMI event's Timestamp, which the pop carries as ``rung_at``; one machine, one clock).

Steps: ``--rates`` calls/s, each ``--seconds`` of arrivals, then the step's calls drain. A step
passes with ring → pop p99 ≤ 50 ms and no event lost (every call placed was popped to an agent,
the agent's page saw it end, and the switch ended it). The run stops at the first step that
fails, and says which limit was crossed: the pop latency, a lost event, or a process that was
itself saturated (the switch or the agents' clients: their event loops late by more than
``LAG_LIMIT_S`` at p99, or the switch's CPU at a full core), which makes the step's figures the
machine's limit rather than Hotline's.

The reference is a published figure, not measured here: Asterisk's own 20–50 new calls/s per
server. There is no second system to measure against in the same run.

``--nodes 2``: the benchmark starts a PostgreSQL and a Redis (bench/servers.py, as the tests do),
copies the data set into PostgreSQL once (bench/pg_copy.py) and runs the same steps twice, each
on a fresh clone of that database: one Hotline node, then two in cluster mode (``[cluster]
broker_url``). The first node starts alone and leads (AMI link, ACD, pops); the second follows:
it answers FastAGI (its callers handed to the leader's ACD) and HTTP (forwarded to the leader).
The agents' pages are shared out in turn between the two nodes' HTTP ports, and each call tries
the nodes' FastAGI addresses in the order ``--agi-split`` draws (in turn by default: the
dialplan's HOTLINE_AGI / HOTLINE_AGI_2, set per call in the simulator). The one-node figure on
PostgreSQL is the JSON line's ``value``, so that the two figures compare like with like.

``--servers N``: N switch processes, each an Asterisk server of its own (systemnames s1, s2, …)
with 1/N of the agents' phones and of each step's calls, all driven by the one Hotline (``[ami]
servers``; docs/scale.md, "Several Asterisk servers"): one node keeping up with several servers,
each caller delivered to an agent of its own server.

    .venv/bin/python bench/system_load.py [--agents 1000] [--rates 5,10,20,40,80]
        [--seconds 20] [--customers 40000] [--nodes 1|2] [--agi-split alternate|random|none]
        [--servers 1|2|3|4] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import itertools
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

NUMBER = "4008123456"
P99_LIMIT_MS = 50.0
LAG_LIMIT_S = 0.05
REFERENCE = 20.0  # calls/s: Asterisk's published 20–50 per server (lower end), not measured
CONTACTS_PER_CUSTOMER = 10
KNOWN_SHARE = 0.7
PROMPT_S = 0.2
FIRST_AGENT_EXTENSION = 10000
PASSWORD = "load-bench-password"
SESSION_KEY = "load-bench-session-key-the-same-on-every-node"
DRAIN_S = 30.0  # past its step's arrivals, a call still unserved this long is lost
RECORDINGS_LATE_S = 20.0
LOGIN_WITHIN_S = 60.0  # one agent's session, socket and queue login (and the whole: + 0.1 s each)

MENU = f"""
number: "{NUMBER}"
languages: [en]
fallback_queue: support
start: welcome
prompts:
  welcome: {{en: Hello.}}
  main: {{en: For a ticket press 1. For an agent press 0.}}
  invalid: {{en: Not a valid choice.}}
  enter-ticket: {{en: Your ticket number please.}}
  bad-number: {{en: That number is not valid.}}
  ticket-intro: {{en: Your ticket}}
  ticket-open: {{en: is open.}}
  ticket-done: {{en: is done.}}
  not-found: {{en: We could not find that ticket.}}
  unavailable: {{en: Lookups are not available.}}
nodes:
  welcome: {{kind: play, prompt: welcome, next: main}}
  main:
    kind: menu
    prompt: main
    choices: {{"1": ask_ticket, "0": support_queue}}
    timeout_s: 3
    retries: 1
    invalid_prompt: invalid
    on_fail: support_queue
  ask_ticket:
    kind: collect
    prompt: enter-ticket
    into: ticket_number
    format: ticket
    min_digits: 6
    max_digits: 12
    timeout_s: 3
    invalid_prompt: bad-number
    next: ticket_lookup
    on_fail: support_queue
  ticket_lookup:
    kind: lookup
    source: ticket
    key: ticket_number
    intro_prompt: ticket-intro
    read_back: none
    results: {{open: ticket-open, in_progress: ticket-open, resolved: ticket-done, closed: ticket-done}}
    not_found_prompt: not-found
    unavailable_prompt: unavailable
    next: support_queue
  support_queue: {{kind: queue, queue: support, skill: support}}
"""
PROMPTS = ("welcome", "main", "invalid", "enter-ticket", "bad-number", "ticket-intro")
PROMPTS += ("ticket-open", "ticket-done", "not-found", "unavailable")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def cpu_seconds() -> float:
    """This process's CPU time, every thread (the database's and the password hasher's too)."""
    return time.process_time()


def rss_mb() -> tuple[float, float]:
    """(peak, current) resident memory of this process since exec, in MB."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmHWM", 0.0), values.get("VmRSS", 0.0)


class LagMeter:
    """How late this event loop wakes a 10 ms sleeper: a loop that is late is saturated."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            self.lags.append(max(0.0, loop.time() - before - 0.01))

    def take(self) -> list[float]:
        lags, self.lags = self.lags, []
        return lags

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def stdin_lines() -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=16 * 1024 * 1024)  # the switch's configuration is one line
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    return reader


def say(kind: str, payload: Any) -> None:
    """One line of the protocol between the processes, on stdout (logs go to stderr)."""
    sys.stdout.write(f"{kind} {json.dumps(payload)}\n")
    sys.stdout.flush()


# --- the switch (a child process) -----------------------------------------------------------------


# Which node's FastAGI address a call tries first: 0 (node 1, then node 2) or 1 (node 2, then
# node 1). Set around place_call, so the call's task (which copies the context when it is made)
# keeps its own order for its whole life, the second try included.
FIRST_AGI: contextvars.ContextVar[int] = contextvars.ContextVar("first_agi", default=0)


def split_switch(base: type) -> type:
    """The simulator whose dialplan globals HOTLINE_AGI / HOTLINE_AGI_2 are each call's own: the
    two nodes' addresses in the order the call drew (``FIRST_AGI``). The survey's addresses
    (HOTLINE_SURVEY_AGI / _2, made from these) follow the same order."""

    class SplitSwitch(base):  # type: ignore[misc, valid-type]
        def __init__(self, **options: Any) -> None:
            self.addresses = ["", ""]
            super().__init__(**options)

        @property
        def agi_url(self) -> str:
            return self.addresses[FIRST_AGI.get()] or self.addresses[0]

        @agi_url.setter
        def agi_url(self, url: str) -> None:
            self.addresses[0] = url

        @property
        def agi_url_2(self) -> str:
            return self.addresses[1 - FIRST_AGI.get()] if self.addresses[1] else ""

        @agi_url_2.setter
        def agi_url_2(self, url: str) -> None:
            self.addresses[1] = url

    return SplitSwitch


async def run_switch() -> None:
    from cti.simulator import (
        AgentScript,
        CallerScript,
        SwitchSimulator,
        dialplan,  # noqa: F401  (imported now, not on the first call)
    )

    commands = await stdin_lines()
    config = json.loads(await commands.readline())

    phones = [
        AgentScript(
            str(FIRST_AGENT_EXTENSION + n),
            name=f"Agent {n}",
            answer_after_s=config["ring_s"],
            hangup_after_s=config["talk_s"],
        )
        for n in range(*config["phones"])
    ]
    sim = split_switch(SwitchSimulator)(
        agents=phones, agi_url="agi://127.0.0.1:1/ivr", secret="load-bench", system_name=config["system_name"]
    )
    prompts = config["prompts_dir"]  # absolute already
    for name in PROMPTS:
        sim.prompt_lengths[f"{prompts}/{NUMBER}/en/{name}"] = PROMPT_S
    port = await sim.start("127.0.0.1", 0)
    lag = LagMeter()
    lag.start()
    say("READY", {"ami_port": port, "username": sim.username, "secret": sim.secret})
    rng = random.Random(4008 + config["index"])  # each server its own callers
    order_rng = random.Random(2)  # apart, so that every split draws the same callers
    callers: list[str] = config["callers"]
    tickets: list[str] = config["tickets"]
    while line := (await commands.readline()).decode().strip():
        verb, _, rest = line.partition(" ")
        if verb == "AGI":  # one port per node
            ports = [int(port) for port in rest.split()]
            sim.addresses = [f"agi://127.0.0.1:{port}/ivr" for port in ports] + [""] * (2 - len(ports))
        elif verb == "STEP":
            rate, seconds = (float(x) for x in rest.split())
            lag.take()
            cpu0, wall0 = cpu_seconds(), time.perf_counter()
            records, late, firsts = [], [], []
            refused = sim.agi_failures  # FastAGI connections that failed (then the other address)
            loop = asyncio.get_running_loop()
            # A Poisson process with its count fixed: rate × seconds arrivals at uniform random
            # moments, so the step offers exactly its rate, in the bursts real arrivals have.
            moments = sorted(rng.uniform(0, seconds) for _ in range(round(rate * seconds)))
            start = loop.time()
            for n, moment in enumerate(moments):
                await asyncio.sleep(max(0.0, start + moment - loop.time()))
                late.append(loop.time() - start - moment)
                # Half ask for a ticket's status (the IVR's lookup), half for an agent.
                presses = ((0.5, "1"), (1.0, rng.choice(tickets))) if n % 2 else ((0.5, "0"),)
                script = CallerScript(
                    caller=rng.choice(callers), caller_name=f"Caller {n}", presses=presses,
                    hangup_after_s=DRAIN_S,
                )  # fmt: skip
                first = first_agi(config["split"], n, order_rng) if sim.addresses[1] else 0
                order = FIRST_AGI.set(first)
                records.append(sim.place_call(script))
                FIRST_AGI.reset(order)
                firsts.append(first)
            await asyncio.sleep(max(0.0, start + seconds - loop.time()))
            arrivals_s = loop.time() - start
            pending = [r.done for r in records if r.done is not None]
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DRAIN_S + 10):
                    await asyncio.gather(*pending)
            say(
                "STEP",
                {
                    "arrivals_s": arrivals_s,
                    "cpu_s": cpu_seconds() - cpu0,
                    "wall_s": time.perf_counter() - wall0,
                    "late_p99_s": percentile(late, 99),
                    "lag_p99_s": percentile(lag.take(), 99),
                    "agi_failures": sim.agi_failures - refused,
                    "calls": [
                        {
                            "id": r.uniqueid,
                            "answered": r.answered is not None,
                            "ended": r.ended is not None,
                            "abandoned": r.abandoned,
                            "agi": r.agi_status,
                            "first_agi": first,
                        }
                        for r, first in zip(records, firsts, strict=True)
                    ],
                },
            )
    await lag.stop()
    await sim.stop()


def first_agi(split: str, n: int, rng: random.Random) -> int:
    """The node whose address call ``n`` tries first (``--agi-split``)."""
    if split == "alternate":
        return n % 2
    if split == "random":
        return rng.randrange(2)
    return 0


# --- Hotline (a child process) --------------------------------------------------------------------


async def run_hotline() -> None:
    import crm.schema  # noqa: F401  (the migrations' tables, imported while the accounts are made)
    from hotline.app import Hotline
    from hotline.logs import configure_logging
    from hotline.settings import Settings
    from recording.service import RecordingService

    configure_logging("WARNING")  # with each event's fields (a lost lease says why)
    # The transcode after the call is left out (see the docstring): its rows stay pending.
    RecordingService._enqueue = lambda self, recording_id: None  # type: ignore[method-assign]
    commands = await stdin_lines()
    config = json.loads(await commands.readline())
    data = Path(config["data_dir"])
    settings = Settings()
    settings.ami.host, settings.ami.port = "127.0.0.1", config["ami_port"]
    settings.ami.username, settings.ami.secret = config["username"], config["secret"]
    settings.ami.name, settings.ami.servers = config["system_name"], config["more_servers"]
    settings.agi.host, settings.agi.port = "127.0.0.1", 0
    settings.agi.menus_dir = config["menus_dir"]
    settings.agi.prompts_dir = config["prompts_dir"]
    settings.http.host, settings.http.port = "127.0.0.1", 0
    settings.http.session_key = SESSION_KEY  # every node's the same (docs/scale.md)
    settings.db.url = config["db_url"] or f"sqlite+aiosqlite:///{data / 'hotline.db'}"
    settings.data_dir = str(data)
    settings.recording.spool_dir = str(data / "spool")
    settings.recording.store_dir = str(data / "recordings")
    if config["broker_url"]:
        settings.cluster.broker_url, settings.cluster.node = config["broker_url"], config["node"]
    made_s = 0.0
    if config["agents"]:
        started = time.perf_counter()
        await prepare(settings.db.url, config["agents"])
        made_s = time.perf_counter() - started
    hotline = Hotline(settings)
    # A node that follows serves (its IVR, its HTTP forwarded to the leader) while start() waits
    # for the lease: it is ready once it listens. The first node of a cluster leads at once.
    starting = asyncio.create_task(hotline.start())
    while not starting.done() and not (config["follows"] and hotline.url and hasattr(hotline, "ivr")):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    if starting.done():
        starting.result()
    say("READY", {"url": hotline.url, "agi_port": hotline.ivr.port, "accounts_s": made_s})
    profiler = None
    if config["profile"]:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    # A leader that loses its lease stops, as `hotline serve` does (the parent sees it end).
    stopping = asyncio.ensure_future(hotline._stopping.wait())
    try:
        while line := await command_or_stop(commands, stopping):
            if line == "STATS":
                peak, now = rss_mb()
                say("STATS", {"cpu_s": cpu_seconds(), "peak_rss_mb": peak, "rss_mb": now})
            elif line == "RECORDINGS":
                from sqlalchemy import func, select

                from crm.recordings import RecordingRow

                async with hotline.db.read() as session:
                    count = await session.scalar(select(func.count()).select_from(RecordingRow))
                say("RECORDINGS", {"rows": count})
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(config["profile"])
        if not starting.done():
            hotline._stopping.set()  # a follower: stop waiting for the lease
        stopping.cancel()
        with contextlib.suppress(Exception):
            await starting
        await hotline.stop()


async def command_or_stop(commands: asyncio.StreamReader, stopping: asyncio.Future[Any]) -> str:
    """The parent's next command; "" at its end, or when the node stops by itself."""
    reading = asyncio.ensure_future(commands.readline())
    await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not reading.done():
        reading.cancel()
        print("this node stopped by itself (a lost lease: see above)", file=sys.stderr)
        return ""
    return reading.result().decode().strip()


# --- the agents (this process) --------------------------------------------------------------------


@dataclass(slots=True)
class Seen:
    """What the agents' pages saw of each call."""

    popped: dict[str, float] = field(default_factory=dict)  # call id → ring → pop, seconds
    ended: set[str] = field(default_factory=set)
    wrapups: int = 0
    wrapup_errors: int = 0
    saving: set[asyncio.Task[None]] = field(default_factory=set)  # wrap-ups being posted


class Child:
    """A child process speaking the line protocol."""

    def __init__(self, process: asyncio.subprocess.Process, name: str, log: Path) -> None:
        self.process = process
        self.name = name
        self.log = log

    @classmethod
    async def start(cls, role: str, log: Path) -> Child:
        """The process starts (and imports) now; it waits for its configuration on stdin."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--role",
            role,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log.open("wb"),
            limit=64 * 1024 * 1024,
        )
        return cls(process, role, log)

    async def expect(self, kind: str, timeout_s: float = 120.0) -> dict[str, Any]:
        assert self.process.stdout is not None
        async with asyncio.timeout(timeout_s):
            while True:
                line = (await self.process.stdout.readline()).decode()
                if not line:
                    tail = self.log.read_text(errors="replace").splitlines()[-15:]
                    raise SystemExit(f"the {self.name} process stopped; its log ends:\n" + "\n".join(tail))
                if line.startswith(kind + " "):
                    return json.loads(line[len(kind) + 1 :])

    async def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ConnectionError):
                await self.send("")
                self.process.stdin.close()  # type: ignore[union-attr]
            try:
                async with asyncio.timeout(30):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def agents_log_in(
    urls: list[str], usernames: list[str], seen: Seen
) -> tuple[Any, list[asyncio.Task[None]]]:
    """Every agent: a session, the desktop's WebSocket, then logged in to the queues; agent n
    through node n mod the nodes (half each with two), as a load balancer would share them."""
    import aiohttp

    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), cookie_jar=aiohttp.DummyCookieJar())
    ready = asyncio.Semaphore(0)
    at_once = asyncio.Semaphore(32)
    failures: list[str] = []

    async def agent(username: str, url: str) -> None:
        try:
            async with at_once, asyncio.timeout(LOGIN_WITHIN_S):
                body = {"username": username, "password": PASSWORD}
                async with http.post(f"{url}api/session", json=body) as r:
                    if r.status != 200:
                        failures.append(f"{username}: login {r.status} {await r.text()}")
                        return
                    csrf = (await r.json())["csrf_token"]
                    cookie = f"hotline_session={r.cookies['hotline_session'].value}"
                headers = {"Cookie": cookie, "X-CSRF-Token": csrf}
                ws = await http.ws_connect(f"{url}api/ws", headers={"Cookie": cookie}, heartbeat=None)
                async with http.post(f"{url}api/agent/login", json={}, headers=headers) as r:
                    if r.status != 200:
                        failures.append(f"{username}: agent login {r.status} {await r.text()}")
        except (TimeoutError, aiohttp.ClientError) as exc:
            failures.append(f"{username} through {url}: {exc!r}")
            return
        finally:
            ready.release()

        async def wrap_up(call_id: str) -> None:
            body = {"disposition": "resolved", "notes": "", "ready": True}
            try:
                async with http.post(
                    f"{url}api/agent/calls/{call_id}/wrapup", json=body, headers=headers
                ) as r:
                    if r.status == 200:
                        seen.wrapups += 1
                    else:
                        seen.wrapup_errors += 1
            except aiohttp.ClientError:
                seen.wrapup_errors += 1

        async for message in ws:
            arrived = time.time()
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            kind = data.get("type")
            if kind == "pop":
                seen.popped[data["call_id"]] = arrived - datetime.fromisoformat(data["rung_at"]).timestamp()
            elif kind == "ended":
                seen.ended.add(data["call_id"])
                if data.get("wrapup"):
                    task = asyncio.create_task(wrap_up(data["call_id"]))
                    seen.saving.add(task)
                    task.add_done_callback(seen.saving.discard)

    tasks = [asyncio.create_task(agent(u, urls[n % len(urls)])) for n, u in enumerate(usernames)]
    logged = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(LOGIN_WITHIN_S + len(usernames) / 10):
            for _ in usernames:
                await ready.acquire()
                logged += 1
    if logged < len(usernames):
        failures.append(f"{len(usernames) - logged} agents still logging in when the time ran out")
    if failures:
        raise SystemExit("agents could not log in: " + "; ".join(failures[:3]))
    return http, tasks


# --- the run --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepResult:
    rate: float
    offered: float
    sustained: float
    calls: int
    p50_ms: float
    p99_ms: float
    lost: int
    cpu_per_call_s: float
    hotline_cpu_share: float
    peak_rss_mb: float
    servers_cpu_per_call_s: float | None  # PostgreSQL and Redis, when the run has them
    limits: tuple[str, ...]
    node_cpu_shares: tuple[float, ...] = ()  # each node's share of one core over the step

    def line(self) -> str:
        servers = "-" if self.servers_cpu_per_call_s is None else f"{self.servers_cpu_per_call_s * 1e3:.1f}"
        return (
            f"{self.rate:>6.0f} {self.offered:>8.1f} {self.sustained:>9.1f} {self.calls:>6} "
            f"{self.p50_ms:>8.1f} {self.p99_ms:>8.1f} {self.lost:>5} {self.cpu_per_call_s * 1e3:>9.1f} "
            f"{self.hotline_cpu_share:>7.0%} {self.peak_rss_mb:>8.0f} {servers:>10}  "
            f"{'; '.join(self.limits) or 'ok'}"
        )


HEADER = (
    "  rate  offered sustained  calls  p50(ms)  p99(ms)  lost  cpu(ms)/call  cpu%  rss(MB)"
    "  db(ms)/call  verdict\n"
    " (calls/s, offered and sustained over the arrivals; ring → pop; Hotline's CPU per call and its"
    " share of one core, every node's; the largest node's peak RSS; PostgreSQL's and Redis's CPU"
    " per call when they run)"
)


def data_set(customers: int) -> Path:
    """bench/crm_screen_pop.py's data set at this size, generated once (outside any event loop)."""
    import crm_screen_pop as data

    path = data.cache_dir() / f"crm-{customers}-{CONTACTS_PER_CUSTOMER}-v2.db"
    if not path.exists():
        data.generate(path, customers, CONTACTS_PER_CUSTOMER)
    return path


def callers_and_tickets(customers: int) -> tuple[list[str], list[str]]:
    """Callers' numbers as the trunk presents them (70% customers of the data set), and the
    digits of open tickets, as the generator numbers them."""
    import crm_screen_pop as data

    rng = random.Random(20)
    callers = []
    for _ in range(5000):
        if rng.random() < KNOWN_SHARE:
            i = rng.randrange(1, customers + 1)
            callers.append(data.mobile(i)[3:] if i % 10 else "0" + data.landline(i)[3:])
        else:
            callers.append(f"139{rng.randrange(10_000_000, 99_999_999)}")
    tickets = [f"261116{n:06d}" for n in range(1, min(1000, customers // 50) + 1)]
    return callers, tickets


async def prepare(db_url: str, agents: list[str]) -> None:
    """The agents' accounts, made before Hotline starts (its ACD reads its agents at start).
    Their password hash uses cheap argon2 parameters, kept in the hash: 1,000 logins would
    otherwise spend a minute in the hasher, which is the login's question, not this one."""
    from argon2 import PasswordHasher

    from crm import accounts
    from crm.accounts import NewAccount, Role
    from crm.db import Database
    from crm.migrate import upgrade

    db = Database(db_url)
    try:
        await upgrade(db)
        password_hash = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
        for n, username in enumerate(agents):
            new = NewAccount(
                username=username,
                password_hash=password_hash,
                roles=frozenset({Role.AGENT}),
                display_name=f"Agent {n}",
                extension=str(FIRST_AGENT_EXTENSION + n),
                skills={"support": 5},
            )
            await accounts.create_account(db, new)
    finally:
        await db.dispose()


async def until_seen(seen: Seen, ids: list[str], within_s: float) -> None:
    """The pages see a call end a moment after the switch ends it: wait for that, bounded."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within_s):
            while any(i not in seen.ended for i in ids):  # noqa: ASYNC110
                await asyncio.sleep(0.05)


def judge(
    rate: float, step: dict[str, Any], seen: Seen, before: Stats, after: Stats, lags: list[float]
) -> StepResult:
    calls = step["calls"]
    ids = [c["id"] for c in calls]
    latencies = [seen.popped[i] * 1e3 for i in ids if i in seen.popped]
    served = [
        c for c in calls if c["answered"] and c["ended"] and c["id"] in seen.popped and c["id"] in seen.ended
    ]
    lost = len(calls) - len(served)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    hotline_cpu = after.cpu_s - before.cpu_s
    limits = []
    if not latencies or p99 > P99_LIMIT_MS:
        limits.append(f"ring → pop p99 {p99:.1f} ms > {P99_LIMIT_MS:.0f} ms")
    if lost:
        not_popped = sum(1 for i in ids if i not in seen.popped)
        not_ended = sum(1 for c in calls if not c["ended"] or c["id"] not in seen.ended)
        limits.append(f"{lost} calls lost ({not_popped} never popped, {not_ended} never ended)")
    switch_share = step["cpu_s"] / step["wall_s"]
    if step["lag_p99_s"] > LAG_LIMIT_S or step["late_p99_s"] > LAG_LIMIT_S or switch_share >= 0.9:
        limits.append(
            f"switch simulator saturated (loop late p99 {step['lag_p99_s'] * 1e3:.0f} ms, "
            f"arrivals late p99 {step['late_p99_s'] * 1e3:.0f} ms, CPU {switch_share:.0%} of a core)"
        )
    client_lag = percentile(lags, 99)
    if client_lag > LAG_LIMIT_S:
        limits.append(f"agents' clients saturated (loop late p99 {client_lag * 1e3:.0f} ms)")
    servers = None
    if after.servers_cpu_s is not None and before.servers_cpu_s is not None:
        servers = (after.servers_cpu_s - before.servers_cpu_s) / max(1, len(calls))
    return StepResult(
        rate=rate,
        offered=len(calls) / step["arrivals_s"],
        sustained=len(served) / step["arrivals_s"],
        calls=len(calls),
        p50_ms=p50,
        p99_ms=p99,
        lost=lost,
        cpu_per_call_s=hotline_cpu / max(1, len(calls)),
        hotline_cpu_share=hotline_cpu / step["wall_s"],
        peak_rss_mb=after.peak_rss_mb,
        servers_cpu_per_call_s=servers,
        limits=tuple(limits),
        node_cpu_shares=tuple(
            (a - b) / step["wall_s"] for a, b in zip(after.cpu_each_s, before.cpu_each_s, strict=True)
        ),
    )


@dataclass(frozen=True, slots=True)
class Stats:
    """The Hotline nodes' CPU (summed) and peak RSS (the largest), and the servers' CPU."""

    cpu_s: float
    peak_rss_mb: float
    servers_cpu_s: float | None
    cpu_each_s: tuple[float, ...] = ()  # each node's, in order


def process_cpu_s(pid: int, *, children: bool = False) -> float:
    """A process's CPU-seconds (every thread) from /proc; with ``children``, its children's too:
    the live ones' and, through cutime/cstime, those it has reaped (PostgreSQL's backends)."""
    tick = os.sysconf("SC_CLK_TCK")

    def fields(path: Path) -> list[str] | None:
        try:
            return path.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None

    own = fields(Path(f"/proc/{pid}/stat"))
    if own is None:
        return 0.0
    # After the name: state ppid ... utime(12) stime(13) cutime(14) cstime(15), counted from 0 at state.
    total = sum(int(x) for x in own[11 : 15 if children else 13])
    if children:
        for path in Path("/proc").glob("[0-9]*/stat"):
            child = fields(path)
            if child is not None and child[1] == str(pid):
                total += int(child[11]) + int(child[12])
    return total / tick


@dataclass(frozen=True, slots=True)
class Cluster:
    """Where a run on PostgreSQL and Redis (started by the benchmark) keeps its data."""

    postgres: Any  # bench/servers.py's PostgresServer
    redis: Any  # bench/servers.py's RedisServer
    template: str  # the database holding the loaded data set, cloned for each run

    def servers_cpu_s(self) -> float:
        return process_cpu_s(self.postgres.pid, children=True) + process_cpu_s(self.redis.process.pid)


class Nodes:
    """The Hotline processes of one run, spoken to together."""

    def __init__(self, children: list[Child], cluster: Cluster | None) -> None:
        self.children = children
        self.cluster = cluster

    async def stats(self) -> Stats:
        for child in self.children:
            await child.send("STATS")
        each = [await child.expect("STATS") for child in self.children]
        return Stats(
            cpu_s=sum(s["cpu_s"] for s in each),
            peak_rss_mb=max(s["peak_rss_mb"] for s in each),
            servers_cpu_s=None if self.cluster is None else self.cluster.servers_cpu_s(),
            cpu_each_s=tuple(s["cpu_s"] for s in each),
        )


async def until_forwarding(url: str, within_s: float = 30.0) -> None:
    """A following node answers for the leader once it has learned the leader's address."""
    import aiohttp

    async with aiohttp.ClientSession() as http, asyncio.timeout(within_s):
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{url}api/openapi.json") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)


async def drive(
    args: argparse.Namespace, crm_file: Path, *, nodes: int = 1, cluster: Cluster | None = None
) -> list[StepResult]:
    """One run: the switches (``--servers``), ``nodes`` Hotline processes (on SQLite, or on a
    clone of the cluster's database with its broker), the agents, the steps."""
    work = Path(tempfile.mkdtemp(prefix="hotline-load-"))
    agents = [f"load{n:05d}" for n in range(args.agents)]
    children: list[Child] = []
    names = [f"hotline-{n + 1}" for n in range(nodes)]
    try:
        # The processes start and import while the data is copied and the accounts are made.
        servers = args.servers
        switches = [await Child.start("switch", work / f"switch-{n + 1}.log") for n in range(servers)]
        children.extend(switches)
        hotlines = [await Child.start("hotline", work / f"{name}.log") for name in names]
        children.extend(hotlines)
        (work / "menus").mkdir()
        (work / "menus" / f"{NUMBER}.yaml").write_text(MENU, encoding="utf-8")
        db_url, broker_url = None, ""
        for name in names:
            (work / name).mkdir()
        if cluster is None:
            shutil.copyfile(crm_file, work / names[0] / "hotline.db")
        else:
            from pg_copy import create_database

            db_url = await create_database(
                cluster.postgres.url(), work.name.replace("-", "_"), template=cluster.template
            )
            broker_url = cluster.redis.url
            import redis.asyncio as aioredis

            async with aioredis.Redis.from_url(broker_url) as broker:
                await broker.flushall()  # no stream of an earlier run
        callers, tickets = callers_and_tickets(args.customers)
        prompts = str(work / "prompts")
        switch_config = {
            "ring_s": args.ring,
            "talk_s": args.talk,
            "prompts_dir": prompts,
            "callers": callers,
            "tickets": tickets,
            "split": args.agi_split,
        }
        # One server: no systemname, as a site with one has; several: s1, s2, … (docs/scale.md).
        system_names = [f"s{n + 1}" for n in range(servers)] if servers > 1 else [""]
        amis = []
        for n, switch in enumerate(switches):  # each server its block of the agents' phones
            phones = [args.agents * n // servers, args.agents * (n + 1) // servers]
            await switch.send(
                json.dumps({**switch_config, "phones": phones, "system_name": system_names[n], "index": n})
            )
            amis.append(await switch.expect("READY"))
        ami = {
            **amis[0],
            "system_name": system_names[0],
            "more_servers": [
                f"{name}=127.0.0.1:{more['ami_port']}"
                for name, more in zip(system_names[1:], amis[1:], strict=True)
            ],
        }
        readies = []
        for n, (name, hotline) in enumerate(zip(names, hotlines, strict=True)):
            config = {
                **ami,
                "data_dir": str(work / name),
                "menus_dir": str(work / "menus"),
                "prompts_dir": prompts,
                "agents": agents if n == 0 else [],  # the first node makes the accounts
                "db_url": db_url,
                "broker_url": broker_url,
                "node": name,
                "follows": n > 0,  # the first node leads: it starts first, alone
                "profile": f"{args.profile}.{n + 1}" if args.profile and n else args.profile or "",
            }
            await hotline.send(json.dumps(config))
            readies.append(await hotline.expect("READY", 300))
        for ready in readies[1:]:
            await until_forwarding(ready["url"])
        for switch in switches:
            await switch.send("AGI " + " ".join(str(ready["agi_port"]) for ready in readies))
        print(f"{len(agents)} agent accounts made in {readies[0]['accounts_s']:.1f} s")
        pids = ", ".join(f"{name} pid {h.process.pid}" for name, h in zip(names, hotlines, strict=True))
        switch_pids = ", ".join(str(switch.process.pid) for switch in switches)
        print(f"Hotline ({pids}) and {servers} switch(es) (pid {switch_pids}) started")
        if nodes > 1:
            print(
                f"{names[0]} leads (AMI, ACD, pops); every node answers FastAGI and HTTP; agents' pages"
                f" shared out in turn; first FastAGI address per call: {args.agi_split}"
            )
        measured = Nodes(hotlines, cluster)

        seen = Seen()
        lag = LagMeter()
        lag.start()
        started = time.perf_counter()
        http, tasks = await agents_log_in([ready["url"] for ready in readies], agents, seen)
        print(f"{len(agents)} agents logged in through the HTTP API in {time.perf_counter() - started:.1f} s")
        results: list[StepResult] = []
        answered = 0
        first_agi = [0] * nodes
        agi_failures = 0

        async def step(rate: float, seconds: float) -> StepResult:
            nonlocal answered, agi_failures
            before = await measured.stats()
            lag.take()
            for switch in switches:  # each server its share of the step's calls
                await switch.send(f"STEP {rate / servers} {seconds}")
            placed = merged([await switch.expect("STEP", seconds + DRAIN_S + 120) for switch in switches])
            await until_seen(seen, [c["id"] for c in placed["calls"]], 5.0)
            after = await measured.stats()
            answered += sum(1 for c in placed["calls"] if c["answered"])
            for call in placed["calls"]:
                first_agi[call["first_agi"]] += 1
            agi_failures += placed["agi_failures"]
            return judge(rate, placed, seen, before, after, lag.take())

        if args.idle > 0:
            before = await measured.stats()
            await asyncio.sleep(args.idle)
            after = await measured.stats()
            share = (after.cpu_s - before.cpu_s) / args.idle
            print(f"Hotline idle, {len(agents)} pages connected: {share:.0%} of a core")
        # Warm: the first calls compile queries and fill caches, as in any server just started.
        if args.warmup > 0:
            warm = await step(args.rates[0], args.warmup)
            print(
                f"warm-up ({args.warmup:g} s at {args.rates[0]:g} calls/s): {warm.calls} calls,"
                f" ring → pop p99 {warm.p99_ms:.1f} ms"
            )
        print(HEADER)
        for rate in args.rates:
            result = await step(rate, args.seconds)
            results.append(result)
            print(result.line(), flush=True)
            if nodes > 1:
                shares = zip(names, result.node_cpu_shares, strict=True)
                print("        of which " + ", ".join(f"{name} {share:.0%}" for name, share in shares))
            if result.limits and not args.all_steps:
                break
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await asyncio.gather(*seen.saving)
        await hotlines[0].send("RECORDINGS")
        rows = (await hotlines[0].expect("RECORDINGS"))["rows"]
        if rows != answered:
            # Behind, or missing: a node past its limit writes late; look again a little later.
            await asyncio.sleep(RECORDINGS_LATE_S)
            await hotlines[0].send("RECORDINGS")
            later = (await hotlines[0].expect("RECORDINGS"))["rows"]
            later_s = f"{later} {RECORDINGS_LATE_S:g} s later"
            print(f"recording index: {rows} rows for {answered} answered calls ({later_s})")
        else:
            print(f"recording index: {rows} rows for {answered} answered calls")
        print(f"wrap-ups saved by the agents: {seen.wrapups} ({seen.wrapup_errors} refused)")
        if nodes > 1:
            tried = ", ".join(f"{count} {name}'s" for count, name in zip(first_agi, names, strict=True))
            print(
                f"calls that tried this node's FastAGI address first: {tried};"
                f" FastAGI connections that failed (the call then tried the other): {agi_failures}"
            )
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await http.close()
        await lag.stop()
        return results
    finally:
        # The followers first: a leader that stops hands its lease to a node still running.
        for child in reversed(children):
            await child.stop()
        for name in names:
            log = work / f"{name}.log"
            if log.exists():
                problems = [line for line in log.read_text(errors="replace").splitlines() if "ERROR" in line]
                if problems:
                    print(f"{name} logged {len(problems)} errors; the first: {problems[0][:300]}")
        if args.keep:
            print(f"kept: {work} (the processes' logs, {names[0]}/hotline.db on SQLite)")
        else:
            shutil.rmtree(work, ignore_errors=True)


def merged(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Several switches' reports of one step as one: their calls together, and the busiest
    switch's load (each runs on a core of its own)."""
    if len(steps) == 1:
        return steps[0]
    wall_s = max(step["wall_s"] for step in steps)
    return {
        "arrivals_s": max(step["arrivals_s"] for step in steps),
        "wall_s": wall_s,
        "cpu_s": max(step["cpu_s"] / step["wall_s"] for step in steps) * wall_s,
        "late_p99_s": max(step["late_p99_s"] for step in steps),
        "lag_p99_s": max(step["lag_p99_s"] for step in steps),
        "agi_failures": sum(step["agi_failures"] for step in steps),
        "calls": [call for step in steps for call in step["calls"]],
    }


def verdict(label: str, results: list[StepResult]) -> float:
    """What a run crossed and its figure: the highest step's rate passed before the first step
    that failed (with ``--all-steps`` a later step may pass again: it does not count)."""
    passed = list(itertools.takewhile(lambda r: not r.limits, results))
    value = passed[-1].rate if passed else 0.0
    failed = next((r for r in results if r.limits), None)
    if failed is None:
        print(f"no limit crossed up to {results[-1].rate:.0f} calls/s: raise --rates to find it")
    else:
        print(f"limit crossed at {failed.rate:.0f} calls/s: {'; '.join(failed.limits)}")
    print(f"{label}: {value:.0f} calls/s with ring → pop p99 <= {P99_LIMIT_MS:.0f} ms and nothing lost")
    if passed:
        best = passed[-1]
        servers = ""
        if best.servers_cpu_per_call_s is not None:
            servers = f", PostgreSQL and Redis {best.servers_cpu_per_call_s * 1e3:.1f} ms"
        print(
            f"  at that rate: p99 {best.p99_ms:.1f} ms, {best.cpu_per_call_s * 1e3:.1f} ms of Hotline CPU"
            f" per call{servers}, Hotline peak RSS {best.peak_rss_mb:.0f} MB"
        )
    return value


def report(value: float) -> dict[str, Any]:
    print(f"reference: {REFERENCE:.0f} calls/s, Asterisk's published 20–50 calls/s per server (not measured)")
    return {
        "bench": "system_load",
        "value": value,
        "unit": "calls/s",
        "reference": REFERENCE,
        "ratio": round(value / REFERENCE, 2),
        "target": ">= 1 (one node keeps up with at least one Asterisk server at 20 calls/s)",
    }


async def compare(args: argparse.Namespace, crm_file: Path) -> float:
    """One node, then two, on a PostgreSQL and a Redis started here, the same data set loaded
    once and cloned for each run; the one-node figure is returned."""
    from pg_copy import copy, create_database
    from servers import PostgresServer, RedisServer, pg_bin

    # Commits do not wait for the disk, as SQLite's WAL with synchronous=NORMAL (crm/db.py);
    # fsync stays on, so checkpoints write as a server's would.
    postgres = PostgresServer(pg_bin(), settings=("synchronous_commit=off",))  # type: ignore[arg-type]
    redis = RedisServer()
    try:
        postgres.start()
        redis.start()
        started = time.perf_counter()
        template = "crm_loaded"
        copied = await copy(crm_file, await create_database(postgres.url(), template))
        print(
            f"PostgreSQL and Redis started; the data set copied into PostgreSQL in"
            f" {time.perf_counter() - started:.1f} s ({sum(copied.values())} rows)"
        )
        cluster = Cluster(postgres, redis, template)
        figures = []
        for nodes, label in ((1, "one node, PostgreSQL"), (2, "two nodes, PostgreSQL and Redis")):
            print(f"\n== {label} ==")
            results = await drive(args, crm_file, nodes=nodes, cluster=cluster)
            figures.append(verdict(label, results))
        print(
            f"\none node: {figures[0]:.0f} calls/s; two nodes: {figures[1]:.0f} calls/s"
            f" (the same run, data set and steps; {args.customers} customers)"
        )
        return figures[0]
    finally:
        redis.remove()
        postgres.remove()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=1000, help="agents logged in (default 1000)")
    parser.add_argument(
        "--rates",
        type=lambda text: [float(x) for x in text.split(",")],
        default=[5.0, 10.0, 20.0, 40.0, 80.0],
        help="calls/s of each step, rising (default 5,10,20,40,80)",
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="arrivals per step, seconds (default 20)")
    parser.add_argument("--customers", type=int, default=40_000, help="CRM data set size (default 40000)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of unmeasured calls first")
    parser.add_argument(
        "--idle", type=float, default=5.0, help="seconds of Hotline's idle CPU measured first"
    )
    parser.add_argument("--profile", help="write a cProfile of the Hotline process to this file")
    parser.add_argument("--ring", type=float, default=0.5, help="seconds a phone rings before answering")
    parser.add_argument("--talk", type=float, default=2.0, help="seconds of talk before the agent hangs up")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and the processes' logs")
    parser.add_argument(
        "--quick", action="store_true", help="one low step, no warm-up: seconds (20 agents, 2 calls/s)"
    )
    parser.add_argument(
        "--nodes",
        type=int,
        choices=(1, 2),
        default=1,
        help="1: one node on SQLite (default); 2: one node, then two, on a PostgreSQL and a Redis"
        " the benchmark starts",
    )
    parser.add_argument(
        "--agi-split",
        choices=("alternate", "random", "none"),
        default="alternate",
        help="with two nodes, which node's FastAGI address a call tries first: in turn (default),"
        " at random, or always the first node's (the second only when it does not answer)",
    )
    parser.add_argument(
        "--all-steps",
        action="store_true",
        help="run every step of --rates, past the first that fails (the figure is still the"
        " highest step passed before it): how latency and CPU grow beyond the limit",
    )
    parser.add_argument(
        "--servers",
        type=int,
        choices=(1, 2, 3, 4),
        default=1,
        help="Asterisk servers (switch processes) the node drives, each with its share of the"
        " agents and calls (default 1)",
    )
    parser.add_argument("--role", choices=("switch", "hotline"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        asyncio.run(run_switch() if args.role == "switch" else run_hotline())
        return
    if args.profile:
        args.profile = os.path.abspath(args.profile)
    if args.quick:
        args.agents, args.rates, args.seconds, args.customers = 20, [2.0], 3.0, 2_000
        args.talk, args.ring, args.warmup, args.idle = 0.5, 0.2, 0.0, 0.0
    if any(b <= a for a, b in zip(args.rates, args.rates[1:], strict=False)) or min(args.rates) <= 0:
        parser.error("--rates must be positive and rising, e.g. 5,10,20,40")
    if args.nodes > 1:
        from servers import REDIS_SERVER, pg_bin

        if pg_bin() is None or REDIS_SERVER is None:
            parser.error("--nodes 2 needs Debian's postgresql and redis-server packages")
    print(
        f"{os.cpu_count()} CPUs; {args.agents} agents; {args.servers} Asterisk server(s);"
        f" steps {args.rates} calls/s, {args.seconds:g} s each"
    )
    print(f"load average before the run: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    crm_file = data_set(args.customers)
    if args.nodes == 1:
        label = "one node" if args.servers == 1 else f"one node, {args.servers} servers"
        value = verdict(label, asyncio.run(drive(args, crm_file)))
        print("two nodes: not measured (--nodes 2 measures one node and two on PostgreSQL and Redis)")
    else:
        value = asyncio.run(compare(args, crm_file))
    print(json.dumps(report(value)))


if __name__ == "__main__":
    main()
