"""One Hotline node of several: stand by until this node holds the switch's lease, then lead.

A node started with ``[cluster] broker_url`` set does not drive anything at first: it follows the
leader's events through the broker (who is logged in, ``presence``) and asks PostgreSQL for the
lease of its Asterisk server. When it wins — at once when no other node leads, else when the
leader's lease runs out — the composition root starts as a single node does: AMI link, resync
(docs/restart.md), ACD; the agents the old leader had logged in are logged in again before the
resync. While leading, it publishes its bus's events to the broker, with a snapshot of who is
logged in, and every switch action passes the lease's fence. When it loses the lease it stops
(``deposed``): a deposed leader restarts as a standby rather than guessing what changed.
A standby serves nothing, FastAGI included (its IVR's callers would reach no ACD): the dialplan's
second address, ``HOTLINE_AGI_2``, reaches this node's IVR once it leads (docs/scale.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from typing import Any

from redis.exceptions import RedisError

from acd.errors import AcdError
from acd.events import AgentStateChanged
from acd.models import AgentState
from acd.service import AcdService
from cti.bus import EventBus
from hotline.cluster.fenced import FencedSwitch
from hotline.cluster.lease import Deposed, Transition
from hotline.cluster.pg_lease import Elector, PgLeaseStore
from hotline.cluster.presence import Last, Presence
from hotline.cluster.redis_bus import STREAM, Entry, StreamPublisher, StreamReader, connect

log = logging.getLogger(__name__)


def node_name(configured: str) -> str:
    """The configured name, else one unique to this process (a restart is a new node)."""
    return configured or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def lease_name(ami_host: str, ami_port: int) -> str:
    return f"switch:{ami_host or 'none'}:{ami_port}"


class ClusterNode:
    def __init__(
        self,
        bus: EventBus,
        *,
        db_url: str,
        broker_url: str,
        lease: str,
        node: str = "",
        lease_s: float = 3.0,
        stream: str = STREAM,
    ) -> None:
        self.bus = bus
        self.node = node_name(node)
        self.stream = stream
        self.redis = connect(broker_url)
        self.presence = Presence()
        self.elector = Elector(
            PgLeaseStore(db_url), name=lease, node=self.node, ttl_s=lease_s, on_change=self._changed
        )
        self.reader = StreamReader(
            self.redis, node=self.node, stream=stream, on_event=self._followed, resync=self._snapshot
        )
        self.publisher = StreamPublisher(
            bus, self.redis, node=self.node, epoch=lambda: self.elector.epoch, stream=stream, also=self._also
        )
        self.leading = False
        self.deposed = asyncio.Event()

    def fence(self, switch: Any) -> FencedSwitch:
        return FencedSwitch(switch, self.elector.may_act)

    async def wait_for_lease(self, stopping: asyncio.Event) -> bool:
        """Follow the leader and wait for the lease; False when ``stopping`` came first."""
        await self.reader.start()
        await self.elector.start()
        log.info("cluster_standby", extra={"kv": {"node": self.node, "lease": self.elector.name}})
        elected = asyncio.ensure_future(self.elector.elected.wait())
        stopped = asyncio.ensure_future(stopping.wait())
        try:
            await asyncio.wait({elected, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (elected, stopped):
                waiter.cancel()
        if not self.elector.elected.is_set():
            return False
        # Read what the old leader sent last, so the agents it had logged in are logged in again.
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(1.0):
                while await self.reader.read_once():
                    pass
        await self.reader.stop()
        return True

    async def take_over(self, acd: AcdService) -> None:
        """Lead: publish this node's events, and log in again who was logged in."""
        self.leading = True
        await self.publisher.start()
        seats = self.presence.seats()
        for seat in seats:
            try:
                if acd.states.get(seat.agent).state is not AgentState.LOGGED_OUT:
                    continue
                await acd.login(seat.agent, paused_reason=seat.paused_reason)
            except AcdError as exc:
                fields = {"agent": seat.agent, "error": str(exc)}
                log.warning("cluster_login_not_restored", extra={"kv": fields})
        log.info(
            "cluster_took_over",
            extra={"kv": {"node": self.node, "epoch": self.elector.epoch, "agents": len(seats)}},
        )

    async def stop(self) -> None:
        """Send what waits, then hand the lease back (the next node takes over at once)."""
        await self.reader.stop()
        await self.publisher.stop()
        await self.elector.stop()
        self.leading = False
        with contextlib.suppress(RedisError, OSError):
            await self.redis.aclose()

    def _followed(self, entry: Entry) -> None:
        self.presence.apply(entry.event)

    def _also(self, pipe: Any, event: object) -> None:
        if isinstance(event, AgentStateChanged):
            last = Last(event.state, event.reason, event.interface)
            pipe.hset(f"{self.stream}:presence", event.agent, last.dumps())

    async def _snapshot(self) -> str:
        """Who is logged in as the leader last wrote it, and the stream id it stands for."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hgetall(f"{self.stream}:presence")
        pipe.xrevrange(self.stream, count=1)
        seats, last = await pipe.execute()
        self.presence.replace({_text(agent): Last.loads(value) for agent, value in seats.items()})
        log.info("cluster_presence_resynced", extra={"kv": {"agents": len(seats)}})
        return _text(last[0][0]) if last else "0"

    def _changed(self, transition: Transition) -> None:
        if isinstance(transition, Deposed) and self.leading:
            self.leading = False
            self.deposed.set()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
