"""A follower serves while another node leads: its pages and API are the leader's (forwarded), its
IVR's callers reach the leader's ACD, and callers whose menus ended while no node read them reach
the next leader; what a leader already took is not taken twice."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from acd.models import AgentState
from crm import accounts
from crm.accounts import NewAccount, Role
from crm.db import Database
from crm.kinds import Channel
from crm.reporting.tables import IvrSessionRow
from crm.restart_state import PendingWrapup, RestartState
from cti.events import CallAnswered, CallEnded, CallQueued, EndCause
from hotline.app import Hotline
from ivr.events import CallbackRequested, IvrCompleted, IvrOutcome
from tests.cluster.test_node import node_settings, until
from tests.crm.conftest import _emptied
from tests.e2e.system import free_port

pytestmark = pytest.mark.postgres

PASSWORD = "a-long-password"


@pytest.fixture
async def db_url(postgres_url: str) -> str:
    db = await _emptied(postgres_url)
    try:
        cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
        await accounts.create_account(
            db,
            NewAccount("agent1001", cheap, frozenset({Role.AGENT}), extension="1001", skills={"support": 5}),
        )
    finally:
        await db.dispose()
    return postgres_url


def completed(call_id: str, caller: str) -> IvrCompleted:
    return IvrCompleted(
        at=datetime.now(UTC),
        call_id=call_id,
        channel=f"PJSIP/trunk-{call_id}",
        caller=caller,
        dialed="4008",
        path=(),
        queue="support",
        skill="support",
        priority=3,
        language="zh",
        customer_id=None,
        outcome=IvrOutcome.CALLBACK,
    )


def callback(call_id: str, number: str) -> CallbackRequested:
    return CallbackRequested(
        at=datetime.now(UTC),
        call_id=call_id,
        channel=f"PJSIP/trunk-{call_id}",
        number=number,
        queue="support",
        skill="support",
        priority=3,
        language="zh",
        customer_id=None,
    )


async def ivr_sessions(db_url: str) -> list[str]:
    db = Database(db_url)
    try:
        async with db.read() as session:
            return sorted((await session.scalars(select(IvrSessionRow.call_id))).all())
    finally:
        await db.dispose()


async def test_the_followers_pages_and_websocket_are_the_leaders(
    tmp_path: Path, db_url: str, broker_url: str
) -> None:
    port = free_port()
    leader = Hotline(node_settings(tmp_path, "leader", db_url, broker_url, port))
    follower = Hotline(node_settings(tmp_path, "follower", db_url, broker_url, port))
    following: asyncio.Task[None] | None = None
    try:
        await leader.start()
        following = asyncio.create_task(follower.start())
        await until(lambda: bool(follower.url), 15)
        assert follower.url != leader.url and not hasattr(follower, "acd")
        async with aiohttp.ClientSession(
            base_url=follower.url, cookie_jar=aiohttp.CookieJar(unsafe=True)
        ) as page:
            async with page.post("/api/session", json={"username": "agent1001", "password": PASSWORD}) as r:
                assert r.status == 200, await r.text()
                csrf = (await r.json())["csrf_token"]
            async with page.post("/api/agent/login", json={}, headers={"X-CSRF-Token": csrf}) as r:
                assert r.status == 200, await r.text()
            # Logged in on the leader's ACD, through the follower.
            assert leader.acd.states.get("agent1001").state is AgentState.AVAILABLE
            async with page.ws_connect("/api/ws") as ws, asyncio.timeout(5):
                while (frame := await ws.receive_json())["type"] != "hello":
                    pass
                assert frame["status"]["agent"] == "agent1001"
                assert frame["status"]["state"] == "available"
                await leader.acd.pause("agent1001", "training")  # the leader's news reach the page
                while (frame := await ws.receive_json()).get("type") != "state":
                    pass
                assert frame["state"] == "paused" and frame["reason"] == "training"
            async with page.get("/agent") as r:
                assert r.status == 200 and "text/html" in r.headers["Content-Type"]
        # The agent is available with a wrap-up not yet saved (kept across nodes in the database):
        # the node taking over logs them in again held in wrap-up, as a log-in would.
        await leader.acd.ready("agent1001")
        await RestartState(leader.db).keep_wrapup(
            PendingWrapup(
                "agent1001", "c-9", None, "13800000009", (), False, Channel.CALL_IN, datetime.now(UTC)
            )
        )
        await leader.stop()
        await asyncio.wait_for(following, 15)
        record = follower.acd.states.get("agent1001")
        assert record.state is AgentState.WRAP_UP
    finally:
        await leader.stop()
        follower._stopping.set()
        if following is not None and not following.done():
            await following
        await follower.stop()


async def test_ivr_callers_reach_the_leader_and_those_no_leader_took_reach_the_next_one_once(
    tmp_path: Path, db_url: str, broker_url: str
) -> None:
    port = free_port()
    first = Hotline(node_settings(tmp_path, "first", db_url, broker_url, port))
    second = Hotline(node_settings(tmp_path, "second", db_url, broker_url, port))
    following: asyncio.Task[None] | None = None
    try:
        await first.start()
        taken = first.bus.subscribe("test-ivr", IvrCompleted, CallbackRequested)
        received = second.bus.subscribe("test-received", IvrCompleted)  # once it leads
        following = asyncio.create_task(second.start())
        await until(lambda: second.cluster is not None and second.cluster.handoff is not None, 15)
        await until(lambda: hasattr(second, "ivr"), 15)

        # A caller whose menus ran on the follower: the leader's ACD takes the callback.
        second.ivr.bus.publish(completed("c-1", "13800000001"))
        second.ivr.bus.publish(callback("c-1", "13800000001"))
        async with asyncio.timeout(10):
            assert (await taken.get()).call_id == "c-1"
            assert isinstance(await taken.get(), CallbackRequested)
        await until(lambda: [v.request.number for v in first.acd.callbacks_waiting()] == ["13800000001"], 5)
        await asyncio.sleep(2.5)  # acknowledged, one period behind

        # The leader stops reading (as a leader that died would); a second caller's menus end.
        assert first.cluster is not None
        await first.cluster.inbox.stop()
        second.ivr.bus.publish(completed("c-2", "13800000002"))
        second.ivr.bus.publish(callback("c-2", "13800000002"))
        await asyncio.sleep(0.5)
        assert taken.pending() == 0
        await first.stop()
        await asyncio.wait_for(following, 15)

        # The new leader took the caller no leader had taken, and not the one already taken.
        assert second.cluster is not None and second.cluster.leading
        await until(lambda: "13800000002" in [v.request.number for v in second.acd.callbacks_waiting()], 5)
        async with asyncio.timeout(5):
            assert (await received.get()).call_id == "c-2"
        # Each session is in the IVR report once: written by the leader that took it.
        async with asyncio.timeout(10):
            while (rows := await ivr_sessions(db_url)) != ["c-1", "c-2"]:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        # From now on this node's own IVR goes straight to its own bus, and only there.
        second.ivr.bus.publish(completed("c-3", "13800000003"))
        assert received.get_nowait().call_id == "c-3"
        await asyncio.sleep(1.0)
        assert received.pending() == 0
        assert rows == ["c-1", "c-2"]
    finally:
        await first.stop()
        second._stopping.set()
        if following is not None and not following.done():
            await following
        await second.stop()


def completed_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    lost = [r.kv for r in caplog.records if r.msg == "queue_log_line_lost"]  # type: ignore[attr-defined]
    return [kv["call_id"] for kv in lost if kv["event"] == "COMPLETECALLER"]


async def test_a_caller_the_old_leaders_ivr_queued_keeps_its_skill_and_priority_with_the_new_leader(
    tmp_path: Path, db_url: str, broker_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    first = Hotline(node_settings(tmp_path, "first", db_url, broker_url, port))
    second = Hotline(node_settings(tmp_path, "second", db_url, broker_url, port))
    following: asyncio.Task[None] | None = None
    try:
        await first.start()
        following = asyncio.create_task(second.start())
        await until(lambda: second.cluster is not None and second.cluster.reader._task is not None, 15)
        await first.acd.login("agent1001")  # seen by the follower: it reads the leader's events
        await until(lambda: second.cluster.presence.seats() != [], 10)
        await first.acd.pause("agent1001", "lunch")  # the callers below stay waiting
        # Two callers whose menus ran on the leader: one still waits, one was answered since.
        waiting = replace(
            completed("c-9", "13800000009"), outcome=IvrOutcome.QUEUED, skill="billing", priority=7
        )
        answered = replace(waiting, call_id="c-8")
        first.ivr.bus.publish(waiting)
        first.ivr.bus.publish(answered)
        first.bus.publish(CallQueued(datetime.now(UTC), "c-8", "support", 1))
        first.bus.publish(CallAnswered(datetime.now(UTC), "c-8", "PJSIP/1001", "support", 3.0))
        await until(lambda: "c-9" in second.cluster._ivr_waiting, 5)
        await first.stop()  # as a leader that died: the switch still holds the callers
        await asyncio.wait_for(following, 15)
        assert list(second.cluster._ivr_waiting) == ["c-9"]  # all read before leading; c-8 answered

        # The new leader's resync finds the caller in the queue: the IVR's choices are theirs.
        second.bus.publish(CallQueued(datetime.now(UTC), "c-9", "support", 1))
        await until(lambda: second.acd.router.call("c-9") is not None, 5)
        call = second.acd.router.call("c-9")
        assert (call.skill, call.priority, call.caller) == ("billing", 7, "13800000009")
        assert second.acd.router.call("c-8") is None

        # The call answered under the old leader ends: the new one completes it in queue_log
        # (here the line cannot reach a switch, and says so).
        with caplog.at_level(logging.WARNING, logger="acd.queue_log_writer"):
            second.bus.publish(CallEnded(datetime.now(UTC), "c-8", EndCause.NORMAL, 30.0))
            await until(lambda: completed_lines(caplog) != [], 5)
        assert completed_lines(caplog) == ["c-8"]
    finally:
        await first.stop()
        second._stopping.set()
        if following is not None and not following.done():
            await following
        await second.stop()
