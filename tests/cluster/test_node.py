"""A node in cluster mode inside one process: it follows while another leads (serving, but driving
nothing), takes over at once when the leader stops (with the agents it had logged in), stops with
status 3 when its lease is taken, still learns who is logged in after the broker restarts, and
refuses to start on SQLite."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import pytest

from acd.models import AgentState
from crm import desk_codes
from crm.db import Database
from cti.errors import SwitchUnavailable
from hotline.app import Hotline
from hotline.cluster.pg_lease import asyncpg_dsn
from hotline.settings import Settings, SettingsError
from tests.cluster.conftest import RedisServer
from tests.crm.conftest import _emptied
from tests.e2e.system import add_agent, free_port
from tests.hotline.test_app import tmp_settings

pytestmark = pytest.mark.postgres

LEASE_S = 1.0


def node_settings(tmp_path: Path, name: str, db_url: str, broker_url: str, ami_port: int) -> Settings:
    folder = tmp_path / name
    folder.mkdir()
    settings = tmp_settings(folder)
    settings.db.url = db_url
    settings.ami.port = ami_port  # no [ami] host: no link; the port names the lease
    settings.cluster.broker_url = broker_url
    settings.cluster.node = name
    settings.cluster.lease_s = LEASE_S
    settings.http.session_key = "k" * 40
    return settings


@pytest.fixture
async def db_url(postgres_url: str) -> str:
    await (await _emptied(postgres_url)).dispose()
    await add_agent(postgres_url, "agent1001", "1001", {"support": 5})
    db = Database(postgres_url)
    try:  # a pause reason of the site's own, administered on the admin page
        code = desk_codes.NewCode(desk_codes.CodeKind.PAUSE, "qa_review", "质检", "QA")
        await desk_codes.add_code(db, code)
    finally:
        await db.dispose()
    return postgres_url


async def until(predicate, within_s: float) -> None:
    async with asyncio.timeout(within_s):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_a_standby_takes_over_at_once_when_the_leader_stops_and_logs_its_agents_in_again(
    tmp_path: Path, db_url: str, broker_url: str
) -> None:
    port = free_port()
    first = Hotline(node_settings(tmp_path, "first", db_url, broker_url, port))
    second = Hotline(node_settings(tmp_path, "second", db_url, broker_url, port))
    standing_by: asyncio.Task[None] | None = None
    try:
        await first.start()
        assert first.cluster is not None and first.cluster.leading and first.url
        standing_by = asyncio.create_task(second.start())
        await until(lambda: second.cluster is not None and second.cluster.reader._task is not None, 10)
        await first.acd.login("agent1001", extension="1009")  # at a hot desk
        await first.acd.pause("agent1001", "qa_review")
        await until(lambda: second.cluster is not None and second.cluster.presence.seats() != [], 5)
        assert not standing_by.done() and second.url and not hasattr(second, "acd")

        stopped_at = time.monotonic()
        await first.stop()
        await asyncio.wait_for(standing_by, 15)
        # The lease was released, not left to run out.
        assert time.monotonic() - stopped_at < LEASE_S + 5
        assert second.cluster is not None and second.cluster.leading and second.url
        assert first.exit_status == 0  # it stopped; it was not deposed
        record = second.acd.states.get("agent1001")
        # ... paused with the site's own reason, read before the agents were logged in again, at
        # the desk they had chosen.
        assert (record.state, record.reason, record.extension) == (AgentState.PAUSED, "qa_review", "1009")
    finally:
        await first.stop()
        if standing_by is not None and not standing_by.done():
            second._stopping.set()
            await standing_by
        await second.stop()


async def test_a_standby_asked_to_stop_stops_without_leading(
    tmp_path: Path, db_url: str, broker_url: str
) -> None:
    port = free_port()
    first = Hotline(node_settings(tmp_path, "first", db_url, broker_url, port))
    second = Hotline(node_settings(tmp_path, "second", db_url, broker_url, port))
    try:
        await first.start()
        standing_by = asyncio.create_task(second.start())
        await asyncio.sleep(LEASE_S)
        second._stopping.set()
        await asyncio.wait_for(standing_by, 5)
        assert not hasattr(second, "acd")
    finally:
        await second.stop()
        await first.stop()


async def test_a_leader_whose_lease_is_taken_refuses_switch_actions_and_stops_with_status_3(
    tmp_path: Path, db_url: str, broker_url: str
) -> None:
    port = free_port()
    leader = Hotline(node_settings(tmp_path, "leader", db_url, broker_url, port))
    running = asyncio.create_task(leader.run())
    try:
        await until(lambda: leader.cluster is not None and leader.cluster.leading, 20)
        admin = await asyncpg.connect(asyncpg_dsn(db_url))
        try:
            await admin.execute(
                "UPDATE cluster_leases SET holder = 'elsewhere', epoch = epoch + 1, "
                "expires_at = clock_timestamp() + interval '60 seconds' WHERE name = $1",
                f"switch:none:{port}",
            )
        finally:
            await admin.close()
        await asyncio.wait_for(running, LEASE_S + 5)
        assert leader.exit_status == 3
        with pytest.raises(SwitchUnavailable):
            await leader.acd._switch.hangup("PJSIP/trunk-00000001")
    finally:
        if not running.done():
            leader._stopping.set()
            await running


async def test_cluster_mode_on_sqlite_is_refused_with_a_reason(tmp_path: Path, broker_url: str) -> None:
    settings = tmp_settings(tmp_path)
    settings.cluster.broker_url = broker_url
    hotline = Hotline(settings)
    try:
        with pytest.raises(SettingsError, match="PostgreSQL"):
            await hotline.start()
    finally:
        await hotline.stop()


async def test_after_the_broker_restarts_the_standby_still_learns_who_is_logged_in(
    tmp_path: Path, db_url: str, broker_url: str, redis_server: RedisServer
) -> None:
    port = free_port()
    first = Hotline(node_settings(tmp_path, "first", db_url, broker_url, port))
    second = Hotline(node_settings(tmp_path, "second", db_url, broker_url, port))
    standing_by: asyncio.Task[None] | None = None
    try:
        await first.start()
        standing_by = asyncio.create_task(second.start())
        await until(lambda: second.cluster is not None and second.cluster.reader._task is not None, 10)
        await asyncio.sleep(0.3)
        redis_server.stop()  # no persistence: the stream and the snapshot are gone with it
        await asyncio.sleep(0.5)
        redis_server.start()
        await first.acd.login("agent1001")
        await until(lambda: second.cluster is not None and second.cluster.presence.seats() != [], 10)
        await first.stop()
        await asyncio.wait_for(standing_by, 15)
        assert second.acd.states.get("agent1001").state is AgentState.AVAILABLE
    finally:
        await first.stop()
        if standing_by is not None and not standing_by.done():
            second._stopping.set()
            await standing_by
        await second.stop()
