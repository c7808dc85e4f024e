"""Leadership on a real PostgreSQL: two contenders, one wins; the leader's connection cut or the
leader paused; the other takes over within the lease time; the old one refuses to act; epochs
grow. The fence in front of the switch refuses actions once the lease has run out."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from cti.errors import SwitchUnavailable
from hotline.cluster.fenced import FencedSwitch
from hotline.cluster.lease import Deposed, Elected, Transition
from hotline.cluster.pg_lease import Elector, PgLeaseStore, asyncpg_dsn
from tests.cluster.conftest import close_transport

pytestmark = pytest.mark.postgres

TTL_S = 1.0
REPO = Path(__file__).resolve().parents[2]


def elector(url: str, name: str, node: str, seen: list[Transition] | None = None) -> Elector:
    return Elector(
        PgLeaseStore(url),
        name=name,
        node=node,
        ttl_s=TTL_S,
        on_change=seen.append if seen is not None else None,
    )


async def until(predicate, within_s: float) -> float:
    started = time.monotonic()
    async with asyncio.timeout(within_s):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_of_two_contenders_exactly_one_leads(postgres_url: str) -> None:
    a, b = elector(postgres_url, "two", "a"), elector(postgres_url, "two", "b")
    await asyncio.gather(a.start(), b.start())
    try:
        await until(lambda: a.leading or b.leading, 5)
        for _ in range(3 * 4):  # three lease times of renewals: still one, the same one
            assert a.leading != b.leading
            await asyncio.sleep(TTL_S / 4)
        leader = a if a.leading else b
        assert leader.epoch >= 1
    finally:
        await asyncio.gather(a.stop(), b.stop())


async def test_a_paused_leader_is_replaced_within_the_lease_time_and_refuses_to_act(
    postgres_url: str,
) -> None:
    seen: list[Transition] = []
    old, new = elector(postgres_url, "pause", "old", seen), elector(postgres_url, "pause", "new")
    await old.start()
    await until(lambda: old.leading, 5)
    first_epoch = old.epoch
    calls: list[str] = []

    class Switch:
        async def redirect(self, channel: str) -> None:
            calls.append(channel)

    fenced = FencedSwitch(Switch(), old.may_act)
    await fenced.redirect("PJSIP/trunk-1")
    assert calls == ["PJSIP/trunk-1"]

    # The old leader's process stops running (as under SIGSTOP): its renewals stop with it.
    assert old._task is not None
    old._task.cancel()
    paused_at = time.monotonic()
    await new.start()
    try:
        took = await until(lambda: new.leading, 5)
        assert time.monotonic() - paused_at < TTL_S + 1.0, took
        assert new.epoch > first_epoch
        # It resumes: the first action it tries is refused by its own deadline, before any
        # question to the database, and it has stepped down.
        with pytest.raises(SwitchUnavailable):
            await fenced.redirect("PJSIP/trunk-2")
        assert calls == ["PJSIP/trunk-1"]
        assert seen == [Elected(first_epoch), Deposed(first_epoch, "expired")]
        # Asking again, it learns that another node holds the lease, and stays a follower.
        await old.step()
        assert not old.leading and new.leading
    finally:
        await asyncio.gather(old.stop(), new.stop())


async def test_a_leader_whose_connection_is_cut_gets_it_back_or_hands_over_in_time(postgres_url: str) -> None:
    a, b = elector(postgres_url, "cut", "a"), elector(postgres_url, "cut", "b")
    await a.start()
    await until(lambda: a.leading, 5)
    await b.start()
    try:
        epoch = a.epoch
        pid = await a.store.backend_pid()  # type: ignore[attr-defined]
        admin = await asyncpg.connect(asyncpg_dsn(postgres_url))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
            # The leader opens a new connection and renews its own lease: no change of leader
            # for a blip shorter than the lease.
            await asyncio.sleep(TTL_S * 1.5)
            assert a.leading and not b.leading and a.epoch == epoch
            assert await a.store.backend_pid() != pid  # type: ignore[attr-defined]

            # Now the leader's connections are refused for good (its database user is locked out).
            a.store._dsn = a.store._dsn.replace("postgres@", "nobody@")  # type: ignore[attr-defined]
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", await a.store.backend_pid())  # type: ignore[attr-defined]
            cut_at = time.monotonic()
            await until(lambda: b.leading, TTL_S + 2)
            assert time.monotonic() - cut_at < TTL_S + 1.0
            assert not a.leading
            assert b.epoch == epoch + 1
        finally:
            await admin.close()
    finally:
        await asyncio.gather(a.stop(), b.stop())


async def test_epochs_grow_with_every_new_holder_and_survive_the_holders(postgres_url: str) -> None:
    epochs = []
    for node in ("x", "y", "x-again"):
        one = elector(postgres_url, "grow", node)
        await one.start()
        await until(lambda one=one: one.leading, 5)
        epochs.append(one.epoch)
        await one.stop()  # releases the lease: the next node need not wait out the lease time
    assert epochs == sorted(set(epochs)) and len(epochs) == 3


async def test_a_leader_process_stopped_with_sigstop_acts_no_more_after_sigcont(postgres_url: str) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.cluster.lease_holder", postgres_url, "sigstop", str(TTL_S),
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert holder.stdout is not None
    lines: list[str] = []

    async def read() -> None:
        assert holder.stdout is not None
        while line := await holder.stdout.readline():
            lines.append(line.decode().strip())

    reader = asyncio.create_task(read())
    other = elector(postgres_url, "sigstop", "other")
    try:
        await until(lambda: any(line.startswith("acted") for line in lines), 30)
        holder.send_signal(signal.SIGSTOP)
        await other.start()
        await until(lambda: other.leading, TTL_S + 2)
        # Stamped before SIGCONT: an act begun while SIGSTOP was landing is not what this tests.
        continued_at = time.time()
        holder.send_signal(signal.SIGCONT)
        await until(lambda: any(line.startswith("deposed") for line in lines), 5)
        await asyncio.sleep(0.3)
        acted_after = [
            line for line in lines if line.startswith("acted") and float(line.split()[1]) > continued_at
        ]
        assert acted_after == [], lines[-5:]
        assert any(line.startswith("refused") for line in lines)
        assert other.leading
    finally:
        holder.kill()
        await holder.wait()
        await reader
        close_transport(holder)
        await other.stop()
