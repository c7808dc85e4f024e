"""Two Hotline nodes on the real switch: ``hotline serve`` twice in cluster mode on one PostgreSQL
and one Redis (started here, bench/servers.py), each with its own HTTP and FastAGI port, the
dialplan's two IVR addresses (the globals ``HOTLINE_AGI`` and ``HOTLINE_AGI_2``) set to the two
nodes for the test and restored after. The agents use the page of the node that does not lead,
which forwards everything to the leader.

The leader is SIGKILLed while an agent talks with one caller and a second caller waits in the
queue: the call in progress goes on (Asterisk bridges it, the new leader follows it to its end),
the waiting caller and a caller who arrives in the takeover's seconds (whose menus run on the
other node, reached through ``HOTLINE_AGI_2``) are delivered once the other node leads, and
Asterisk's own queue_log has one ``CONNECT`` per call."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

import pytest
from hotline_process import KNOWN_CALLER, QUEUE_LOG, Desk, HotlineProcess, free_port, lines_of
from live_harness import AmiSession, LiveConfig, Sipp
from test_live_hotline import UNKNOWN_CALLER, events_of, place_call
from test_live_hotline_more import activity

from bench.servers import REDIS_SERVER, PostgresServer, RedisServer, pg_bin
from cti.events import CallEnded, CallOffered, CallQueued

pytestmark = pytest.mark.live

NEW_CALLER = "13700001111"  # arrives while no node leads
LEASE_S = 3.0  # the default a site runs with
TAKEOVER_LIMIT_S = 10.0
STAY_S = 120.0  # callers stay on until the test hangs them up


@pytest.fixture
def cluster_servers() -> Iterator[tuple[str, str]]:
    """A PostgreSQL and a Redis of the test's own: the database URL and the broker URL."""
    bindir = pg_bin()
    if bindir is None or REDIS_SERVER is None:
        pytest.skip("two nodes need PostgreSQL's server binaries and redis-server (Debian packages)")
    postgres, redis = PostgresServer(bindir), RedisServer()
    try:
        postgres.start()
        redis.start()
        yield postgres.url(), redis.url
    finally:
        redis.remove()
        postgres.remove()


def cluster_node(
    config: LiveConfig, workdir: Path, name: str, secret: Path, servers: tuple[str, str]
) -> HotlineProcess:
    """One node: the live site's settings, on the shared database and broker, with its own
    HTTP and FastAGI ports on the live Hotline address."""
    db_url, broker_url = servers
    node = HotlineProcess(config, workdir / name, secret)
    node.env.update(
        {
            "HOTLINE_DB_URL": db_url,
            "HOTLINE_CLUSTER_BROKER_URL": broker_url,
            "HOTLINE_CLUSTER_NODE": name,
            "HOTLINE_CLUSTER_LEASE_S": str(LEASE_S),
            "HOTLINE_AGI_PORT": str(free_port()),
            "HOTLINE_HTTP_SESSION_KEY": "live-cluster-session-key-" + "k" * 24,  # the same on both
        }
    )
    return node


def ivr_address(config: LiveConfig, node: HotlineProcess) -> str:
    return f"agi://{config.agi_host}:{node.env['HOTLINE_AGI_PORT']}/ivr"


@contextlib.asynccontextmanager
async def dialplan_globals(ami: AmiSession, values: Mapping[str, str]) -> AsyncIterator[dict[str, str]]:
    """The dialplan's globals set (AMI Setvar without a channel), and put back as they were."""
    before: dict[str, str] = {}
    for name in values:
        answer = await ami.action("Getvar", Variable=name)
        assert answer.get("Response") == "Success", answer
        before[name] = str(answer.get("Value") or "")
    try:
        for name, value in values.items():
            answer = await ami.action("Setvar", Variable=name, Value=value)
            assert answer.get("Response") == "Success", answer
        yield before
    finally:
        for name, value in before.items():
            await ami.action("Setvar", Variable=name, Value=value)


async def logged_at(node: HotlineProcess, needle: str, within_s: float) -> float:
    """The moment (monotonic) ``needle`` appeared in the node's log, looked for every 50 ms."""
    async with asyncio.timeout(within_s):
        while not node.log_lines(needle):  # noqa: ASYNC110  (a file, not an event)
            await asyncio.sleep(0.05)
    return time.monotonic()


def pops_by_call(desks: Mapping[str, Desk]) -> dict[str, list[tuple[str, dict]]]:
    """Every pop the pages received, by call: (extension, frame)."""
    popped: dict[str, list[tuple[str, dict]]] = collections.defaultdict(list)
    for extension, desk in desks.items():
        for frame in desk.of("pop"):
            popped[frame["call_id"]].append((extension, frame))
    return popped


