"""One Hotline node of several: serve from the start, lead once this node holds the switch's lease.

A node started with ``[cluster] broker_url`` set answers at once: its FastAGI runs the IVR
(``handoff.IvrHandoff`` hands the callers to whichever node leads) and its HTTP forwards every
request to the leader (``forward.Forwarder``, at the address the leader advertises here). It
follows the leader's events through the broker (who is logged in, ``presence``) and asks
PostgreSQL for the lease of its Asterisk server. When it wins — at once when no other node leads,
else when the leader's lease runs out — the composition root starts the rest as a single node
does: AMI link, resync (docs/restart.md), ACD; the agents the old leader had logged in are logged
in again before the resync, the callers still waiting whose menus ran on the old leader are given
to the ACD with the queue, skill and priority their IVR chose (the resync knows only the queue),
and the IVR's hand-offs that no leader took are read from the last one acknowledged. While
leading, it publishes its bus's events to the broker, with a snapshot of who is logged in,
advertises its HTTP address, and every switch action passes the lease's fence.
When it loses the lease it stops (``deposed``): a deposed leader restarts as a follower rather
than guessing what changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

from acd.errors import AcdError
from acd.events import AgentStateChanged
from acd.models import AgentState, WaitingCall
from acd.queue_log import DeliveryLog
from acd.service import AcdService
from cti.bus import EventBus
from cti.events import CallAbandoned, CallAnswered, CallEnded
from hotline.cluster.fenced import FencedSwitch
from hotline.cluster.handoff import IvrHandoff, IvrInbox
from hotline.cluster.lease import Deposed, Transition
from hotline.cluster.pg_lease import Elector, PgLeaseStore
from hotline.cluster.presence import Last, Presence
from hotline.cluster.redis_bus import STREAM, Entry, StreamPublisher, StreamReader, connect
from ivr.events import IvrCompleted

log = logging.getLogger(__name__)

LEADER_CACHE_S = 1.0
# Callers the leader's IVR queued whose call is not answered or over yet, remembered by a
# follower: more than a centre has waiting at once.
MAX_WAITING_REMEMBERED = 10_000


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
        self._lease_s = lease_s
        self.handoff: IvrHandoff | None = None
        self.inbox = IvrInbox(self.redis, bus, publisher=self.publisher)
        self._advertiser: asyncio.Task[None] | None = None
        self._leader: tuple[float, str | None] = (0.0, None)
        self._written: dict[str, Last] = {}  # each agent's last state this leader put in the snapshot
        self._ivr_waiting: OrderedDict[str, IvrCompleted] = OrderedDict()  # call → what its IVR chose
        # The leader's queue_log, followed (its lines are the leader's to write): a new leader's
        # writer goes on from it, so calls answered before the takeover are completed.
        self.deliveries = DeliveryLog(lambda _queue: True)

    async def follow(self, ivr_bus: EventBus) -> None:
        """Hand the IVR's callers on (to the stream until this node leads)."""
        self.handoff = IvrHandoff(ivr_bus, self.bus, self.redis, node=self.node)
        await self.handoff.start()

    def fence(self, switch: Any) -> FencedSwitch:
        return FencedSwitch(switch, self.elector.may_act)

    async def wait_for_lease(self, stopping: asyncio.Event, *, url: str = "") -> bool:
        """Follow the leader and wait for the lease; False when ``stopping`` came first."""
        await self.reader.start()
        await self.elector.start()
        log.info("cluster_standby", extra={"kv": {"node": self.node, "lease": self.elector.name, "url": url}})
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

    async def take_over(self, acd: AcdService, waiting: Callable[[IvrCompleted], WaitingCall | None]) -> None:
        """Lead: publish this node's events, log in again who was logged in (held in wrap-up
        when they kept a wrap-up form open: the desktop has told the ACD by then), and give the
        ACD what the old leader's IVR chose for the callers still waiting (``waiting``: the IVR's
        news as the ACD takes it), ready for the resync that finds them queued."""
        self.leading = True
        await self.publisher.start()
        seats = self.presence.seats()
        for seat in seats:
            try:
                if acd.states.get(seat.agent).state is not AgentState.LOGGED_OUT:
                    continue
                await acd.login(seat.agent, extension=seat.desk, paused_reason=seat.paused_reason)
            except AcdError as exc:
                fields = {"agent": seat.agent, "error": str(exc)}
                log.warning("cluster_login_not_restored", extra={"kv": fields})
        for event in self._ivr_waiting.values():
            call = waiting(event)
            if call is not None:
                await acd.call_waiting(call)
        log.info(
            "cluster_took_over",
            extra={"kv": {"node": self.node, "epoch": self.elector.epoch, "agents": len(seats)}},
        )

    async def take_ivr(self) -> None:
        """Lead the IVR's hand-offs: this node's straight to its bus, the others' (and those no
        leader took) from the stream. Called once the bus's consumers are subscribed."""
        assert self.handoff is not None, "follow() first"
        self.handoff.lead()
        await self.inbox.start()

    def advertise(self, url: str) -> None:
        """Tell the followers where to forward their pages and API, and keep telling them (a
        broker restarted without its data forgets); keep the snapshot of who is logged in whole
        for the same reason."""

        async def keep() -> None:
            record = json.dumps({"node": self.node, "epoch": self.elector.epoch, "url": url})
            while self.leading and self.elector.may_act():
                try:
                    await self.redis.set(leader_key(self.stream), record)
                    await self._keep_snapshot_whole()
                except (RedisError, OSError) as exc:
                    error = str(exc) or type(exc).__name__
                    log.warning("cluster_broker_unreachable", extra={"kv": {"error": error}})
                await asyncio.sleep(self._lease_s / 2)

        self._advertiser = asyncio.create_task(keep(), name="cluster-advertise")

    async def leader_url(self) -> str | None:
        """Where the leader serves HTTP, as it last said (read again at most every second)."""
        read_at, url = self._leader
        if time.monotonic() - read_at < LEADER_CACHE_S:
            return url
        try:
            record = await self.redis.get(leader_key(self.stream))
            url = json.loads(record)["url"] if record else None
        except (RedisError, OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("cluster_leader_unknown", extra={"kv": {"error": str(exc) or type(exc).__name__}})
            url = None
        self._leader = (time.monotonic(), url)
        return url

    def forget_leader(self) -> None:
        """The address did not answer: read it again at the next request."""
        self._leader = (0.0, None)

    async def stop(self) -> None:
        """Send what waits, then hand the lease back (the next node takes over at once)."""
        if self._advertiser is not None:
            self._advertiser.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._advertiser
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(1.0):
                    record = await self.redis.get(leader_key(self.stream))
                    if self.leading and record and json.loads(record).get("node") == self.node:
                        await self.redis.delete(leader_key(self.stream))
        await self.inbox.stop()
        await self.reader.stop()
        if self.handoff is not None:
            await self.handoff.stop()
        await self.publisher.stop()
        await self.elector.stop()
        self.leading = False
        with contextlib.suppress(RedisError, OSError):
            await self.redis.aclose()

    def _followed(self, entry: Entry) -> None:
        event = entry.event
        self.presence.apply(event)
        self.deliveries.feed(event)
        if isinstance(event, IvrCompleted):
            self._ivr_waiting[event.call_id] = event
            if len(self._ivr_waiting) > MAX_WAITING_REMEMBERED:
                self._ivr_waiting.popitem(last=False)
        elif isinstance(event, CallAnswered | CallEnded | CallAbandoned):
            self._ivr_waiting.pop(event.call_id, None)

    def _also(self, pipe: Any, event: object) -> None:
        if isinstance(event, AgentStateChanged):
            last = Last(event.state, event.reason, event.interface, event.desk)
            self._written[event.agent] = last
            pipe.hset(f"{self.stream}:presence", event.agent, last.dumps())

    async def _keep_snapshot_whole(self) -> None:
        """Write the whole snapshot again when the broker lost it (restarted without its data):
        an agent's event writes only that agent, so after such a restart the snapshot would name
        only the agents changed since, and a node started then would log in only those."""
        marker = f"{self.stream}:presence:whole"
        if await self.redis.exists(marker):
            return
        pipe = self.redis.pipeline(transaction=True)
        if self._written:
            seats = {agent: last.dumps() for agent, last in self._written.items()}
            pipe.hset(f"{self.stream}:presence", mapping=seats)
        pipe.set(marker, self.node)
        await pipe.execute()

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


def leader_key(stream: str) -> str:
    return f"{stream}:leader"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
