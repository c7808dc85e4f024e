"""Ring → screen-pop on the agent's WebSocket: 500 agents, 20 calls/s, 1,000,000 customers.

The server (agent_api with the real ACD and the CRM on the 1M-customer SQLite data set of
bench/crm_screen_pop.py, generated once and cached) runs in a child process, so its peak RSS is
its own; this process holds the 500 agents' WebSocket clients. For each call the server
publishes CallOffered and CallRinging on the bus (the domain events the call tracker emits for
the AMI events that ring an agent; AMI parsing is measured by bench/ami_ingest.py) and the
CallEnded a few seconds later. Latency = the pop frame's arrival at the agent's client − the
CallRinging event's time (one machine, one clock).

Reference, same run, same sockets: the server sends the same pop payloads at the same rate
straight to the hub, stamped at send, with no CRM lookup and no marketing decision.

    .venv/bin/python bench/screen_pop_latency.py [--agents 500] [--rate 20] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CUSTOMERS = 1_000_000
CONTACTS_PER_CUSTOMER = 10
TALK_S = 3.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# --- the server (child process) ------------------------------------------------------------------


class NullSwitch:
    """Accepts every request: the bench measures the pop path, not Asterisk."""

    async def queue_add(self, *args, **kwargs):
        return None

    async def queue_remove(self, *args, **kwargs):
        return None

    async def queue_pause(self, *args, **kwargs):
        return None

    async def redirect(self, *args, **kwargs):
        return None


async def serve(args: argparse.Namespace) -> None:
    import crm_screen_pop as data
    from aiohttp import web

    from acd.gate import MarketingPolicy
    from acd.models import AcdConfig, AgentProfile, QueueConfig
    from acd.service import AcdService
    from agent_api.app import build_app
    from agent_api.context import SERVICES
    from agent_api.ws_hub import frame
    from crm.accounts import Account
    from crm.db import Database
    from crm.kinds import Role
    from crm.migrate import upgrade
    from crm.service import Crm
    from cti.bus import EventBus
    from cti.events import CallEnded, CallOffered, CallRinging, EndCause

    db = Database(f"sqlite+aiosqlite:///{crm_data()}")
    await upgrade(db)  # a cached CRM made before the newest tables (sessions) gets them
    crm = Crm(db, catalog_refresh_s=5.0)
    bus = EventBus()
    agents = [f"a{n:04d}" for n in range(args.agents)]
    config = AcdConfig(
        queues={"support": QueueConfig("support")},
        agents={a: AgentProfile(a, str(10000 + n), {"support": 5}) for n, a in enumerate(agents)},
        wrapup_s=1.0,
    )
    acd = AcdService(bus, NullSwitch(), lambda: datetime.now(UTC), config)  # type: ignore[arg-type]
    acd.gate.set_policy(MarketingPolicy("default", ("support",), max_percent=30))
    app = build_app(None, bus=bus, switch=NullSwitch(), acd=acd, crm=crm, db=db)  # type: ignore[arg-type]
    svc = app[SERVICES]
    await acd.start()
    for a in agents:
        await acd.login(a)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sessions = {}
    for a in agents:  # agents with sessions but no stored account: the sessions stay in memory
        account = Account(0, a, a, frozenset({Role.AGENT}), "", {}, True, False, "")
        sessions[a] = (await svc.sessions.create(account)).cookie
    print("READY", json.dumps({"port": port, "sessions": sessions}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "GO"

    rng = random.Random(20)
    ids = [rng.randrange(1, CUSTOMERS + 1) for _ in range(int(args.rate * args.seconds) + 10)]
    callers = [data.mobile(i)[3:] if i % 10 else "0" + data.landline(i)[3:] for i in ids]
    payloads: list[tuple[str, dict]] = []  # (agent, pop payload) as sent in the lookup phase
    original_ringing = svc.desktop.on_ringing

    async def keep_payload(event):
        await original_ringing(event)
        agent = svc.desktop.agent_of_interface(event.agent)
        for popped in svc.desktop.active(agent):
            if popped.call_id == event.call_id:
                payloads.append((agent, popped.payload))

    svc.desktop.on_ringing = keep_payload
    ends: list[asyncio.Task] = []

    async def end_later(call_id: str) -> None:
        await asyncio.sleep(TALK_S)
        bus.publish(CallEnded(datetime.now(UTC), call_id, EndCause.NORMAL, TALK_S))

    interval = 1.0 / args.rate
    total = int(args.rate * args.seconds)
    start = time.perf_counter()
    rung = 0
    for n in range(total):
        await asyncio.sleep(max(0.0, start + n * interval - time.perf_counter()))
        agent_index = n % len(agents)
        record = acd.states.get(agents[agent_index])
        if str(record.state) != "available":
            continue
        call_id = f"c{n}"
        now = datetime.now(UTC)
        bus.publish(CallOffered(now, call_id, callers[n], "", "4008001234", f"PJSIP/trunk-{n}"))
        bus.publish(CallRinging(datetime.now(UTC), call_id, record.profile.interface, "support", f"X-{n}"))
        rung += 1
        ends.append(asyncio.create_task(end_later(call_id)))
    await asyncio.gather(*ends)
    await asyncio.sleep(1.0)

    # Reference: the same payloads on the same sockets, no lookup.
    start = time.perf_counter()
    for n, (agent, payload) in enumerate(payloads):
        await asyncio.sleep(max(0.0, start + n * interval - time.perf_counter()))
        stamped = {**payload, "rung_at": datetime.now(UTC).isoformat(), "phase": "reference"}
        svc.hub.send_user(agent, frame("pop", **stamped))
    await asyncio.sleep(1.0)
    rss_mb = peak_rss_mb()
    print("DONE", json.dumps({"rung": rung, "reference_sent": len(payloads), "rss_mb": rss_mb}), flush=True)
    await runner.cleanup()
    await acd.stop()
    await db.dispose()


# --- the agents' clients (this process) -------------------------------------------------------------


async def clients(args: argparse.Namespace) -> None:
    import aiohttp

    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        "--agents",
        str(args.agents),
        "--rate",
        str(args.rate),
        "--seconds",
        str(args.seconds),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None and child.stdin is not None
    while True:
        line = (await child.stdout.readline()).decode()
        if not line:
            raise SystemExit("the server stopped before it was ready")
        if line.startswith("READY "):
            ready = json.loads(line[6:])
            break
        print(line, end="")
    lookup: list[float] = []
    reference: list[float] = []
    offers = 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        url = f"http://127.0.0.1:{ready['port']}/api/ws"

        async def agent(session_id: str) -> None:
            nonlocal offers
            async with http.ws_connect(url, headers={"Cookie": f"hotline_session={session_id}"}) as ws:
                connected.release()
                async for message in ws:
                    arrived = time.time()
                    data = json.loads(message.data)
                    if data["type"] != "pop":
                        continue
                    rung = datetime.fromisoformat(data["rung_at"]).timestamp()
                    (reference if data.get("phase") == "reference" else lookup).append(arrived - rung)
                    offers += bool(data["offers"]) and data.get("phase") != "reference"

        connected = asyncio.Semaphore(0)
        tasks = [asyncio.create_task(agent(sid)) for sid in ready["sessions"].values()]
        for _ in tasks:
            await connected.acquire()
        print(f"{len(tasks)} agents connected; {args.rate} calls/s for {args.seconds} s, then the reference")
        child.stdin.write(b"GO\n")
        await child.stdin.drain()
        while True:
            line = (await child.stdout.readline()).decode()
            if not line:
                raise SystemExit("the server stopped without a result")
            if line.startswith("DONE "):
                done = json.loads(line[5:])
                break
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    await child.wait()
    p50, p99, worst = (percentile(lookup, 50) * 1e3, percentile(lookup, 99) * 1e3, max(lookup) * 1e3)
    r50, r99, rmax = (percentile(reference, 50) * 1e3, percentile(reference, 99) * 1e3, max(reference) * 1e3)
    print(f"calls rung: {done['rung']}, pops received: {len(lookup)} ({offers} with offers)")
    print(f"ring → pop (CRM lookup, gate): p50 {p50:.2f} ms  p99 {p99:.2f} ms  max {worst:.2f} ms")
    print(f"reference (same payloads, no lookup): p50 {r50:.2f} ms  p99 {r99:.2f} ms  max {rmax:.2f} ms")
    print(f"server peak RSS: {done['rss_mb']:.0f} MB (target <= 300 MB); p99 target <= 50 ms")
    print(
        json.dumps(
            {
                "bench": "screen_pop_latency",
                "value": round(p99, 2),
                "unit": "ms (ring → pop p99)",
                "reference": round(r99, 2),
                "ratio": round(p99 / r99, 2) if r99 else None,
                "target": "p99 <= 50 ms, RSS <= 300 MB",
            }
        )
    )


def peak_rss_mb() -> float:
    """This process's peak RSS. Linux's VmHWM counts only since exec; getrusage's ru_maxrss also
    keeps the peak of the parent's forked copy before exec, which is not the server's memory."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def crm_data() -> Path:
    """The 1M-customer CRM, generated once (outside any event loop) and shared with crm_screen_pop.
    The name carries the schema generation: a cache made before a migration is not reused."""
    import crm_screen_pop as data

    path = data.cache_dir() / f"crm-{CUSTOMERS}-{CONTACTS_PER_CUSTOMER}-v2.db"
    if not path.exists():
        data.generate(path, CUSTOMERS, CONTACTS_PER_CUSTOMER)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.serve:
        crm_data()
    asyncio.run(serve(args) if args.serve else clients(args))


if __name__ == "__main__":
    main()