def agi_runs(ami: AmiSession, call_id: str) -> list[tuple[str, float]]:
    """The FastAGI addresses the dialplan ran for a call, in order, with the switch's timestamp."""
    return [
        (str(m.get("AppData", "")), float(str(m.get("Timestamp") or 0)))
        for m in ami.raw
        if m.get("Event") == "Newexten" and m.get("Application") == "AGI" and m.get("Linkedid") == call_id
    ]


async def test_the_other_node_takes_over_a_killed_leader_and_no_call_is_dropped_or_delivered_twice(
    live_config: LiveConfig,
    ami: AmiSession,
    sipp: Sipp,
    tmp_path: Path,
    cluster_servers: tuple[str, str],
) -> None:
    if not QUEUE_LOG.is_file():
        pytest.skip(f"Asterisk's queue_log is not readable here ({QUEUE_LOG}; HOTLINE_LIVE_QUEUE_LOG)")
    secret = tmp_path / "ami_secret"
    secret.write_text(live_config.ami_secret)
    secret.chmod(0o600)
    one = cluster_node(live_config, tmp_path, "one", secret, cluster_servers)
    two = cluster_node(live_config, tmp_path, "two", secret, cluster_servers)
    first_ivr, second_ivr = ivr_address(live_config, one), ivr_address(live_config, two)
    desks: dict[str, Desk] = {}
    report: list[str] = []
    try:
        await one.set_up()  # the site's database, accounts and customers: both nodes' own
        await one.start()  # the first node asks for the lease first: it leads, on AMI
        await two.start(ready="event=cluster_standby")  # serves at once, forwarding to the leader
        assert not two.log_lines("event=ami_connected"), "only the leader connects to AMI"
        async with (
            dialplan_globals(ami, {"HOTLINE_AGI": first_ivr, "HOTLINE_AGI_2": second_ivr}),
            sipp.phone("1001"),
            sipp.phone("1002"),
            sipp.phone("1003"),
        ):
            # Every agent on the page of the node that does not lead: 1001 available, the other
            # two on a break, so that the second caller waits.
            for extension in ("1001", "1002", "1003"):
                await ami.phone_reachable(extension)
                desk = desks[extension] = await Desk.log_in(two.url, f"agent{extension}")
                await desk.frame("hello")
                await desk.ok("POST", "/api/agent/login", {"extension": extension})
                if extension == "1001":
                    await desk.ok("POST", "/api/agent/ready")
                else:
                    await desk.ok("POST", "/api/agent/pause", {"reason": "break"})
            status = await desks["1002"].ok("GET", "/api/agent/status")
            assert (status["state"], status["reason"]) == ("paused", "break"), status

            # The first call: through the leader's IVR and ACD to 1001, answered.
            await place_call(sipp, tmp_path, KNOWN_CALLER, stay_s=STAY_S)
            talking = (await desks["1001"].frame("pop", within_s=40))["call_id"]
            await desks["1001"].frame("call", lambda f: f["call_id"] == talking and f["answered"])
            # The second: through the leader's IVR into the queue, where it waits.
            await place_call(sipp, tmp_path, UNKNOWN_CALLER, stay_s=STAY_S)
            await ami.wait_until(
                lambda: any(isinstance(e, CallQueued) and e.call_id != talking for e in ami.events), 40
            )
            waiting = next(
                e.call_id for e in ami.events if isinstance(e, CallQueued) and e.call_id != talking
            )
            await asyncio.sleep(1.0)  # the leader's ACD has seen it waiting too

            # The leader dies; a third caller arrives at once, while no node leads.
            killed_at, killed_wall = time.monotonic(), time.time()
            await one.kill()
            took_over = asyncio.create_task(logged_at(two, "event=cluster_took_over", TAKEOVER_LIMIT_S + 20))
            serving = asyncio.create_task(logged_at(two, "event=hotline_started", TAKEOVER_LIMIT_S + 30))
            await place_call(sipp, tmp_path, NEW_CALLER, stay_s=STAY_S)
            takeover_s = await took_over - killed_at
            took_over_wall = killed_wall + takeover_s
            serving_s = await serving - killed_at
            report.append(
                f"takeover {takeover_s:.2f} s (kill to cluster_took_over), serving {serving_s:.2f} s"
            )
            assert takeover_s < TAKEOVER_LIMIT_S, report

            # The pages come back by themselves, to the node that now leads, with the same
            # sessions and the agents as they were.
            for extension, desk in desks.items():
                hello = await desk.reconnect(within_s=30)
                assert hello["status"]["state"] != "logged-out", (extension, hello["status"])
            status = await desks["1002"].ok("GET", "/api/agent/status")
            assert (status["state"], status["reason"]) == ("paused", "break"), status
            # The call in progress went on: Asterisk bridges it, and the new leader's ACD has its
            # agent on it (the resync found it answered).
            assert not [e for e in events_of(ami, talking) if isinstance(e, CallEnded)]
            status = await desks["1001"].ok("GET", "/api/agent/status")
            assert status["state"] == "on-call", status
            report.append(f"the call in progress on the page after the takeover: {status['calls']}")
            # ... and it is on the agent's page, which controls it as before.
            assert [call["call_id"] for call in status["calls"]] == [talking], status

            # The waiting caller and the new one are delivered by the new leader.
            for extension in ("1002", "1003"):
                await desks[extension].ok("POST", "/api/agent/ready")
            await ami.wait_until(
                lambda: any(isinstance(e, CallOffered) and e.caller == NEW_CALLER for e in ami.events), 20
            )
            arrived = next(
                e.call_id for e in ami.events if isinstance(e, CallOffered) and e.caller == NEW_CALLER
            )
            async with asyncio.timeout(60):
                while not {waiting, arrived} <= set(pops_by_call(desks)):  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
            delivered_s = time.monotonic() - killed_at
            report.append(f"both callers popped {delivered_s:.1f} s after the kill")
            popped = pops_by_call(desks)
            # The call in progress pops on 1001 only: again after the takeover, from the new leader.
            assert {extension for extension, _ in popped[talking]} == {"1001"}, popped
            assert set(popped) == {talking, waiting, arrived}, popped  # the busy agent got no other
            assert len(popped[waiting]) == len(popped[arrived]) == 1, popped
            (waiter_desk, waiter_pop), (new_desk, new_pop) = popped[waiting][0], popped[arrived][0]
            assert {waiter_desk, new_desk} == {"1002", "1003"}, popped
            report.append(
                "the waiting caller's pop: "
                + str({k: waiter_pop[k] for k in ("caller", "known", "queue", "ivr_path")})
            )
            assert new_pop["caller"] == NEW_CALLER, new_pop
            assert waiter_pop["caller"] == UNKNOWN_CALLER, waiter_pop  # found by the first resync
            for extension, pop in ((waiter_desk, waiter_pop), (new_desk, new_pop)):
                await desks[extension].frame(
                    "call", lambda f, c=pop["call_id"]: f["call_id"] == c and f["answered"]
                )
            # The new caller's menus ran on the other node: the dead leader's address first
            # (refused: AGISTATUS = FAILURE), then HOTLINE_AGI_2, while no node led; what they
            # chose reached the new leader's ACD with them.
            runs = agi_runs(ami, arrived)
            report.append(f"the new caller's IVR: {runs}")
            assert [address for address, _ in runs] == [first_ivr, second_ivr], runs
            assert runs[1][1] < took_over_wall, f"menus began after the takeover: {runs}, {took_over_wall}"
            assert new_pop["ivr_path"], new_pop

            # The three calls end from the agents' pages, through the new leader (the one answered
            # before the takeover too), and their agents are free.
            for extension, call_id in ((waiter_desk, waiting), (new_desk, arrived), ("1001", talking)):
                await desks[extension].ok("POST", f"/api/agent/calls/{call_id}/hangup")
                await desks[extension].frame("ended", lambda f, c=call_id: f["call_id"] == c)
            await ami.wait_until(lambda: any(isinstance(e, CallEnded) for e in events_of(ami, talking)), 20)
            async with asyncio.timeout(20):
                while (await desks["1001"].ok("GET", "/api/agent/status"))["state"] == "on-call":  # noqa: ASYNC110
                    await asyncio.sleep(0.5)
            # Asterisk's queue_log: each call connected once, to one agent.
            calls = {talking, waiting, arrived}
            async with asyncio.timeout(15):
                while True:
                    lines = [line.split("|") for line in lines_of(calls).splitlines()]
                    connects = collections.Counter(line[1] for line in lines if line[4] == "CONNECT")
                    if set(connects) == calls:
                        break
                    await asyncio.sleep(0.5)
            await asyncio.sleep(2.0)  # a second CONNECT would come at once; give it its chance
            lines = [line.split("|") for line in lines_of(calls).splitlines()]
            report.append("queue_log:\n" + "\n".join("|".join(line) for line in lines))
            connects = collections.Counter(line[1] for line in lines if line[4] == "CONNECT")
            assert connects == {call_id: 1 for call_id in calls}, report[-1]
            # Nothing stays in progress or waiting on the new leader.
            await asyncio.sleep(11)  # its next activity line
            assert activity(two)[3:] == (0, 0), two.log_tail()
            assert two.log_lines("event=cluster_took_over")
    finally:
        print("\n".join(report))
        for desk in desks.values():
            await desk.close()
        await two.stop()
        await one.stop()
        for node in (one, two):
            print(f"--- {node.workdir.name}: hotline serve log ({node.log_path}) ---\n{node.log_tail(150)}")
