"""Leadership on PostgreSQL: a row per lease with its holder, epoch and expiry, on a dedicated
connection, and the ``Elector`` that asks for the lease on a timer and drives the ``LeaseCore``.

Why a row and not an advisory lock: an advisory lock lives as long as its holder's connection,
and the connection of a paused process (SIGSTOP, a machine stalled in swap) stays open until TCP
gives up, minutes later; the lock would keep every other node waiting for that long. A row with
an expiry counted on the database's clock ends on time whatever the holder's state, and its epoch
column is the fencing number.

The table is the cluster's own (``cluster_leases``), made by ``ensure_table`` when a node starts
in cluster mode: it is operational state, not CRM data, and a single-node site never has it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Protocol

import asyncpg

from hotline.cluster.lease import Deposed, Elected, LeaseCore, Transition

log = logging.getLogger(__name__)

CREATE = """
CREATE TABLE IF NOT EXISTS cluster_leases (
    name text PRIMARY KEY,
    holder text NOT NULL,
    epoch bigint NOT NULL,
    expires_at timestamptz NOT NULL
)
"""

# One statement acquires a free or expired lease (the epoch goes up) or renews the caller's own
# (same holder, same epoch, not expired: the epoch stays). Anything else changes nothing and
# returns no row: another node holds the lease.
CLAIM = """
INSERT INTO cluster_leases AS l (name, holder, epoch, expires_at)
VALUES ($1, $2, 1, clock_timestamp() + make_interval(secs => $3))
ON CONFLICT (name) DO UPDATE
   SET holder = EXCLUDED.holder,
       epoch = CASE WHEN l.holder = EXCLUDED.holder AND l.epoch = $4 AND l.expires_at > clock_timestamp()
                    THEN l.epoch ELSE l.epoch + 1 END,
       expires_at = EXCLUDED.expires_at
 WHERE l.expires_at <= clock_timestamp() OR (l.holder = EXCLUDED.holder AND l.epoch = $4)
RETURNING l.epoch
"""

RELEASE = (
    "UPDATE cluster_leases SET expires_at = clock_timestamp() WHERE name = $1 AND holder = $2 AND epoch = $3"
)


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL of the settings (postgresql+asyncpg://...) as asyncpg takes it."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.startswith("postgresql"):
        raise ValueError(f"cluster mode needs a PostgreSQL database, not {scheme or url!r}")
    return f"postgresql://{rest}"


class LeaseStore(Protocol):
    async def claim(self, name: str, holder: str, ttl_s: float, held_epoch: int) -> int | None: ...

    async def release(self, name: str, holder: str, epoch: int) -> None: ...

    async def close(self) -> None: ...


class PgLeaseStore:
    """The lease table over one dedicated asyncpg connection, opened again when it is lost."""

    def __init__(self, url: str, *, timeout_s: float = 2.0) -> None:
        self._dsn = asyncpg_dsn(url)
        self._timeout_s = timeout_s
        self._connection: asyncpg.Connection | None = None

    async def _connected(self) -> asyncpg.Connection:
        if self._connection is None or self._connection.is_closed():
            self._connection = await asyncpg.connect(self._dsn, timeout=self._timeout_s)
            await self._connection.execute(CREATE, timeout=self._timeout_s)
        return self._connection

    async def claim(self, name: str, holder: str, ttl_s: float, held_epoch: int) -> int | None:
        try:
            connection = await self._connected()
            return await connection.fetchval(CLAIM, name, holder, ttl_s, held_epoch, timeout=self._timeout_s)
        except BaseException:
            await self._drop()
            raise

    async def release(self, name: str, holder: str, epoch: int) -> None:
        connection = await self._connected()
        await connection.execute(RELEASE, name, holder, epoch, timeout=self._timeout_s)

    async def backend_pid(self) -> int | None:
        """The server process of the dedicated connection (tests end it to cut the link)."""
        return self._connection.get_server_pid() if self._connection is not None else None

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.terminate()

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), self._timeout_s)


Listener = Callable[[Transition], None]


class Elector:
    """Asks for the lease every ``renew_every_s`` and tells ``on_change`` of every election and
    deposal. ``may_act()`` is the fence the switch checks before each action."""

    def __init__(
        self,
        store: LeaseStore,
        *,
        name: str,
        node: str,
        ttl_s: float,
        renew_every_s: float | None = None,
        margin_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_change: Listener | None = None,
    ) -> None:
        self.store = store
        self.name = name
        self.node = node
        self.core = LeaseCore(ttl_s, ttl_s / 5 if margin_s is None else margin_s)
        self.renew_every_s = ttl_s / 4 if renew_every_s is None else renew_every_s
        self._clock = clock
        self._listeners: list[Listener] = [on_change] if on_change is not None else []
        self._task: asyncio.Task[None] | None = None
        self.elected = asyncio.Event()

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    @property
    def epoch(self) -> int:
        return self.core.epoch

    @property
    def leading(self) -> bool:
        return self.may_act()

    def may_act(self) -> bool:
        """True while this node holds a lease it may act on; steps down first if it has run out."""
        self._emit(self.core.check(self._clock()))
        return self.core.may_act(self._clock())

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"lease-{self.name}")

    async def stop(self, *, release: bool = True) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if release and self.core.may_act(self._clock()):
            # Handed back, not lost: the next node need not wait out the lease time.
            epoch = self.core.epoch
            self.core.refused()
            self.elected.clear()
            with contextlib.suppress(Exception):
                await self.store.release(self.name, self.node, epoch)
            log.info(
                "cluster_released", extra={"kv": {"lease": self.name, "node": self.node, "epoch": epoch}}
            )
        await self.store.close()

    async def step(self) -> None:
        """One round: check the deadline, ask the store, apply its answer."""
        self._emit(self.core.check(self._clock()))
        asked_at = self._clock()
        try:
            async with asyncio.timeout(self.renew_every_s):
                epoch = await self.store.claim(self.name, self.node, self.core.ttl_s, self.core.held_epoch())
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning(
                "cluster_lease_unreachable",
                extra={"kv": {"lease": self.name, "error": str(exc) or type(exc).__name__}},
            )
            self._emit(self.core.check(self._clock()))
            return
        if epoch is None:
            self._emit(self.core.refused())
        else:
            self._emit(self.core.granted(asked_at, int(epoch)))
        self._emit(self.core.check(self._clock()))

    async def _run(self) -> None:
        while True:
            started = self._clock()
            try:
                await self.step()
            except Exception:  # never silently: a dead elector would leave the lease to run out
                log.exception("cluster_lease_step_failed", extra={"kv": {"lease": self.name}})
            delay = self.renew_every_s - (self._clock() - started)
            if self.core.may_act(self._clock()):
                # Wake in time to step down at the deadline even if the store stays silent.
                delay = min(delay, self.core.deadline - self.core.margin_s - self._clock())
            await asyncio.sleep(max(delay, 0.0))

    def _emit(self, transition: Transition | None) -> None:
        if transition is None:
            return
        if isinstance(transition, Elected):
            self.elected.set()
            log.info(
                "cluster_elected",
                extra={"kv": {"lease": self.name, "node": self.node, "epoch": transition.epoch}},
            )
        elif isinstance(transition, Deposed):
            self.elected.clear()
            log.warning(
                "cluster_deposed",
                extra={
                    "kv": {
                        "lease": self.name,
                        "node": self.node,
                        "epoch": transition.epoch,
                        "reason": transition.reason,
                    }
                },
            )
        for listener in self._listeners:
            try:
                listener(transition)
            except Exception:
                log.exception("cluster_listener_failed")
