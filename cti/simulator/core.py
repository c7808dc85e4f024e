"""The switch simulator's state and its event output: channels, devices, queues, bridges.

``SwitchSimulator`` is what tests and the demo hold. The call flows that move this state live in
``dialplan.py`` and ``app_queue.py``, the AMI side in ``ami_server.py`` / ``actions.py``, and the
FastAGI side in ``fastagi_client.py``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cti.simulator import wire
from cti.simulator.channel_events import ChannelEvents
from cti.simulator.channels import Bridge, Channel, Numbering
from cti.simulator.clock import Clock, RealClock
from cti.simulator.legs import Leg
from cti.simulator.members import TRUNK_DEVICE, QueueMembers
from cti.simulator.queue import Queue
from cti.simulator.recordings import Recorder
from cti.simulator.scripts import AgentScript, CallerScript

if TYPE_CHECKING:
    from cti.simulator.ami_server import AmiServer
    from cti.simulator.consult import Consult

log = logging.getLogger(__name__)

DEFAULT_AGI_URL = "agi://127.0.0.1:4573/ivr"
# Endpoints the switch knows besides the agents' phones (as in the captured pjsip.conf).
DEFAULT_ENDPOINTS = {"PJSIP/carrier": "NOT_INUSE", "PJSIP/2001": "NOT_INUSE", TRUNK_DEVICE: "UNAVAILABLE"}


@dataclass(frozen=True, slots=True)
class QueueConfig:
    name: str
    strategy: str = "rrmemory"
    timeout_s: float = 10.0
    retry_s: float = 1.0
    announce: bool = False  # announce-position = yes


class Dialplan(enum.StrEnum):
    """Which dialplan the simulated switch runs."""

    # tests/transcripts/config/extensions.conf: the rig the captures were made on. The caller
    # queues straight into ${HOTLINE_QUEUE}; its static members are the fallback.
    CAPTURES = "captures"
    # asterisk-config/extensions.conf + queues.conf: what is deployed. The caller waits in a
    # queue without members until Hotline Redirects it; the -fallback twin is app_queue's ACD.
    HOTLINE = "hotline"


# asterisk-config/manager.conf: the hotline user reads these event classes and no others (no
# dtmf, agi, security, reporting); the captures' manager.conf reads all.
HOTLINE_READ = ("call", "agent", "dialplan", "user", "system")

DEFAULT_QUEUES = (QueueConfig("support", "rrmemory"), QueueConfig("sales", "leastrecent"))
FALLBACK_SUFFIX = "-fallback"
# asterisk-config/queues.conf: the waiting queues (ringall, no members) and their -fallback twins.
# Every twin is leastrecent, as app_queue loads the file: it reads a queue's strategy with
# ast_variable_retrieve, which returns the first "strategy" of the section — the one the
# [fallback-queue] template gives — so a twin's own "strategy = rrmemory" is ignored (19).
HOTLINE_QUEUES = tuple(
    QueueConfig(name, strategy, 15.0, retry, announce=True)
    for service in ("support", "sales", "vip", "complaints")
    for name, strategy, retry in ((service, "ringall", 5.0), (service + FALLBACK_SUFFIX, "leastrecent", 2.0))
)


@dataclass(slots=True)
class CallRecord:
    """What happened to one simulated inbound call, for summaries and tests."""

    caller: str
    uniqueid: str = ""
    queue: str = ""
    arrived: float = 0.0
    queued: float | None = None
    answered: float | None = None
    ended: float | None = None
    agent: str = ""
    abandoned: bool = False
    agi_status: str = ""
    done: asyncio.Future[None] | None = field(default=None, repr=False)

    @property
    def wait_s(self) -> float | None:
        if self.queued is None:
            return None
        end = self.answered if self.answered is not None else self.ended
        return None if end is None else end - self.queued


class SwitchSimulator(ChannelEvents, QueueMembers):
    """A small Asterisk: AMI server, FastAGI client, a dialplan and app_queue.

    ``dialplan`` picks the production dialplan (``Dialplan.HOTLINE``, the default) or the one the
    captures were made with (``Dialplan.CAPTURES``). ``agents`` are the phones that exist (their
    scripts say how they behave when they ring); ``members`` makes some of them app_queue's static
    members of a service queue's fallback path: the queue itself with ``CAPTURES``, its
    ``-fallback`` twin with ``HOTLINE`` (where, when ``members`` is None, every agent is a static
    member of every fallback queue, as queues.conf has it). Everything it writes follows ``clock``.
    ``recordings_dir``, when given, receives the WAV files MixMonitor would leave in Asterisk's
    monitor spool (``cti/simulator/recordings.py``). ``read_classes`` are the AMI user's event
    classes (manager.conf ``read``): None takes the dialplan's own configuration's.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        agents: Iterable[AgentScript] = (),
        members: Mapping[str, Iterable[str]] | None = None,
        agi_url: str = DEFAULT_AGI_URL,
        agi_url_2: str = "",
        queues: Iterable[QueueConfig] | None = None,
        username: str = "hotline",
        secret: str = "hotline-secret",
        seed: int = 0,
        first_uniqueid: int = 0,
        first_channel: int = 0,
        devices: Mapping[str, str] | None = None,
        queue_options: str = "tT",
        dialplan: Dialplan = Dialplan.HOTLINE,
        recordings_dir: Path | None = None,
        read_classes: Iterable[str] | None = None,
        system_name: str = "",
    ) -> None:
        self.clock: Clock = clock or RealClock()
        self.dialplan = Dialplan(dialplan)
        if queues is None:
            queues = HOTLINE_QUEUES if self.dialplan is Dialplan.HOTLINE else DEFAULT_QUEUES
        self.agi_url = agi_url
        self.agi_url_2 = agi_url_2  # HOTLINE_AGI_2: the other node's IVR, tried when agi_url fails
        self.queue_options = queue_options
        self.username = username
        self.secret = secret
        self.system_name = system_name  # asterisk.conf's systemname: the prefix of every id
        # The carrier's endpoint; a server of several names it after itself (docs/scale.md), so
        # that no channel name is up on two servers at once.
        self.trunk_device = f"{TRUNK_DEVICE}-{system_name}" if system_name else TRUNK_DEVICE
        self.numbering = Numbering(seed, first_uniqueid, first_channel, system_name)
        self.phones: dict[str, AgentScript] = {a.extension: a for a in agents}
        self.queues: dict[str, Queue] = {
            q.name: Queue(q.name, q.strategy, q.timeout_s, q.retry_s, q.announce) for q in queues
        }
        self.channels: dict[str, Channel] = {}
        self.by_device: dict[str, set[Channel]] = {}
        self.bridges: dict[str, Bridge] = {}
        self.global_vars: dict[str, str] = {}
        self.queue_log: list[str] = []  # lines written by the QueueLog action (app_queue's own: not kept)
        self.calls: list[CallRecord] = []
        self.devices: dict[str, str] = dict(DEFAULT_ENDPOINTS)
        self.devices[self.trunk_device] = "UNAVAILABLE"
        self.offline = {f"PJSIP/{a.extension}" for a in self.phones.values() if not a.registered}
        # asterisk-config/pjsip.conf: the agents' phones are BUSY with one call (device_state_busy_at).
        self.busy_at_one = self.dialplan is Dialplan.HOTLINE
        if read_classes is None:
            read_classes = HOTLINE_READ if self.dialplan is Dialplan.HOTLINE else ("all",)
        self.read_classes = frozenset(read_classes)
        for extension in self.phones:
            self.devices.setdefault(f"PJSIP/{extension}", self.endpoint_state(f"PJSIP/{extension}"))
        for queue in self.queues.values():
            self.devices.setdefault(f"Queue:{queue.name}_avail", "INUSE")
        self.devices.update(devices or {})
        self.started_at = self.clock.time()
        self.processed_calls = 0
        self._listeners: list[Callable[[bytes], None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._initial_members = self._static_members(members)
        self.server: AmiServer | None = None  # set by start()
        self.legs: dict[str, Leg] = {}  # channel name -> the flow controlling that channel
        self.consults: dict[str, Consult] = {}  # agent's channel name -> its consult (consult.py)
        self.prompt_lengths: dict[str, float] = {}
        self.agi_failures = 0
        # Where MixMonitor's files are written (a stand-in for the monitor spool); None: nowhere.
        self.recorder = Recorder(self, None if recordings_dir is None else Path(recordings_dir))

    def _static_members(self, members: Mapping[str, Iterable[str]] | None) -> dict[str, list[str]]:
        if self.dialplan is Dialplan.CAPTURES:
            return {q: list(i) for q, i in (members or {}).items()}
        if members is None:
            phones = [f"PJSIP/{extension}" for extension in self.phones]
            return {q: list(phones) for q in self.queues if q.endswith(FALLBACK_SUFFIX)}
        # A service queue's static members belong to its -fallback twin: the waiting queue has none.
        return {
            q if q.endswith(FALLBACK_SUFFIX) else q + FALLBACK_SUFFIX: list(i) for q, i in members.items()
        }

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Start the AMI server; returns the port it listens on."""
        from cti.simulator.ami_server import AmiServer

        self.started_at = self.clock.time()
        for queue_name, interfaces in self._initial_members.items():
            for interface in interfaces:
                phone = self.phones.get(interface.partition("/")[2])
                name = phone.member_name if phone else interface
                self.add_member(queue_name, interface, name=name, membership="static", quiet=True)
        self.server = AmiServer(self)
        return await self.server.start(host, port)

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        if self.server is not None:
            await self.server.stop()

    def spawn(self, coroutine: Coroutine[object, object, None], name: str) -> asyncio.Task[None]:
        """A task the simulator owns: cancelled and awaited by ``stop()``, its failure logged."""
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "simulator_task_failed",
                extra={"kv": {"task": task.get_name()}},
                exc_info=task.exception(),
            )

    # -- public API ----------------------------------------------------------------------------

    def place_call(
        self,
        script: CallerScript | None = None,
        *,
        caller: str | None = None,
        digits: str | None = None,
        hangup_after_s: float | None = None,
    ) -> CallRecord:
        """A caller dials the hotline now. The record's ``done`` future completes when the call ends."""
        from cti.simulator.dialplan import run_inbound_call

        script = script or CallerScript()
        overrides: dict[str, object] = {}
        if caller is not None:
            overrides["caller"] = caller
        if digits is not None:
            overrides["digits"] = digits
        if hangup_after_s is not None:
            overrides["hangup_after_s"] = hangup_after_s
        if overrides:
            script = CallerScript(**{**_script_fields(script), **overrides})
        record = CallRecord(caller=script.caller, arrived=self.clock.time())
        record.done = asyncio.get_running_loop().create_future()
        self.calls.append(record)
        self.processed_calls += 1
        self.spawn(run_inbound_call(self, script, record), name=f"call-{len(self.calls)}")
        return record

    async def wait_calls_ended(self) -> None:
        pending = [c.done for c in self.calls if c.done is not None and not c.done.done()]
        if pending:
            await asyncio.gather(*pending)

    def prompt_seconds(self, prompt: str) -> float:
        """How long a sound file plays (the captured greeting ran about 1.5 s)."""
        return self.prompt_lengths.get(prompt, 1.5)

    def channel_variable(self, channel: Channel, name: str) -> str | None:
        if name == "CALLERID(num)":
            return channel.caller_num
        if name == "CALLERID(name)":
            return channel.caller_name
        if name == "UNIQUEID":
            return channel.uniqueid
        if name == "CHANNEL":
            return channel.name
        if name.startswith("GLOBAL(") and name.endswith(")"):
            return self.global_vars.get(name[7:-1])
        return channel.variables.get(name, self.global_vars.get(name))

    # -- output ---------------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[bytes], None]) -> None:
        """``listener(bytes)`` gets every event as written on the wire (Timestamp included)."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[bytes], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def emit(self, event: str, privilege: str, headers: wire.Headers, *, timestamp: bool = True) -> None:
        head = [("Event", event), ("Privilege", privilege)]
        if timestamp:
            head.append(("Timestamp", f"{self.clock.time():.6f}"))
        if self.system_name:  # manager.c: every event of a named system says which it is
            head.append(("SystemName", self.system_name))
        data = wire.encode(head + headers)
        for listener in self._listeners:
            listener(data)

    # -- channels -------------------------------------------------------------------------------

    def find_channel(self, name: str) -> Channel | None:
        return self.channels.get(name)

    def bridge_reconfigured(self, channel: Channel) -> None:
        """An audiohook came or went on a bridged channel: the bridge is rebuilt (three technology
        passes in the captures), and each pass sets the peers' variables again."""
        bridge = channel.bridge
        if bridge is None or len(bridge.channels) != 2:
            return
        first, second = bridge.channels
        for _ in range(3):
            for this, peer in ((first, second), (second, first)):
                self.varset(this, "BRIDGEPEER", peer.name)
                self.varset(this, "BRIDGEPVTCALLID", this.sip_call_id)

    def endpoint_exists(self, resource: str) -> bool:
        return resource in self.phones or f"PJSIP/{resource}" in DEFAULT_ENDPOINTS

    def hangup_by_action(self, channel: Channel, cause: int = 16) -> None:
        """AMI Hangup: the channel's flow ends it the way a soft hangup does."""
        leg = self.legs.get(channel.name)
        if leg is not None:
            leg.hang_up(cause, by_action=True)
            return
        self.channel_event("SoftHangupRequest", channel, [("Cause", str(cause))])
        self.hangup_channel(channel, cause)
        self.refresh_endpoint(channel.device)
        self.update_member_status(channel.device)


def _script_fields(script: CallerScript) -> dict[str, object]:
    return {name: getattr(script, name) for name in CallerScript.__slots__}
