"""How many IVR sessions a second does Hotline's FastAGI server run, next to a bare responder?

A session is a full menu: the greeting, a main menu answered with a digit, a ticket number
collected and looked up (read back with SAY DIGITS, its status played), then the queue
(HOTLINE_QUEUE, HOTLINE_SKILL, QUEUE_PRIO). With the fallback queue and the linkedid first, that
is 11 AGI commands per call. Hotline runs it through the whole stack: the panoramisk-based
application, the menu engine, a CRM lookup (an in-memory fake), IvrCompleted on the bus, with
logging at INFO as in production.

The reference, in the same run and against the same client, is a bare asyncio responder: it
reads the environment and writes the same 11 command lines, reading each reply, with nothing
else. The client plays Asterisk from a separate process (so the server has a core to itself),
over loopback, with many calls at once.

Target: Hotline ≥ 0.75 of the bare responder's sessions/s.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import queue
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cti.bus import EventBus
from hotline.logs import configure_logging
from ivr.crm_port import CallerRecord, OrderProgress, TicketStatus
from ivr.events import IvrCompleted, IvrOutcome
from ivr.fastagi_server import IvrServer
from ivr.prompts import PromptPaths
from ivr.registry import MenuRegistry

SESSIONS = 2000
CONCURRENCY = 64
ROUNDS = 8
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

MENU = """
languages: [en]
fallback_queue: support
start: welcome
prompts:
  welcome: {en: Welcome.}
  main: {en: For a ticket press 1.}
  ticket: {en: Your ticket number please.}
  intro: {en: Your ticket}
  progress: {en: is being handled.}
  missing: {en: We could not find it.}
  down: {en: Not available now.}
nodes:
  welcome: {kind: play, prompt: welcome, next: main}
  main: {kind: menu, prompt: main, choices: {"1": ask, "0": queue}, on_fail: queue}
  ask:
    kind: collect
    prompt: ticket
    into: ticket_number
    format: ticket
    max_digits: 12
    next: look
    on_fail: queue
  look:
    kind: lookup
    source: ticket
    key: ticket_number
    intro_prompt: intro
    results: {in_progress: progress}
    not_found_prompt: missing
    unavailable_prompt: down
    next: queue
  queue: {kind: queue, queue: support, skill: support, priority: 2}
"""

ENVIRONMENT = (
    "agi_network: yes\nagi_network_script: ivr\nagi_request: agi://127.0.0.1:4573/ivr\n"
    "agi_channel: PJSIP/trunk-0000009a\nagi_language: en\nagi_type: PJSIP\n"
    "agi_uniqueid: 1795416380.{n}\nagi_version: 22.10.1\nagi_callerid: 13800131000\n"
    "agi_calleridname: Caller 1\nagi_callingpres: 0\nagi_callingani2: 0\nagi_callington: 0\n"
    "agi_callingtns: 0\nagi_dnid: 4008123456\nagi_rdnis: unknown\nagi_context: from-trunk\n"
    "agi_extension: 4008123456\nagi_priority: 4\nagi_enhanced: 0.0\nagi_accountcode: \n"
    "agi_threadid: 140391318615744\n\n"
)
P = "/var/lib/hotline/prompts/4008123456/en"
# What the bare responder writes: exactly what Hotline writes for this call.
COMMANDS = [
    b"SET VARIABLE HOTLINE_QUEUE support\n",
    b"GET VARIABLE CHANNEL(linkedid)\n",
    f'STREAM FILE {P}/welcome ""\n'.encode(),
    f"GET DATA {P}/main 5000 1\n".encode(),
    f"GET DATA {P}/ticket 8000 12\n".encode(),
    f'STREAM FILE {P}/intro ""\n'.encode(),
    b'SAY DIGITS 20261123 ""\n',
    f'STREAM FILE {P}/progress ""\n'.encode(),
    b"SET VARIABLE HOTLINE_QUEUE support\n",
    b"SET VARIABLE HOTLINE_SKILL support\n",
    b"SET VARIABLE QUEUE_PRIO 2\n",
]


# --- the client that plays Asterisk (runs in its own process) ---------------------------------


def reply_to(line: bytes) -> bytes:
    if line.startswith(b"STREAM FILE"):
        return b"200 result=0 endpos=11921\n"
    if line.startswith(b"GET DATA"):
        return b"200 result=1\n" if b"/main " in line else b"200 result=20261123\n"
    if line.startswith(b"GET VARIABLE"):
        return b"200 result=1 (1795416380.155)\n"
    if line.startswith(b"SAY"):
        return b"200 result=0\n"
    return b"200 result=1\n"


class AsteriskCall(asyncio.Protocol):
    def __init__(self, number: int, done: asyncio.Future[int]) -> None:
        self.number = number
        self.done = done
        self.buffer = b""
        self.commands = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.write(ENVIRONMENT.format(n=self.number).encode())  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        out = []
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            self.commands += 1
            out.append(reply_to(line))
        if out:
            self.transport.write(b"".join(out))  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(self.commands)


async def play_calls(port: int, sessions: int, concurrency: int) -> tuple[float, int]:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)
    commands = 0

    async def one(number: int) -> None:
        nonlocal commands
        async with gate:
            done: asyncio.Future[int] = loop.create_future()
            await loop.create_connection(lambda: AsteriskCall(number, done), "127.0.0.1", port)
            async with asyncio.timeout(30):
                answered = await done
            commands += answered

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(sessions)))
    return time.perf_counter() - started, commands


def client_process(
    port: int, sessions: int, concurrency: int, cpu: int, results: multiprocessing.Queue
) -> None:
    pin(cpu)
    results.put(asyncio.run(play_calls(port, sessions, concurrency)))


CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def pin(cpu: int) -> None:
    """Server and client each on their own core, so neither measures the other's turns."""
    if len(CPUS) >= 2:
        os.sched_setaffinity(0, {cpu})


