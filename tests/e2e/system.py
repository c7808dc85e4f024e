"""The whole system for end-to-end tests: the switch simulator on real time, and Hotline built by
its composition root pointing at it, with a small menu written for the test."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crm import accounts
from crm.accounts import NewAccount, Role
from crm.db import Database
from crm.migrate import upgrade
from cti.bus import Subscription
from cti.simulator import AgentScript, SwitchSimulator
from hotline.app import Hotline
from hotline.settings import Settings

NUMBER = "4008123456"
WAIT_S = 10.0  # the longest any one step of a call may take before the test fails
PROMPT_S = 0.05

# welcome → (VIP → the vip queue) → menu: 1 a ticket, 0 an agent → collect → lookup → queue.
# No business_hours node: the test must not depend on the time of day.
MENU = f"""
number: "{NUMBER}"
languages: [en]
fallback_queue: support
start: welcome
prompts:
  welcome: {{en: Hello.}}
  main: {{en: For a ticket press 1. For an agent press 0.}}
  invalid: {{en: Not a valid choice.}}
  enter-ticket: {{en: Your ticket number please.}}
  bad-number: {{en: That number is not valid.}}
  ticket-intro: {{en: Your ticket}}
  ticket-open: {{en: is open.}}
  ticket-in-progress: {{en: is being handled.}}
  ticket-done: {{en: is done.}}
  not-found: {{en: We could not find that ticket.}}
  unavailable: {{en: Lookups are not available.}}
nodes:
  welcome: {{kind: play, prompt: welcome, next: who}}
  who:
    kind: branch
    rules:
      - {{vip_min: 1, goto: vip_queue}}
    else: main
  main:
    kind: menu
    prompt: main
    choices: {{"1": ask_ticket, "0": support_queue}}
    timeout_s: 3
    retries: 1
    invalid_prompt: invalid
    on_fail: support_queue
  ask_ticket:
    kind: collect
    prompt: enter-ticket
    into: ticket_number
    format: ticket
    min_digits: 6
    max_digits: 12
    timeout_s: 3
    invalid_prompt: bad-number
    next: ticket_lookup
    on_fail: support_queue
  ticket_lookup:
    kind: lookup
    source: ticket
    key: ticket_number
    intro_prompt: ticket-intro
    read_back: none
    results:
      open: ticket-open
      in_progress: ticket-in-progress
      resolved: ticket-done
      closed: ticket-done
    not_found_prompt: not-found
    unavailable_prompt: unavailable
    next: support_queue
  support_queue: {{kind: queue, queue: support, skill: support}}
  vip_queue: {{kind: queue, queue: vip, skill: support}}
"""


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(slots=True)
class Watch:
    """Every event of the given kinds the bus carried since the watch began, and a way to wait
    for the first one that matches."""

    subscription: Subscription
    seen: list[Any] = field(default_factory=list)

    async def until(self, kind: type, match: Callable[[Any], bool] = lambda _e: True) -> Any:
        for event in self.seen:
            if isinstance(event, kind) and match(event):
                return event
        async with asyncio.timeout(WAIT_S):
            while True:
                event = await self.subscription.get()
                self.seen.append(event)
                if isinstance(event, kind) and match(event):
                    return event

    def all(self, kind: type, match: Callable[[Any], bool] = lambda _e: True) -> list[Any]:
        return [e for e in self.seen if isinstance(e, kind) and match(e)]


@dataclass(slots=True)
class System:
    sim: SwitchSimulator
    hotline: Hotline
    watch: Watch


async def add_agent(db_url: str, username: str, extension: str, skills: dict[str, int]) -> None:
    """An agent account, made before Hotline starts: the ACD reads its agents at start."""
    db = Database(db_url)
    try:
        await upgrade(db)
        await accounts.create_account(
            db,
            NewAccount(
                username=username,
                password_hash="unused-in-this-test",
                roles=frozenset({Role.AGENT}),
                display_name=f"Agent {extension}",
                extension=extension,
                skills=skills,
            ),
        )
    finally:
        await db.dispose()


@asynccontextmanager
async def running_system(
    tmp_path: Path,
    watch_kinds: Iterable[type],
    *,
    ivr_reachable: bool = True,
    phone_hangup_after_s: float | None = 0.5,
    menu: str = MENU,
    system_name: str = "",
) -> AsyncIterator[System]:
    """Simulator with phone 1001, Hotline on it with agent ``agent1001`` (skill support). The
    phone answers after 0.3 s and hangs up ``phone_hangup_after_s`` later (None: never)."""
    phone = AgentScript("1001", name="Agent 1001", answer_after_s=0.3, hangup_after_s=phone_hangup_after_s)
    sim = SwitchSimulator(
        agents=[phone], agi_url=f"agi://127.0.0.1:{free_port()}/ivr", system_name=system_name
    )
    ami_port = await sim.start("127.0.0.1", 0)
    hotline: Hotline | None = None
    try:
        settings = system_settings(tmp_path, sim, ami_port, menu)
        await add_agent(settings.db.url, "agent1001", "1001", {"support": 5})

        for name in ("welcome", "main", "invalid", "enter-ticket", "bad-number", "ticket-intro"):
            sim.prompt_lengths[_prompt(settings, name)] = PROMPT_S
        for name in ("ticket-open", "ticket-in-progress", "ticket-done", "not-found", "unavailable"):
            sim.prompt_lengths[_prompt(settings, name)] = PROMPT_S

        hotline = Hotline(settings)
        watch = Watch(hotline.bus.subscribe("e2e-test", *watch_kinds, maxsize=10_000))
        await hotline.start()
        if ivr_reachable:
            sim.agi_url = f"agi://127.0.0.1:{hotline.ivr.port}/ivr"
        yield System(sim, hotline, watch)
    finally:
        if hotline is not None:
            await hotline.stop()
        await sim.stop()


def system_settings(tmp_path: Path, sim: SwitchSimulator, ami_port: int, menu: str = MENU) -> Settings:
    """Hotline's settings for a test system: the simulator's AMI, the test's menu, everything
    else on loopback and under ``tmp_path``, short wrap-ups."""
    menus = tmp_path / "menus"
    menus.mkdir()
    (menus / f"{NUMBER}.yaml").write_text(menu, encoding="utf-8")
    settings = Settings()
    settings.ami.host, settings.ami.port = "127.0.0.1", ami_port
    settings.ami.username, settings.ami.secret = sim.username, sim.secret
    settings.agi.host, settings.agi.port = "127.0.0.1", 0
    settings.agi.menus_dir = str(menus)
    settings.agi.prompts_dir = str(tmp_path / "prompts")
    settings.http.host, settings.http.port = "127.0.0.1", 0
    settings.db.url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    settings.data_dir = str(tmp_path)
    settings.recording.spool_dir = str(tmp_path / "spool")
    settings.recording.store_dir = str(tmp_path / "recordings")
    settings.acd.wrapup_s = 0.3
    return settings


def _prompt(settings: Settings, name: str) -> str:
    return f"{Path(settings.agi.prompts_dir).resolve()}/{NUMBER}/en/{name}"
