"""The thin shell around the call tracker: AMI link in, domain events out on the bus.

Events read from the link go through ``tracker.feed`` and what it returns is published. After
every login the service publishes ``SwitchConnected``, asks Asterisk what it is doing now
(CoreShowChannels, QueueStatus, BridgeList, concurrently), hands the ``SwitchSnapshot`` to
``tracker.resync`` — which ends the calls that ended while the link was down — and publishes its
events (``SwitchResynced`` last). Events that arrive while the snapshot is being gathered are
held and fed after the resync, so the tracker sees them in the order they happened *after* the
picture they follow. A lost link publishes ``SwitchDisconnected``.

One service per Asterisk server, known by the server's ``systemname`` (the prefix of its ids,
cti.events.server_of), asked after every login: learnt when the server is the only one; with
several, checked against the name configured, and a server with another name is left alone
(two servers of one name would make the same call ids).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from cti.ami_link import AmiLink, AmiLinkConfig
from cti.ami_protocol import AmiMessage, EventFilter
from cti.ami_switch import AmiSwitch
from cti.errors import AmiActionFailed
from cti.events import SwitchConnected, SwitchDisconnected, SwitchEvent
from cti.snapshot import SwitchSnapshot

log = logging.getLogger(__name__)

# Events held while a resync is in flight. Asterisk at 10,000 events/s for the few seconds a
# resync takes stays well below this; past it the resync is hopeless, so the connection is
# dropped and the next one resyncs afresh rather than holding memory without bound.
MAX_HELD_EVENTS = 200_000


class CallTracking(Protocol):
    """What the service needs of the call tracker (``cti.tracker.CallTracker``)."""

    server: str  # the systemname of the server it follows

    def feed(self, message: AmiMessage) -> list[SwitchEvent]: ...

    def resync(self, snapshot: SwitchSnapshot) -> list[SwitchEvent]: ...

    def open_call_ids(self) -> set[str]: ...

    def has_channel(self, name: str) -> bool: ...

    def homes(self, interface: str) -> bool: ...


class Publisher(Protocol):
    def publish(self, event: object) -> None: ...


class CtiService:
    """Owns the AMI link, feeds the tracker, publishes on the bus. ``start()`` / ``stop()``."""

    def __init__(
        self,
        config: AmiLinkConfig,
        bus: Publisher,
        tracker: CallTracking,
        *,
        clock: Callable[[], datetime] | None = None,
        wanted: EventFilter | None = None,
        name: str | None = None,
    ) -> None:
        # The systemname the server must have (one of several); None: it is learnt (the only one).
        self._expected_name = name
        self.name = name or ""
        self._bus = bus
        self.tracker = tracker
        self._clock = clock or (lambda: datetime.now(UTC))
        self._held: list[AmiMessage] | None = None
        self.link = AmiLink(
            config,
            on_events=self._on_events,
            on_connected=self._on_connected,
            on_disconnected=self._on_disconnected,
            wanted=wanted,
        )
        self.switch = AmiSwitch(self.link)

    def has_channel(self, name: str) -> bool:
        return self.tracker.has_channel(name)

    def homes(self, interface: str) -> bool:
        return self.tracker.homes(interface)

    async def start(self) -> None:
        """Start the link; it connects, resyncs and reconnects on its own from now on."""
        if not self.link.config.host:
            log.warning("ami_not_configured", extra={"kv": {"hint": "set [ami] host to reach Asterisk"}})
            return
        await self.link.start()

    async def stop(self) -> None:
        """Stop the link (pending actions fail with SwitchUnavailable); nothing is fed after."""
        await self.link.stop()
        self._held = None

    # --- link callbacks --------------------------------------------------------------------

    def _on_events(self, messages: list[AmiMessage]) -> None:
        held = self._held
        if held is not None:
            if len(held) + len(messages) > MAX_HELD_EVENTS:
                self.link.drop("too many events held during resync")
                return
            held.extend(messages)
            return
        self._feed(messages)

    def _feed(self, messages: list[AmiMessage]) -> None:
        feed = self.tracker.feed
        publish = self._bus.publish
        for message in messages:
            try:
                events = feed(message)
            except Exception:
                # One message the tracker cannot take must not stop the stream: log it, go on.
                log.exception("tracker_failed", extra={"kv": {"ami_event": message.get("Event", "")}})
                continue
            for event in events:
                publish(event)

    async def _on_connected(self, version: str) -> None:
        self._held = []
        if not await self._is_named_server():
            self._held = None  # another server's events: not ours to follow
            return
        self._bus.publish(SwitchConnected(at=self._clock(), version=version, server=self.name))
        try:
            snapshot = await self.snapshot()
            for event in self.tracker.resync(snapshot):
                self._bus.publish(event)
        finally:
            held, self._held = self._held, None
            if held:
                self._feed(held)

    def _on_disconnected(self, reason: str) -> None:
        self._bus.publish(SwitchDisconnected(at=self._clock(), reason=reason, server=self.name))

    async def _is_named_server(self) -> bool:
        """The server's systemname, the prefix of its ids, is the one its calls and phones are
        known by: learnt for the only server, checked for one of several (where a server without
        its own would make call ids another server also makes)."""
        try:
            system_name = (await self.link.send_action("CoreSettings")).value("SystemName")
        except AmiActionFailed as exc:
            if self._expected_name is not None:
                raise
            log.warning("ami_systemname_unknown", extra={"kv": {"error": str(exc)}})
            system_name = ""
        if self._expected_name is None or system_name == self._expected_name:
            self.name = self.tracker.server = system_name
            return True
        reason = f"its systemname is {system_name!r}, expected {self.name!r}"
        fields = {"host": self.link.config.host, "server": self.name, "systemname": system_name}
        log.error("ami_wrong_server", extra={"kv": {**fields, "hint": "set systemname in asterisk.conf"}})
        self.link.drop(reason)
        return False

    async def snapshot(self) -> SwitchSnapshot:
        """What Asterisk says is going on now: channels, queues with members and callers, bridges."""
        at = self._clock()
        channels, queues, bridges = await asyncio.gather(
            self.link.send_action("CoreShowChannels"),
            self.link.send_action("QueueStatus"),
            self.link.send_action("BridgeList"),
        )
        return SwitchSnapshot(
            at=at, channels=list(channels.items), queue_status=list(queues.items), bridges=list(bridges.items)
        )
