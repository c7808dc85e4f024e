"""The servers under two ``hotline serve`` processes restarted, against the switch simulator.

Redis restarted (without persistence: it comes back empty) in the middle of a burst of calls, some
callers' IVR running on the standby meanwhile: the leader goes on delivering, none lost or
delivered twice; the standby notices it missed events, reads the leader's snapshot again, and
still takes over with every agent logged in when the leader is then killed; a node started after
the restart reads every agent in the snapshot too (the leader wrote it whole again).

PostgreSQL restarted for longer than the lease: the leader cannot renew its lease and stops with
status 3; the test plays systemd and starts it again. Once the database is back exactly one node
leads, the calls that waited meanwhile are delivered (or abandoned by their own patience) exactly
once, none is stuck, and a leader delivers again within a bound.
"""

from __future__ import annotations

import asyncio
import collections
import os
import random
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from argon2 import PasswordHasher

from crm import accounts
from crm.accounts import NewAccount, Role
from cti.simulator import AgentScript, CallerScript, CallRecord, SwitchSimulator
from hotline.cluster.pg_lease import asyncpg_dsn
from tests.cluster.conftest import RedisServer
from tests.cluster.test_failover import AGENTS, PASSWORD, Node, cluster_env, log_agents_in, start_node
from tests.crm.conftest import _emptied
from tests.e2e.system import free_port

pytestmark = pytest.mark.postgres

LEASE_S = 2.0
START_S = 60.0  # a node's start, imports included, on a busy 2-core machine
PATIENCE_S = 25.0  # a caller not answered by then hangs up: the call is abandoned
PAUSED = "agent2024"  # paused before the broker restarts: no event of theirs comes after it
TOOK_OVER = "cluster_took_over"
OUTAGE_S = 5.0  # PostgreSQL down for longer than the lease
RECOVERY_LIMIT_S = 10.0  # from PostgreSQL back to a leader delivering calls
EXIT_LIMIT_S = 25.0  # a deposed leader's stop: its call log retries its writes (0.5 + 2 + 5 s, twice)


class Postgres:
    """The session's PostgreSQL, stopped (``pg_ctl stop -m fast``: every connection is cut) and
    started again on the same port, data and settings, which it reads from the server itself.
    Each pytest-xdist worker has its own session server and runs one test file at a time
    (``--dist loadfile``): restarting it disturbs no other test, as long as it runs again after."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pg_ctl = ""
        self.data = ""
        self.options = ""
        self.running = True

    async def read_settings(self) -> None:
        connection = await asyncpg.connect(asyncpg_dsn(self.url))
        try:
            bindir = await connection.fetchval("SELECT setting FROM pg_config WHERE name = 'BINDIR'")
            shown = {
                name: await connection.fetchval(f"SHOW {name}")
                for name in ("data_directory", "port", "unix_socket_directories", "listen_addresses")
            }
            kept = await connection.fetch(
                "SELECT name, setting FROM pg_settings WHERE source = 'command line' AND name NOT IN "
                "('data_directory', 'port', 'unix_socket_directories', 'listen_addresses')"
            )
        finally:
            await connection.close()
        self.pg_ctl = f"{bindir}/pg_ctl"
        self.data = shown["data_directory"]
        self.options = (
            f"-p {shown['port']} -k {shown['unix_socket_directories']} "
            f"-c listen_addresses={shown['listen_addresses']}"
        ) + "".join(f" -c {row['name']}={row['setting']}" for row in kept)

    def _pg_ctl(self, *args: str) -> None:
        command = [self.pg_ctl, "-D", self.data, *args]
        if os.geteuid() == 0:  # the server's files belong to postgres (initdb refuses root)
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        self.running = False
        self._pg_ctl("-m", "fast", "-w", "stop")

    def start(self) -> None:
        log = str(Path(self.data).parent / "log")
        self._pg_ctl("-l", log, "-o", self.options, "-w", "start")
        self.running = True


@pytest.fixture
async def postgres(postgres_url: str) -> AsyncIterator[Postgres]:
    server = Postgres(postgres_url)
    await server.read_settings()
    try:
        yield server
    finally:
        if not server.running:
            await asyncio.to_thread(server.start)


@pytest.fixture
def redis(redis_server: RedisServer) -> RedisServer:
    """The session's Redis, emptied; running again after the test (it stops and starts it)."""
    import redis as redis_client

    with redis_client.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server