# --- the servers --------------------------------------------------------------------------------


async def bare_session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while (await reader.readline()) not in (b"\n", b""):
        pass
    for command in COMMANDS:
        writer.write(command)
        await writer.drain()
        await reader.readline()
    writer.close()


class Customers:
    async def find_caller(self, number: str) -> CallerRecord | None:
        return None

    async def ticket_status(self, ticket_number: str) -> TicketStatus | None:
        return TicketStatus(ticket_number, "in_progress")

    async def order_progress(self, order_number: str) -> OrderProgress | None:
        return None


async def measure(port: int, sessions: int) -> tuple[float, int, float]:
    """Wall time, commands answered, and this process's CPU seconds (the server's work)."""
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing of this loop
    results: multiprocessing.Queue = spawn.Queue()
    cpu = CPUS[1] if len(CPUS) >= 2 else 0
    client = spawn.Process(target=client_process, args=(port, sessions, CONCURRENCY, cpu, results))
    cpu_before = time.process_time()
    client.start()
    try:
        # A thread waits for the client's figures; the server runs in this loop meanwhile.
        elapsed, commands = await asyncio.to_thread(results.get, True, 120)
    except queue.Empty:
        raise RuntimeError(f"the client playing Asterisk failed (exit code {client.exitcode})") from None
    cpu_used = time.process_time() - cpu_before
    client.join()
    return elapsed, commands, cpu_used


async def main() -> None:
    if CPUS:
        pin(CPUS[0])
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "4008123456.yaml").write_text(MENU, encoding="utf-8")
        registry = MenuRegistry(scratch)
        registry.load()
        bus = EventBus()
        outcomes: list[IvrOutcome] = []
        bus.listen(lambda event: outcomes.append(event.outcome) if isinstance(event, IvrCompleted) else None)
        hotline = IvrServer(
            registry=registry,
            bus=bus,
            customers=Customers(),
            prompts=PromptPaths("/var/lib/hotline/prompts"),
            port=0,
            clock=lambda: NOW,
        )
        await hotline.start()
        bare = await asyncio.start_server(bare_session, "127.0.0.1", 0)
        bare_port = bare.sockets[0].getsockname()[1]

        await measure(hotline.port, 200)  # warm-up: imports, caches
        await measure(bare_port, 200)
        outcomes.clear()
        rates: dict[str, list[float]] = {"hotline": [], "bare": []}
        cpu_us: dict[str, list[float]] = {"hotline": [], "bare": []}
        for _ in range(ROUNDS):
            for name, port in (("hotline", hotline.port), ("bare", bare_port)):
                elapsed, commands, cpu_used = await measure(port, SESSIONS)
                cpu_us[name].append(cpu_used / SESSIONS * 1e6)
                assert commands == SESSIONS * len(COMMANDS), f"{name}: {commands} commands"
                rates[name].append(SESSIONS / elapsed)
        await hotline.stop()
        bare.close()
        await bare.wait_closed()

    assert outcomes == [IvrOutcome.QUEUED] * SESSIONS * ROUNDS, "every Hotline session must end queued"
    value = statistics.median(rates["hotline"])
    reference = statistics.median(rates["bare"])
    pairs = [h / b for h, b in zip(rates["hotline"], rates["bare"], strict=True)]
    print(f"sessions per round: {SESSIONS}, {CONCURRENCY} at once, {len(COMMANDS)} AGI commands each")
    print(f"hotline  sessions/s: {', '.join(f'{r:,.0f}' for r in rates['hotline'])}  (median {value:,.0f})")
    print(f"bare     sessions/s: {', '.join(f'{r:,.0f}' for r in rates['bare'])}  (median {reference:,.0f})")
    print(f"ratio of each back-to-back pair: {', '.join(f'{r:.2f}' for r in pairs)}")
    for name in ("hotline", "bare"):
        print(f"{name:8} server CPU per session: {statistics.median(cpu_us[name]):,.0f} µs (median)")
    line = {
        "bench": "fastagi",
        "value": round(value, 1),
        "unit": "sessions/s",
        "reference": round(reference, 1),
        "ratio": round(value / reference, 3),
        "target": ">= 0.75",
    }
    print(json.dumps(line))


if __name__ == "__main__":
    # Logging at INFO as in production (a line per call only for calls that go wrong); into /dev/null.
    with open(os.devnull, "w") as sink:
        configure_logging("INFO", sys.stderr if "-v" in sys.argv else sink)
        asyncio.run(main())
