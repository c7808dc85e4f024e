"""A whole agent_api on a real socket: migrated SQLite CRM, event bus, real ACD, a recording switch."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from acd.models import AcdConfig, AgentProfile, QueueConfig
from acd.service import AcdService
from agent_api.app import build_app, ensure_demo_accounts
from agent_api.security import Passwords
from agent_api.sessions import MAX_CACHED, SessionPolicy, SessionStore
from agent_api.throttle import LoginThrottle
from agent_api.ws_hub import Hub
from crm import campaigns, customers
from crm.db import Database
from crm.kinds import CampaignKind, CampaignStatus, Channel
from crm.migrate import upgrade
from crm.service import Crm
from cti.bus import EventBus
from cti.events import CallEnded, CallOffered, CallQueued, CallRinging, EndCause
from cti.switch import OriginateResult, SpyMode
from recording.message_files import MessageFiles

CUSTOMER_PHONE = "13800138000"
CUSTOMER_NAME = "张伟"


@dataclass
class RecordingSwitch:
    """Answers every request and remembers it."""

    requests: list[tuple[str, tuple, dict]] = field(default_factory=list)
    variables: dict[tuple[str, str], str] = field(default_factory=dict)  # (channel, name) → value

    def _note(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.requests.append((name, args, kwargs))

    def names(self) -> list[str]:
        return [r[0] for r in self.requests]

    async def originate(self, **kwargs: Any) -> OriginateResult:
        self._note("originate", **kwargs)
        return OriginateResult(action_id="a1", success=True, channel=kwargs.get("channel", ""))

    async def redirect(self, channel: str, **kwargs: Any) -> None:
        self._note("redirect", channel, **kwargs)

    async def hangup(self, channel: str, **kwargs: Any) -> None:
        self._note("hangup", channel, **kwargs)

    async def queue_add(self, queue: str, interface: str, **kwargs: Any) -> None:
        self._note("queue_add", queue, interface)

    async def queue_remove(self, queue: str, interface: str, **kwargs: Any) -> None:
        self._note("queue_remove", queue, interface)

    async def queue_pause(self, interface: str, **kwargs: Any) -> None:
        self._note("queue_pause", interface, **kwargs)

    async def set_var(self, channel: str, name: str, value: str, **kwargs: Any) -> None:
        self._note("set_var", channel, name, value)
        self.variables[(channel, name)] = value

    async def get_var(self, channel: str, name: str) -> str:
        return self.variables.get((channel, name), "")

    async def hold(self, caller_channel: str, agent_channel: str, **kwargs: Any) -> None:
        """As the dialplan's hotline-hold does, the caller is marked held."""
        self._note("hold", caller_channel, agent_channel)
        self.variables[(caller_channel, "HOTLINE_HOLD_STATE")] = "held"

    async def resume(self, caller_channel: str, agent_channel: str, **kwargs: Any) -> None:
        self._note("resume", caller_channel, agent_channel)
        self.variables[(caller_channel, "HOTLINE_HOLD_STATE")] = "resumed"

    async def send_dtmf(self, channel: str, digit: str, **kwargs: Any) -> None:
        self._note("dtmf", channel, digit, **kwargs)

    async def mute(self, channel: str, on: bool, **kwargs: Any) -> None:
        self._note("mute", channel, on, **kwargs)

    async def consult(self, agent_channel: str, extension: str, **kwargs: Any) -> None:
        self._note("consult", agent_channel, extension)

    async def consult_complete(self, agent_channel: str, **kwargs: Any) -> None:
        self._note("consult_complete", agent_channel)

    async def consult_cancel(self, agent_channel: str, **kwargs: Any) -> None:
        self._note("consult_cancel", agent_channel)

    async def consult_conference(self, agent_channel: str, **kwargs: Any) -> None:
        self._note("consult_conference", agent_channel)

    async def spy(
        self, supervisor: str, agent_extension: str, mode: SpyMode, **kwargs: Any
    ) -> OriginateResult:
        self._note("spy", supervisor, agent_extension, mode)
        return OriginateResult(action_id="s1", success=True, channel=f"{supervisor}-1")