@dataclass
class Cluster:
    sim: SwitchSimulator
    env: dict[str, str]
    tmp: Path
    nodes: list[Node]

    def leaders(self) -> list[Node]:
        """The running nodes that took the lease (a node is a process: a restart is a new one)."""
        return [n for n in self.nodes if n.process.returncode is None and n.seen(TOOK_OVER)]

    def logs(self) -> str:
        return "".join(f"--- {n.name} (exit {n.process.returncode}) ---\n{n.log()}" for n in self.nodes)


async def cluster_up(
    postgres_url: str, broker_url: str, tmp: Path, *, talk_s: float
) -> tuple[Cluster, Node, Node]:
    """Two nodes on the simulator, the agents logged in through the leader."""
    db = await _emptied(postgres_url)
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    try:
        for extension in AGENTS:
            await accounts.create_account(
                db,
                NewAccount(
                    f"agent{extension}", cheap, frozenset({Role.AGENT}),
                    extension=extension, skills={"support": 5},
                ),
            )  # fmt: skip
    finally:
        await db.dispose()
    phones = [
        AgentScript(ext, name=f"Agent {ext}", answer_after_s=0.3, hangup_after_s=talk_s) for ext in AGENTS
    ]
    sim = SwitchSimulator(agents=phones, agi_url=f"agi://127.0.0.1:{free_port()}/ivr")
    ami_port = await sim.start("127.0.0.1", 0)
    env = cluster_env(postgres_url, broker_url, sim, ami_port, LEASE_S)
    cluster = Cluster(sim, env, tmp, [])
    cluster.nodes = [await start_node("one", tmp, env), await start_node("two", tmp, env)]
    async with asyncio.timeout(START_S):
        while not cluster.leaders():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    leader = cluster.leaders()[0]
    follower = next(n for n in cluster.nodes if n is not leader)
    await follower.until("cluster_standby", START_S)
    await leader.until("Hotline is running", START_S)
    await log_agents_in(leader)
    # The dialplan's two IVR addresses (HOTLINE_AGI, HOTLINE_AGI_2).
    sim.agi_url = f"agi://127.0.0.1:{leader.agi_port}/ivr"
    sim.agi_url_2 = f"agi://127.0.0.1:{follower.agi_port}/ivr"
    return cluster, leader, follower


async def cluster_down(cluster: Cluster | None) -> None:
    if cluster is None:
        return
    for node in cluster.nodes:
        await node.stop()
    await cluster.sim.stop()


class Burst:
    """Calls at ``rate`` a second (exponential gaps), each caller patient for PATIENCE_S."""

    def __init__(self, sim: SwitchSimulator, rate: float, seed: int) -> None:
        self.sim = sim
        self.rate = rate
        self.rng = random.Random(seed)
        self.records: list[CallRecord] = []
        self.next_at = time.monotonic()

    async def until(self, moment: float) -> None:
        """Place calls until the monotonic ``moment``."""
        while True:
            await asyncio.sleep(max(min(self.next_at, moment) - time.monotonic(), 0.0))
            if time.monotonic() >= moment:
                return
            self.next_at += self.rng.expovariate(self.rate)
            caller = CallerScript(caller=f"139{len(self.records):08d}", hangup_after_s=PATIENCE_S)
            self.records.append(self.sim.place_call(caller))

    async def ended(self) -> None:
        """Every call ended (answered and hung up, or abandoned): none is stuck."""
        async with asyncio.timeout(PATIENCE_S + 20):
            await asyncio.gather(*(r.done for r in self.records if r.done is not None))

    def judge(self, sim: SwitchSimulator, context: str) -> collections.Counter[str]:
        """Every call answered or abandoned exactly once, none delivered twice by the ACD."""
        outcomes = collections.Counter(
            "answered"
            if r.answered is not None and not r.abandoned
            else "abandoned"
            if r.abandoned
            else "lost"
            for r in self.records
        )
        twice = [c for c, n in connects(sim).items() if n > 1]
        report = f"{dict(outcomes)}, delivered twice: {twice}\n{context}"
        assert outcomes["lost"] == 0, report
        assert all((r.answered is not None) != r.abandoned for r in self.records), report
        assert not twice, report
        return outcomes


