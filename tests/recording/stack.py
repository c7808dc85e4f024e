"""The agent API with recordings on a real socket, and calls whose recordings are stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from acd.models import AcdConfig, AgentProfile, QueueConfig
from acd.service import AcdService
from agent_api.app import build_app, ensure_demo_accounts
from agent_api.recordings.service import Recordings
from agent_api.throttle import LoginThrottle
from crm.db import Database
from crm.migrate import upgrade
from crm.recordings import Recording
from crm.service import Crm
from cti.bus import EventBus
from recording.policy import Plan, RecordingPolicy
from recording.service import RecordingConfig, RecordingService
from tests.agent_api.stack import RecordingSwitch, fast_passwords
from tests.recording.calls import T0, call_events, place

AGENTS = {"PJSIP/1001": "agent1001", "PJSIP/1002": "agent1002"}


class MixMonitorSwitch(RecordingSwitch):
    async def mixmonitor_mute(self, channel: str, *, mute: bool, **_: object) -> None:
        self._note("mixmonitor_mute", channel, mute=mute)

    async def mixmonitor_stop(self, channel: str, **_: object) -> None:
        self._note("mixmonitor_stop", channel)


@dataclass
class RecordingStack:
    tmp: Path
    policy: RecordingPolicy = field(default_factory=lambda: RecordingPolicy(default=Plan(retention_days=30)))
    db: Database = field(init=False)
    bus: EventBus = field(init=False)
    switch: MixMonitorSwitch = field(init=False)
    service: RecordingService = field(init=False)
    acd: AcdService = field(init=False)
    server: TestServer = field(init=False)
    client: TestClient = field(init=False)

    async def start(self) -> RecordingStack:
        self.db = Database(f"sqlite+aiosqlite:///{self.tmp / 'crm.db'}")
        await upgrade(self.db)
        await ensure_demo_accounts(self.db, fast_passwords())
        self.bus = EventBus()
        self.switch = MixMonitorSwitch()
        config = RecordingConfig(
            spool_dir=self.tmp / "spool", store_dir=self.tmp / "store", workers=2, purge_every_s=0
        )
        config.spool_dir.mkdir(parents=True, exist_ok=True)
        self.service = RecordingService(
            self.db,
            self.bus,
            self.switch,
            config,
            policy=self.policy,
            agent_of=AGENTS.get,  # type: ignore[arg-type]
        )
        acd_config = AcdConfig(
            queues={"support": QueueConfig("support"), "sales": QueueConfig("sales")},
            agents={"agent1001": AgentProfile("agent1001", "1001", {"support": 5}, name="Agent 1001")},
        )
        self.acd = AcdService(self.bus, self.switch, lambda: datetime.now(UTC), acd_config)  # type: ignore[arg-type]
        app: web.Application = build_app(
            None,
            bus=self.bus,
            switch=self.switch,  # type: ignore[arg-type]
            acd=self.acd,
            crm=Crm(self.db, catalog_refresh_s=0.0),
            db=self.db,
            demo=True,
            throttle=LoginThrottle(),
            passwords=fast_passwords(),
            board_interval_s=0.05,
            recordings=Recordings(self.service),
        )
        await self.acd.start()
        self.server = TestServer(app, host="127.0.0.1", port=0)
        self.client = TestClient(self.server)
        await self.client.start_server()
        return self

    async def stop(self) -> None:
        await self.client.close()
        await self.acd.stop()
        await self.db.dispose()

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/")).rstrip("/")

    async def recorded_call(
        self, call_id: str, source: Path, *, agent: str = "PJSIP/1001", queue: str = "support",
        caller: str = "13800138000", at: datetime = T0, process: bool = True,
    ) -> Recording:  # fmt: skip
        """A call answered by ``agent``, its WAV placed where the dialplan writes it, processed."""
        start, end, relative = call_events(call_id, agent=agent, queue=queue, caller=caller, at=at)
        for event in start:
            await self.service.handle(event)
        place(self.service.config.spool_dir, relative, source)
        for event in end:
            await self.service.handle(event)
        from crm import recordings as index

        (recording,) = await index.recordings_of_call(self.db, call_id)
        return await self.service.process(recording.id) if process else recording