def fast_passwords() -> Passwords:
    return Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Stack:
    tmp: Path
    demo: bool = True
    throttle: LoginThrottle | None = None
    seed: bool = True  # a customer and an online campaign
    hub: Hub | None = None
    queues_file: str = ""  # where the admin page saves queue changes; empty: not saved
    trusted_proxies: tuple[str, ...] = ()
    session_policy: SessionPolicy | None = None
    session_clock: Callable[[], float] = time.time
    session_key: bytes = b"a test signing key, 32 bytes..."
    max_cached_sessions: int = MAX_CACHED
    message_files: MessageFiles | None = None  # where messages left are played from
    acd_clock: Callable[[], datetime] | None = None  # the ACD's time; None: the real clock
    settings: object = None  # hotline.settings.Settings, where a test needs one
    db: Database = field(init=False)
    bus: EventBus = field(init=False)
    switch: RecordingSwitch = field(init=False)
    acd: AcdService = field(init=False)
    crm: Crm = field(init=False)
    app: web.Application = field(init=False)
    server: TestServer = field(init=False)
    client: TestClient = field(init=False)
    customer_id: int = 0
    campaign_id: int = 0

    async def start(self, *, port: int = 0) -> Stack:
        self.db = Database(f"sqlite+aiosqlite:///{self.tmp / 'crm.db'}")
        await upgrade(self.db)
        if self.demo:
            await ensure_demo_accounts(self.db, fast_passwords())
        self.bus = EventBus()
        self.switch = RecordingSwitch()
        config = AcdConfig(
            queues={"support": QueueConfig("support"), "sales": QueueConfig("sales")},
            agents={
                "agent1001": AgentProfile("agent1001", "1001", {"support": 5}, name="Agent 1001"),
                "agent1002": AgentProfile("agent1002", "1002", {"support": 3}, name="Agent 1002"),
            },
            queues_file=self.queues_file,
        )
        clock = self.acd_clock or (lambda: datetime.now(UTC))
        self.acd = AcdService(self.bus, self.switch, clock, config)  # type: ignore[arg-type]
        self.crm = Crm(self.db, catalog_refresh_s=0.0)
        if self.seed:
            await self._seed()
        self.app = build_app(
            self.settings,
            bus=self.bus,
            switch=self.switch,  # type: ignore[arg-type]
            acd=self.acd,
            crm=self.crm,
            db=self.db,
            demo=self.demo,
            sessions=SessionStore(
                self.db,
                signing_key=self.session_key,
                policy=self.session_policy,
                demo=self.demo,
                clock=self.session_clock,
                max_cached=self.max_cached_sessions,
            ),
            throttle=self.throttle or LoginThrottle(),
            passwords=fast_passwords(),
            board_interval_s=0.05,
            hub=self.hub,
            trusted_proxies=self.trusted_proxies,
            message_files=self.message_files,
        )
        await self.acd.start()
        self.server = TestServer(self.app, host="127.0.0.1", port=port)
        self.client = TestClient(self.server)
        await self.client.start_server()
        return self

    async def _seed(self) -> None:
        self.customer_id = await customers.create_customer(
            self.db,
            customers.NewCustomer(
                CUSTOMER_NAME, phones=[CUSTOMER_PHONE], vip_level=2, consent_marketing=True
            ),
        )
        self.campaign_id = await self.crm.create_campaign(
            campaigns.NewCampaign(
                "宽带升级", CampaignKind.MARKETING, [Channel.CALL_IN], offer_text="千兆宽带首年半价"
            )
        )
        await self.crm.set_campaign_status(self.campaign_id, CampaignStatus.ONLINE)

    async def stop(self) -> None:
        await self.client.close()
        await self.acd.stop()
        await self.db.dispose()

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/")).rstrip("/")

    def ring(self, call_id: str, *, caller: str = CUSTOMER_PHONE, agent: str = "PJSIP/1001") -> None:
        now = datetime.now(UTC)
        self.bus.publish(CallOffered(now, call_id, caller, "", "4008001234", f"PJSIP/trunk-{call_id}"))
        self.bus.publish(CallQueued(now, call_id, "support", 1))
        self.bus.publish(CallRinging(now, call_id, agent, "support", f"{agent}-0000{call_id}"))

    def hang_up(self, call_id: str) -> None:
        self.bus.publish(CallEnded(datetime.now(UTC), call_id, EndCause.NORMAL, 30.0))


async def login(client: TestClient, username: str, password: str = "demo") -> str:
    """Log in; returns the CSRF token."""
    response = await client.post("/api/session", json={"username": username, "password": password})
    assert response.status == 200, await response.text()
    return (await response.json())["csrf_token"]


async def next_frame(ws: Any, kind: str, within_s: float = 5.0) -> Mapping[str, Any]:
    """The next frame of ``kind``, skipping others."""
    async with asyncio.timeout(within_s):
        while True:
            message = await ws.receive_json()
            if message["type"] == kind:
                return message