def connects(sim: SwitchSimulator) -> collections.Counter[str]:
    """The ACD's deliveries: queue_log CONNECT lines by call."""
    return collections.Counter(
        line.split("|")[1] for line in sim.queue_log if line.split("|")[4] == "CONNECT"
    )


async def agent_status(port: int, username: str) -> dict:
    async with aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{port}/", cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as http:
        async with http.post("/api/session", json={"username": username, "password": PASSWORD}) as r:
            assert r.status == 200, await r.text()
        async with http.get("/api/agent/status") as r:
            assert r.status == 200, await r.text()
            return await r.json()


async def pause(port: int, username: str, reason: str) -> None:
    async with aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{port}/", cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as http:
        async with http.post("/api/session", json={"username": username, "password": PASSWORD}) as r:
            assert r.status == 200, await r.text()
            csrf = (await r.json())["csrf_token"]
        async with http.post(
            "/api/agent/pause", json={"reason": reason}, headers={"X-CSRF-Token": csrf}
        ) as r:
            assert r.status == 200, await r.text()


def after(node: Node, text: str, moment: float) -> float | None:
    """When ``node`` first logged ``text`` at or after the monotonic ``moment``."""
    return next((at for at, line in node.lines if at >= moment and text in line), None)


async def test_redis_restarted_mid_burst_loses_no_call_and_the_standby_still_takes_over_with_the_agents(
    postgres_url: str, redis: RedisServer, tmp_path: Path
) -> None:
    cluster: Cluster | None = None
    try:
        cluster, leader, follower = await cluster_up(postgres_url, redis.url, tmp_path, talk_s=1.0)
        await pause(leader.http_port, PAUSED, "training")
        sim = cluster.sim
        via_leader = sim.agi_url, sim.agi_url_2
        burst = Burst(sim, rate=8.0, seed=4)
        started = time.monotonic()
        await burst.until(started + 2.0)
        redis.stop()  # no persistence: the streams and the leader's snapshot are gone with it
        stopped_at, stopped_sim = time.monotonic(), sim.clock.time()
        await burst.until(stopped_at + 1.0)
        # Callers whose IVR runs on the standby meanwhile: it hands them to the leader through
        # the broker, which is down.
        sim.agi_url, sim.agi_url_2 = via_leader[1], via_leader[0]
        first_via_standby = len(burst.records)
        await burst.until(stopped_at + 2.0)
        redis.start()
        back_at, back_sim = time.monotonic(), sim.clock.time()
        await burst.until(back_at + 1.5)
        via_standby = burst.records[first_via_standby:]
        sim.agi_url, sim.agi_url_2 = via_leader
        await burst.until(back_at + 3.0)
        await burst.ended()
        outcomes = burst.judge(sim, cluster.logs())
        during = [r for r in burst.records[:first_via_standby] if r.arrived >= stopped_sim]
        held = [r for r in via_standby if r.arrived < back_sim]
        print(
            f"redis restart: {len(burst.records)} calls, {dict(outcomes)}; "
            f"{len(via_standby)} ran their IVR on the standby, {len(held)} while Redis was down, "
            f"answered at {[round(r.answered - back_sim, 1) for r in held if r.answered is not None]} s "
            "from its return"
        )
        # Every call delivered by the leader's ACD, through the outage too: those whose IVR ran
        # on the leader at once, those handed over by the standby once the broker was back.
        assert leader.process.returncode is None and follower.process.returncode is None, cluster.logs()
        assert outcomes["answered"] == len(burst.records), cluster.logs()
        assert len(connects(sim)) == len(burst.records), cluster.logs()
        assert during and held, cluster.logs()
        assert all(r.queue == "support" for r in burst.records), cluster.logs()
        assert all(r.agi_status == "SUCCESS" for r in burst.records), cluster.logs()
        # The standby noticed it lost events and read the leader's snapshot again.
        missed = after(follower, "cluster_events_missed", stopped_at)
        assert missed is not None, follower.log()
        assert after(follower, "cluster_presence_resynced", missed) is not None, follower.log()
        # A node started after the restart reads a whole snapshot: the leader wrote it again.
        late = await start_node("three", tmp_path, cluster.env)
        cluster.nodes.append(late)
        resynced = await late.until("cluster_presence_resynced", START_S)
        line = next(text for at, text in late.lines if at == resynced and "cluster_presence_resynced" in text)
        assert re.search(rf"\bagents={len(AGENTS)}\b", line), late.log()
        await late.stop()

        # The leader killed now: the standby takes over with every agent logged in, the one
        # paused before the restart (no event of theirs since) paused with their reason.
        leader.process.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        took_over = await follower.until(TOOK_OVER, 20)
        line = next(text for at, text in follower.lines if at == took_over and TOOK_OVER in text)
        print(f"takeover {took_over - killed_at:.1f} s after the kill: {line.strip()}")
        assert re.search(rf"\bagents={len(AGENTS)}\b", line), follower.log()
        await follower.until("Hotline is running", 20)
        status = await agent_status(follower.http_port, PAUSED)
        assert (status["state"], status["reason"]) == ("paused", "training"), status
        assert (await agent_status(follower.http_port, "agent2001"))["state"] != "logged-out"
        # ... and delivers (the dialplan tries the dead leader's IVR first, then this node's).
        before = len(connects(cluster.sim))
        more = Burst(cluster.sim, rate=8.0, seed=5)
        await more.until(time.monotonic() + 1.0)
        await more.ended()
        more.judge(cluster.sim, follower.log())
        assert len(connects(cluster.sim)) == before + len(more.records), follower.log()
    finally:
        await cluster_down(cluster)
        if redis.process is None:
            redis.start()


