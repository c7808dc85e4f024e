"""The composition root: the one place that builds every package and wires them together.

``Hotline(settings).run()`` starts the parts in dependency order — database, bus, ACD, IVR,
the AMI link, the web server — and stops them in reverse. With ``demo=True`` it first starts the
switch simulator with demo agents and steady demo traffic, and points the AMI link at it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import signal
import socket
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from acd.call_log import CallLog
from acd.call_log_writer import CallLogWriter
from acd.models import AcdConfig, AgentProfile
from acd.queue_file import DEFAULT_QUEUES_FILE, load_queue_file
from acd.queue_log_writer import QueueLogWriter
from acd.service import AcdService
from agent_api.app import build_app
from agent_api.proxy import parse_trusted
from agent_api.recordings.service import Recordings
from agent_api.sessions import SessionPolicy, SessionStore
from agent_api.ws_hub import Hub
from crm import accounts
from crm.accounts import Role
from crm.db import Database
from crm.migrate import upgrade
from crm.notices import build_senders, run_outbox
from crm.reporting.schedule import run_report_schedule
from crm.restart_state import RestartState
from crm.service import Crm
from crm.sms import aliyun_from_settings
from cti.ami_link import AmiLinkConfig
from cti.bus import EventBus
from cti.servers import SwitchPerServer
from cti.service import CtiService
from cti.switch import Switch
from cti.tracker import WANTED as TRACKED_EVENTS
from cti.tracker import CallTracker
from hotline.activity import report_activity
from hotline.adapters import (
    CrmCustomerLookup,
    CrmSurveyAnswers,
    forward_ivr_to_acd,
    ivr_session_fact,
    waiting_call,
)
from hotline.back_office_feed import BackOfficeFeed
from hotline.cluster.forward import Forwarder
from hotline.cluster.node import ClusterNode, lease_name
from hotline.demo_mode import DemoSwitch, round_the_clock_menus
from hotline.resources import AcceptErrorLog, raise_open_file_limit
from hotline.session_key import session_signing_key
from hotline.settings import Settings, SettingsError
from ivr.events import IvrCompleted
from ivr.fastagi_server import IvrServer
from ivr.registry import MenuRegistry
from recording.message_files import MessageFiles
from recording.policy import Plan, RecordingPolicy, load_policy
from recording.service import RecordingConfig, RecordingService

log = logging.getLogger(__name__)

Stop = Callable[[], Awaitable[None]]
SYSTEM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
ACTIVITY_EVERY_S = 10.0
ESCALATION_EVERY_S = 300.0
STOP_ORDER = (
    "demo-traffic",
    "http",
    "ivr-to-acd",
    "queue-log",
    "acd",
    "recording",
    "ami",
    "cluster",
    "simulator",
    "ivr",
    "call-log",
    "back-office-feed",
    "menus",
    "back-office",
    "database",
    "activity",
    "accept-errors",
)


class Hotline:
    # The parts, set by start(); tests reach them to drive a whole system.
    db: Database
    crm: Crm
    ivr: IvrServer
    cti: CtiService  # the first Asterisk server's
    servers: list[CtiService]  # every Asterisk server's, the first first
    switch: Switch  # the actions of every package go through it
    acd: AcdService
    recording: RecordingService
    call_log: CallLogWriter

    def __init__(
        self, settings: Settings, *, demo: bool = False, report: Callable[[str], None] | None = None
    ) -> None:
        self.settings = settings
        self.demo = demo
        self.report = report  # where a line on calls and agents goes every ACTIVITY_EVERY_S
        self.bus = EventBus()
        self.url = ""
        self._stops: list[tuple[str, Stop]] = []
        self._stopping = asyncio.Event()
        self.cluster: ClusterNode | None = None  # one node of several (docs/scale.md), else None
        self._forwarding: web.AppRunner | None = None  # a follower's HTTP, until it leads
        self.exit_status = 0

    async def start(self) -> None:
        self.settings = settings = with_queues_file(self.settings)
        # Every socket is a file: as many as the system allows, and one line when they run out.
        raise_open_file_limit()
        accept_errors = AcceptErrorLog()
        accept_errors.install(asyncio.get_running_loop())
        self._on_stop("accept-errors", _async(accept_errors.uninstall))
        if self.report is not None:
            reporter = asyncio.create_task(report_activity(self.bus, ACTIVITY_EVERY_S, self.report))
            self._on_stop("activity", lambda: _cancel(reporter))
        self.db = db = Database(settings.db.url, echo=settings.db.echo)
        self._on_stop("database", db.dispose)
        await upgrade(db)
        self.crm = crm = Crm(
            db,
            tz=settings.timezone,
            ticket_working_days=settings.crm.ticket_working_days,
            escalation_email=settings.crm.escalation_email,
            catalog_refresh_s=settings.crm.catalog_refresh_s,
        )
        # One node of several: serve at once (the IVR, HTTP forwarded to the leader), and lead
        # once this node holds the switch's lease.
        cluster_mode = bool(settings.cluster.broker_url) and not self.demo
        if cluster_mode and not await self._follow(settings, crm):
            return
        self._start_back_office(settings, crm)
        # Report facts: subscribed before anything publishes, stopped after everything that does.
        self.call_log = call_log = self._call_log_writer(settings, db, crm)
        await call_log.start()
        self._on_stop("call-log", call_log.stop)
        # Messages left and the callbacks' history, kept in the CRM: subscribed before the IVR runs.
        feed = BackOfficeFeed(self.bus, db, message_files(settings))
        await feed.start()
        self._on_stop("back-office-feed", feed.stop)
        if self.cluster is None:
            await self._start_ivr(settings, crm, self.bus)

        demo_switch: DemoSwitch | None = None
        if self.demo:
            demo_switch = DemoSwitch(
                db, agi_port=self.ivr.port, recordings_dir=Path(settings.recording.spool_dir), tz=crm.tz
            )
            await demo_switch.prepare()
            self._on_stop("simulator", demo_switch.stop)
            settings = replace(settings, ami=await demo_switch.start(settings.ami))

        # The ACD subscribes before the links connect, so it sees the calls the first resyncs find.
        links = ami_servers(settings)
        # One server is known by whatever systemname it has; each of several must have its own.
        self.servers = servers = [
            CtiService(
                config, self.bus, CallTracker(), wanted=TRACKED_EVENTS, name=name if links[1:] else None
            )
            for name, config in links
        ]
        self.cti = servers[0]
        switch: Switch = servers[0].switch if len(servers) == 1 else SwitchPerServer(servers)
        # In a cluster every switch action first checks that this node still holds the lease.
        self.switch = switch = switch if self.cluster is None else self.cluster.fence(switch)
        self.acd = acd = AcdService(
            self.bus,
            switch,
            lambda: datetime.now(UTC),
            await _acd_config(settings, db, demo_switch),
            store=RestartState(db),
        )
        await acd.start()
        self._on_stop("acd", acd.stop)
        self.recording = recording = _recording_service(settings, db, self.bus, switch, acd)
        # The pages' part is set up (not yet listening) before anything below: their live feed
        # sees the calls the first resync finds, and the kept wrap-ups and the administered pause
        # reasons are read before a node taking over logs the agents in again.
        runner = web.AppRunner(self._app(settings, switch, recording), access_log=None)
        await runner.setup()
        self._on_stop("http", runner.cleanup)
        if self.cluster is not None:
            # Before the resync: who was logged in is again, and waiting callers keep their IVR's choices.
            await self.cluster.take_over(acd, waiting_call)
        # queue_log: the lines app_queue would have written for the calls the ACD delivers.
        queue_log = QueueLogWriter(
            self.bus,
            switch,
            lambda queue: queue in acd.config.queues,
            after=None if self.cluster is None else self.cluster.deliveries,
        )
        await queue_log.start()
        self._on_stop("queue-log", queue_log.stop)
        forwarder = asyncio.create_task(forward_ivr_to_acd(self.bus, acd), name="ivr-to-acd")
        self._on_stop("ivr-to-acd", lambda: _cancel(forwarder))
        if self.cluster is not None:
            await self.cluster.take_ivr()  # the IVR's callers, this node's and the others'
        await recording.start()
        self._on_stop("recording", recording.stop)
        for server in servers:
            await server.start()
            self._on_stop("ami", server.stop)

        port = settings.http.port
        if self._forwarding is not None:
            port = urlsplit(self.url).port or port  # where the follower listened (port 0: chosen)
            await self._forwarding.cleanup()  # this node answers for itself from now on
            self._forwarding = None
        self.url = await self._listen(runner, port)
        if self.cluster is not None:
            advertise = settings.cluster.advertise_url or advertised_url(settings.http.host, self.url)
            self.cluster.advertise(advertise)

        if demo_switch is not None:
            await demo_switch.begin_traffic(acd)
            self._on_stop("demo-traffic", demo_switch.stop_traffic)
        log.info("hotline_started", extra={"kv": {"url": self.url, "demo": self.demo}})

    def _app(self, settings: Settings, switch: Switch, recording: RecordingService) -> web.Application:
        return build_app(
            settings,
            bus=self.bus,
            switch=switch,
            acd=self.acd,
            crm=self.crm,
            db=self.db,
            demo=self.demo,
            recordings=Recordings(recording),
            message_files=message_files(settings),
            trusted_proxies=settings.http.trusted_proxies,
            hub=Hub(max_per_session=settings.http.ws_per_session, max_per_user=settings.http.ws_per_user),
            sessions=SessionStore(
                self.db,
                signing_key=session_signing_key(settings.http.session_key, settings.data_dir),
                policy=SessionPolicy(
                    idle_s=settings.http.session_idle_s,
                    max_age_s=settings.http.session_max_age_s,
                    per_user=settings.http.sessions_per_user,
                ),
                demo=self.demo,
            ),
        )

    async def _start_ivr(self, settings: Settings, crm: Crm, bus: EventBus) -> None:
        menus_dir = Path(settings.agi.menus_dir)
        if self.demo:
            menus_dir = round_the_clock_menus(menus_dir, Path(settings.data_dir) / "demo-menus")
        registry = MenuRegistry(menus_dir)
        await registry.start()
        self._on_stop("menus", registry.stop)
        self.ivr = ivr = IvrServer.from_settings(
            settings,
            registry=registry,
            bus=bus,
            customers=CrmCustomerLookup(crm),
            surveys=CrmSurveyAnswers(crm.db),
        )
        await ivr.start()
        self._on_stop("ivr", ivr.stop)

    async def _follow(self, settings: Settings, crm: Crm) -> bool:
        """Serve as a follower until this node wins the switch's lease: the IVR (its callers
        handed to the leader), HTTP forwarded to the leader. False when told to stop first."""
        if not settings.db.url.startswith("postgresql"):
            raise SettingsError(
                "[cluster] broker_url: several nodes share one PostgreSQL database; "
                "set [db] url to postgresql+asyncpg://... (docs/scale.md)"
            )
        self.cluster = cluster = ClusterNode(
            self.bus,
            db_url=settings.db.url,
            broker_url=settings.cluster.broker_url,
            lease=lease_name(settings.ami.host, settings.ami.port),
            node=settings.cluster.node,
            lease_s=settings.cluster.lease_s,
        )
        self._on_stop("cluster", cluster.stop)
        ivr_bus = EventBus()
        await cluster.follow(ivr_bus)
        await self._start_ivr(settings, crm, ivr_bus)
        forwarder = Forwarder(
            cluster.leader_url,
            trusted=parse_trusted(settings.http.trusted_proxies),
            on_unreachable=cluster.forget_leader,
        )
        self._forwarding = web.AppRunner(forwarder.app(), access_log=None)
        await self._forwarding.setup()
        self.url = await self._listen(self._forwarding, settings.http.port)

        async def stop_forwarding() -> None:
            if self._forwarding is not None:
                await self._forwarding.cleanup()

        self._on_stop("http", stop_forwarding)
        if not await cluster.wait_for_lease(self._stopping, url=self.url):
            return False
        self._watch_lease(cluster)
        return True

    async def _listen(self, runner: web.AppRunner, port: int) -> str:
        site = web.TCPSite(runner, self.settings.http.host, port)
        await site.start()
        return f"http://{self.settings.http.host}:{runner.addresses[0][1]}/"

    def _call_log_writer(self, settings: Settings, db: Database, crm: Crm) -> CallLogWriter:
        """Queue legs, agent intervals, IVR sessions and offer holdbacks, written for reports."""
        queues = load_queue_file(settings.acd.queues_file)

        def agent_of(interface: str) -> str | None:
            record = self.acd.states.by_interface(interface) if hasattr(self, "acd") else None
            return record.profile.agent if record is not None else None

        writer = CallLogWriter(
            self.bus,
            db,
            tz=crm.tz,
            clock=lambda: datetime.now(UTC),
            call_log=CallLog({q.name: q.service_level_s for q in queues.values()}, agent_of=agent_of),
            translators={IvrCompleted: ivr_session_fact},
        )
        crm.rule_holdbacks.sink = writer.add
        return writer

    def _start_back_office(self, settings: Settings, crm: Crm) -> None:
        """The notice outbox and the overdue-ticket escalation run beside the calls."""
        sms = aliyun_from_settings(settings.sms, crm.db)  # None: SMS notices go to the log
        senders = build_senders(
            settings.crm.notice_sender,
            smtp_host=settings.crm.smtp_host,
            smtp_port=settings.crm.smtp_port,
            smtp_from=settings.crm.smtp_from,
            smtp_username=settings.crm.smtp_username,
            smtp_password=settings.crm.smtp_password,
            sms=sms,
        )
        outbox_stop = asyncio.Event()
        outbox = asyncio.create_task(
            run_outbox(
                crm.db,
                senders,
                outbox_stop,
                receipts=[sms] if sms is not None else [],
                receipts_every_s=settings.sms.receipts_every_s,
            ),
            name="notice-outbox",
        )

        reports = asyncio.create_task(
            run_report_schedule(crm.db, crm.tz, outbox_stop), name="report-schedule"
        )

        async def stop_outbox() -> None:
            outbox_stop.set()
            await outbox
            await reports

        self._on_stop("back-office", stop_outbox)
        escalation_stop = asyncio.Event()
        escalation = asyncio.create_task(
            _escalate_overdue_tickets(crm, escalation_stop), name="ticket-escalation"
        )

        async def stop_escalation() -> None:
            escalation_stop.set()
            await escalation

        self._on_stop("back-office", stop_escalation)

    async def stop(self) -> None:
        """Stop what was started: first what takes new work in, then what serves it, then storage.
        A part that fails to stop is logged and the others still stop."""
        self._stops.sort(key=lambda item: STOP_ORDER.index(item[0]))
        while self._stops:
            name, stop = self._stops.pop(0)
            try:
                await stop()
            except Exception:
                log.exception("hotline_stop_failed", extra={"kv": {"part": name}})

    async def run(self, ready: Callable[[Hotline], None] | None = None) -> None:
        """Start, report readiness, serve until SIGINT / SIGTERM (or, in a cluster, until this
        node loses its lease), stop."""
        stopping = self._stopping
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        try:
            await self.start()
            if ready is not None and not stopping.is_set():
                ready(self)
            await stopping.wait()
        finally:
            await self.stop()

    def _watch_lease(self, cluster: ClusterNode) -> None:
        """A leader that loses its lease stops (status 3), to start again as a standby."""

        def deposed(_waiter: asyncio.Future[object]) -> None:
            if cluster.deposed.is_set():
                log.warning("cluster_stopping_deposed", extra={"kv": {"node": cluster.node}})
                self.exit_status = 3
                self._stopping.set()

        waiter = asyncio.ensure_future(cluster.deposed.wait())
        waiter.add_done_callback(deposed)
        self._on_stop("cluster", lambda: _cancel(waiter))

    def _on_stop(self, name: str, stop: Stop) -> None:
        self._stops.append((name, stop))


def advertised_url(host: str, url: str) -> str:
    """This node's own URL, with the machine's name for a wildcard address (0.0.0.0, ::)."""
    if host in ("", "0.0.0.0", "::"):
        return url.replace(f"//{host}:", f"//{socket.gethostname()}:", 1)
    return url


def ami_servers(settings: Settings) -> list[tuple[str, AmiLinkConfig]]:
    """The Asterisk servers to follow, by systemname: ``[ami]``'s, then each of ``[ami] servers``
    ("name=host[:port]"). The names differ, so the ids do: one server (the first, say, of a site
    that grew) may have none."""
    ami = settings.ami
    servers = [(ami.name, _link_config(settings, ami.host, ami.port))]
    for entry in ami.servers:
        name, _, address = entry.partition("=")
        try:
            parts = urlsplit(f"//{address.strip()}")
            host, port = parts.hostname or "", parts.port or ami.port
        except ValueError:
            host = ""
        if not name.strip() or not host:
            raise SettingsError(f"[ami] servers: {entry!r} is not systemname=host[:port]")
        servers.append((name.strip(), _link_config(settings, host, port)))
    names = [name for name, _ in servers]
    for name in filter(None, names):
        if not SYSTEM_NAME.fullmatch(name):
            # It ends up in every call id, and so in the recordings' folder names.
            raise SettingsError(f"[ami]: systemname {name!r}: letters, digits, '-' and '_' only")
    if len(set(names)) != len(names):
        raise SettingsError(f"[ami] servers: two servers share a systemname ({', '.join(names)})")
    return servers


def _link_config(settings: Settings, host: str, port: int) -> AmiLinkConfig:
    ami = settings.ami
    return AmiLinkConfig(
        host=host,
        port=port,
        username=ami.username,
        secret=ami.secret,
        action_timeout_s=ami.action_timeout_s,
        ping_interval_s=ami.ping_interval_s,
        ping_timeout_s=ami.ping_timeout_s,
        connect_timeout_s=ami.connect_timeout_s,
        reconnect_initial_s=ami.reconnect_initial_s,
        reconnect_max_s=ami.reconnect_max_s,
    )


def message_files(settings: Settings) -> MessageFiles:
    """Where messages are recorded: Asterisk's monitor spool (asterisk-config's hotline-message)."""
    return MessageFiles(
        spool_dir=Path(settings.recording.spool_dir),
        asterisk_monitor_dir=settings.recording.asterisk_monitor_dir,
    )


def _recording_service(
    settings: Settings, db: Database, bus: EventBus, switch: Switch, acd: AcdService
) -> RecordingService:
    """Recordings: subscribed before the link connects, agents named by their login, not phone."""
    config = RecordingConfig.from_settings(settings.recording)
    policy = (
        load_policy(settings.recording.policy_file, retention_days=config.retention_days)
        if settings.recording.policy_file
        else RecordingPolicy(default=Plan(retention_days=config.retention_days))
    )

    def agent_of(interface: str) -> str:
        record = acd.states.by_interface(interface)
        return record.profile.agent if record is not None else interface

    return RecordingService(db, bus, switch, config, policy=policy, agent_of=agent_of)


async def _acd_config(settings: Settings, db: Database, demo: DemoSwitch | None) -> AcdConfig:
    """Queues from the queues file; agents from the accounts that have the agent role."""
    queues = load_queue_file(settings.acd.queues_file)
    agents = [
        AgentProfile(account.username, account.extension, account.skills, name=account.display_name)
        for account in await accounts.list_accounts(db)
        if account.enabled and account.extension and account.skills and Role.AGENT in account.roles
    ]
    if demo is not None:
        agents.extend(demo.robot_agents())
    return AcdConfig.from_settings(settings.acd, queues.values(), agents)


def with_queues_file(settings: Settings) -> Settings:
    """Settings naming the ACD's queues file: the configured one, else a copy of the shipped
    acd/queues.yaml in the data folder, made on first start, so that queue changes made on the
    admin page are saved and survive restarts and upgrades (which replace acd/queues.yaml)."""
    if settings.acd.queues_file:
        return settings
    path = Path(settings.data_dir) / "queues.yaml"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DEFAULT_QUEUES_FILE, path)
    return replace(settings, acd=replace(settings.acd, queues_file=str(path)))


async def _escalate_overdue_tickets(crm: Crm, stop: asyncio.Event) -> None:
    """Raise the escalation level of overdue tickets every few minutes, until ``stop`` is set
    (set, not cancelled, so a database write under way finishes)."""
    while not stop.is_set():
        try:
            raised = await crm.escalate_overdue()
        except Exception:
            log.exception("ticket_escalation_failed")
        else:
            if raised:
                log.info("tickets_escalated", extra={"kv": {"count": len(raised)}})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), ESCALATION_EVERY_S)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _async(stop: Callable[[], None]) -> Stop:
    async def run() -> None:
        stop()

    return run