class Deliveries:
    """When each ACD delivery (queue_log CONNECT) was first seen, on the test's clock."""

    def __init__(self, sim: SwitchSimulator) -> None:
        self.sim = sim
        self.read = 0
        self.seen: list[tuple[float, str]] = []

    async def watch(self) -> None:
        while True:
            lines = self.sim.queue_log[self.read :]
            self.read += len(lines)
            now = time.monotonic()
            self.seen += [(now, line.split("|")[1]) for line in lines if line.split("|")[4] == "CONNECT"]
            await asyncio.sleep(0.05)

    def first_after(self, moment: float) -> float | None:
        return next((at for at, _ in self.seen if at >= moment), None)


async def play_systemd(cluster: Cluster, exits: list[tuple[str, int, float]]) -> None:
    """``Restart=always``: a node that stopped is started again, with the same name."""
    handled: set[int] = set()
    restarts = 0
    while True:
        for node in list(cluster.nodes):
            code = node.process.returncode
            if code is None or id(node) in handled:
                continue
            handled.add(id(node))
            exits.append((node.name, code, time.monotonic()))
            restarts += 1
            cluster.nodes.append(
                await start_node(node.name, cluster.tmp / f"restart-{restarts}", cluster.env)
            )
        await asyncio.sleep(0.05)


async def test_postgres_restarted_for_longer_than_the_lease_one_node_leads_again_and_the_waiting_calls_go_on(
    postgres_url: str, postgres: Postgres, redis: RedisServer, tmp_path: Path
) -> None:
    cluster: Cluster | None = None
    tasks: list[asyncio.Task[None]] = []
    try:
        cluster, leader, follower = await cluster_up(postgres_url, redis.url, tmp_path, talk_s=5.0)
        sim = cluster.sim
        exits: list[tuple[str, int, float]] = []
        deliveries = Deliveries(sim)
        tasks = [asyncio.create_task(play_systemd(cluster, exits)), asyncio.create_task(deliveries.watch())]
        burst = Burst(sim, rate=5.0, seed=6)
        # Every agent on a call by then (5 s talks): the next callers wait in the queue.
        await burst.until(time.monotonic() + 5.5)
        down_at = time.monotonic()
        await asyncio.to_thread(postgres.stop)
        await burst.until(down_at + OUTAGE_S)
        await asyncio.to_thread(postgres.start)
        back_at, back_sim = time.monotonic(), sim.clock.time()
        await burst.until(back_at + 2.0)
        async with asyncio.timeout(RECOVERY_LIMIT_S + 10):
            while not cluster.leaders() or deliveries.first_after(back_at) is None:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        await burst.ended()
        report = f"exits {exits}\n{cluster.logs()}"

        # The leader could not renew its lease: it stepped down at its deadline, then stopped
        # with status 3 (its call log's writes to the database retried first) and was started again.
        deposed_s = (after(leader, "cluster_deposed", down_at) or float("inf")) - down_at
        assert deposed_s < LEASE_S + 0.5, report
        assert exits and exits[0][:2] == (leader.name, 3), report
        exited_s = exits[0][2] - down_at
        assert exited_s < EXIT_LIMIT_S, report
        assert all(code == 3 for _, code, _ in exits), report
        # Exactly one node leads once the database is back, and the lease row says so.
        await asyncio.sleep(2 * LEASE_S)
        leaders = cluster.leaders()
        assert len(leaders) == 1, report
        assert len(exits) == 1 and follower.process.returncode is None, report
        new_leader = leaders[0]
        connection = await asyncpg.connect(asyncpg_dsn(postgres_url))
        try:
            holder = await connection.fetchval(
                "SELECT holder FROM cluster_leases WHERE name = $1 AND expires_at > clock_timestamp()",
                f"switch:127.0.0.1:{cluster.env['HOTLINE_AMI_PORT']}",
            )
        finally:
            await connection.close()
        assert holder == new_leader.name, report
        line = next(text for _, text in new_leader.lines if TOOK_OVER in text)
        assert re.search(rf"\bagents={len(AGENTS)}\b", line), report
        # ... and delivers again within a bound of the database's return.
        took_over_s = (new_leader.seen(TOOK_OVER) or 0.0) - back_at
        delivering_s = (deliveries.first_after(back_at) or 0.0) - back_at
        outcomes = burst.judge(sim, report)
        # The callers who waited in the queue through the outage were delivered (or gave up).
        waited = [r for r in burst.records if r.queued is not None and r.queued < back_sim]
        waited = [r for r in waited if r.queue == "support" and (r.answered or r.ended or 0) > back_sim]
        print(
            f"postgres restart: {len(burst.records)} calls, {dict(outcomes)}, down "
            f"{back_at - down_at:.1f} s, the leader stepped down {deposed_s:.1f} s and exited "
            f"{exited_s:.1f} s after the stop began, "
            f"{new_leader.name} took over {took_over_s:.1f} s and delivered {delivering_s:.1f} s "
            f"after the database was back; {len(waited)} calls waited through it, "
            f"{sum(r.answered is not None for r in waited)} answered"
        )
        assert waited and any(r.answered is not None for r in waited), report
        assert delivering_s < RECOVERY_LIMIT_S, report
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await cluster_down(cluster)
