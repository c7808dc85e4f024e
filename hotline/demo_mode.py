"""``hotline serve --demo``: the whole system on the switch simulator, with people to watch.

The simulator plays Asterisk with phones 1001–1006 that answer by themselves. Extension 1001
belongs to the demo account ``agent1001``, whom a person logs in from the browser; 1002–1006
are robot agents the ACD logs in at start, so calls flow from the first second. Callers arrive
steadily, some of them customers from the demo CRM data so that screen-pops show real cards.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from acd.gate import MarketingPolicy
from acd.models import AgentProfile
from acd.queue_file import DEFAULT_QUEUES_FILE, load_queue_file
from acd.service import AcdService
from agent_api.app import ensure_demo_accounts
from agent_api.security import Passwords
from crm.customers import count_customers
from crm.db import Database
from crm.demo import demo_caller_numbers, demo_ticket_numbers, load_demo_data
from crm.reporting.demo_history import DemoAgent, DemoQueue, seed_history
from cti.simulator import AgentScript, DemoTraffic, SwitchSimulator
from hotline.settings import AmiSettings

log = logging.getLogger(__name__)

DEMO_CUSTOMERS = 2_000
DEMO_RATE = 0.2  # calls per second: one caller every five seconds on average
DEMO_STAY_S = (25.0, 60.0)  # a patient caller hangs up this long after dialling, at random
DEMO_HISTORY_DAYS = 14  # report history seeded once, so every report shows data from the start
# "Market when idle, serve when busy": two agents may present offers while fewer than three
# callers wait; marketing stops at three and resumes when the queue is down to one.
DEMO_MARKETING = MarketingPolicy(
    "default", ("support", "sales"), max_agents=2, stop_waiting=3, resume_waiting=1, min_hold_s=10
)
# What demo callers choose in the production menu (ivr/menus/4008123456.yaml), as shares of the
# callers the menu asks (known VIPs and callers with an open complaint are routed before it):
# 0 an agent (support), 3 to buy (sales), 1 a ticket's status by its number, 4 a callback, and
# some who press nothing, whom the menu sends to support after its retries.
DEMO_CHOICES = (("0", 0.40), ("3", 0.28), ("1", 0.12), ("4", 0.05), ("", 0.15))
DEMO_ENGLISH = 0.1  # callers who choose English at the language prompt
HUMAN_EXTENSION = "1001"
ROBOT_TALK_S = 90.0  # longer than any demo caller stays (DEMO_STAY_S counts from the dial)
ROBOTS = (
    ("robot1002", "1002", "演示坐席 1002", {"support": 6, "sales": 3, "vip": 7}),
    ("robot1003", "1003", "演示坐席 1003", {"support": 4, "complaints": 7}),
    ("robot1004", "1004", "演示坐席 1004", {"sales": 8}),
    ("robot1005", "1005", "Demo agent 1005", {"support": 5, "sales": 5, "vip": 5}),
    ("robot1006", "1006", "Demo agent 1006", {"complaints": 5, "support": 3}),
)
# The history's people: the human demo agent and the robots, in an early and a late shift.
HISTORY_SHIFTS = {
    "agent1001": (9, 18),
    "robot1002": (8, 17),
    "robot1003": (8, 17),
    "robot1004": (12, 21),
    "robot1005": (12, 21),
    "robot1006": (13, 22),
}
# Share of the calls, and the median talk, per demo queue.
SHANGHAI = ZoneInfo("Asia/Shanghai")
HISTORY_QUEUES = {
    "support": (0.5, 150.0),
    "sales": (0.25, 200.0),
    "vip": (0.1, 180.0),
    "complaints": (0.15, 300.0),
}


class MenuCaller:
    """Draws one demo caller's keys through the production menu: the language, then a choice a
    few seconds later (while the menu's prompt plays or waits), then a ticket number and #."""

    def __init__(self, tickets: list[str]) -> None:
        self.tickets = tickets

    def __call__(self, rng: random.Random) -> tuple[tuple[float, str], ...]:
        language_at = round(rng.uniform(2.0, 3.5), 3)
        presses = [(language_at, "2" if rng.random() < DEMO_ENGLISH else "1")]
        choice = rng.choices([c for c, _ in DEMO_CHOICES], [share for _, share in DEMO_CHOICES])[0]
        if choice == "1" and not self.tickets:
            choice = "0"
        if choice:
            choice_at = round(language_at + rng.uniform(1.0, 3.0), 3)
            presses.append((choice_at, choice))
            if choice == "1":
                presses.append((round(choice_at + rng.uniform(2.0, 3.0), 3), rng.choice(self.tickets) + "#"))
        return tuple(presses)


def round_the_clock_menus(source: Path, target: Path) -> Path:
    """Copies of the menus in ``source`` whose business hours are 00:00-24:00 every day, so the
    demo center answers calls whatever the hour a new user starts it. Returns ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.yaml")):
        menu = yaml.safe_load(path.read_text(encoding="utf-8"))
        for node in (menu.get("nodes") or {}).values():
            if isinstance(node, dict) and node.get("kind") == "business_hours":
                node["workdays"] = node["restdays"] = "00:00-24:00"
        (target / path.name).write_text(yaml.safe_dump(menu, allow_unicode=True, sort_keys=False), "utf-8")
    return target


class DemoSwitch:
    """The simulator in Asterisk's place; ``recordings_dir`` (the recording service's spool) gets
    the WAV files its MixMonitor writes, so recorded demo calls are stored like real ones."""

    def __init__(
        self,
        db: Database,
        *,
        agi_port: int,
        recordings_dir: Path | None = None,
        tz: tzinfo = SHANGHAI,
    ) -> None:
        self.db = db
        self.tz = tz
        self.agi_port = agi_port
        self.recordings_dir = recordings_dir
        self.simulator: SwitchSimulator | None = None
        self.traffic: DemoTraffic | None = None

    async def prepare(self) -> None:
        """Demo accounts and demo customers, made once and kept in the demo database."""
        await ensure_demo_accounts(self.db, Passwords())
        if await count_customers(self.db) == 0:
            report = await load_demo_data(self.db, DEMO_CUSTOMERS, tz=self.tz)
            log.info("demo_data_loaded", extra={"kv": {"customers": report.customers}})
        if DEMO_HISTORY_DAYS:
            await self._seed_history()

    async def _seed_history(self) -> None:
        """Two weeks of calls, agent states, IVR sessions, contacts and offers for the reports."""
        started = time.perf_counter()
        queues = [
            DemoQueue(q.name, q.skill, share, q.service_level_s, talk, q.max_wait_s)
            for q in load_queue_file(DEFAULT_QUEUES_FILE).values()
            for share, talk in [HISTORY_QUEUES.get(q.name, (0.05, 180.0))]
        ]
        skills = {"agent1001": {"support", "vip", "sales"}} | {agent: set(s) for agent, _, _, s in ROBOTS}
        agents = [
            DemoAgent(login, frozenset(skills[login]), shift) for login, shift in HISTORY_SHIFTS.items()
        ]
        history = await seed_history(
            self.db, queues=queues, agents=agents, tz=self.tz, now=datetime.now(UTC), days=DEMO_HISTORY_DAYS
        )
        if history is not None:
            fields = {
                "calls": history.calls,
                "facts": history.facts,
                "contacts": history.contacts,
                "seconds": round(time.perf_counter() - started, 2),
            }
            log.info("demo_history_seeded", extra={"kv": fields})

    async def start(self, ami: AmiSettings) -> AmiSettings:
        """Start the simulator; returns the AMI settings that reach it."""
        secret = secrets.token_urlsafe(18)
        phones = [AgentScript(HUMAN_EXTENSION, name="Agent 1001", answer_after_s=2.0)]
        # A robot agent ends a call it is still on after ROBOT_TALK_S (a callback's customer never
        # hangs up in the simulator); the demo's callers have all hung up well before.
        phones += [
            AgentScript(extension, name=name, answer_after_s=1.5, hangup_after_s=ROBOT_TALK_S)
            for _, extension, name, _ in ROBOTS
        ]
        # Under the production dialplan every phone is a static member of the -fallback queues.
        self.simulator = SwitchSimulator(
            agents=phones,
            agi_url=f"agi://127.0.0.1:{self.agi_port}/ivr",
            secret=secret,
            recordings_dir=self.recordings_dir,
        )
        port = await self.simulator.start("127.0.0.1", 0)
        log.info("demo_switch_started", extra={"kv": {"ami_port": port, "phones": len(phones)}})
        return replace(ami, host="127.0.0.1", port=port, username="hotline", secret=secret)

    def robot_agents(self) -> list[AgentProfile]:
        return [
            AgentProfile(agent, extension, skills, name=name) for agent, extension, name, skills in ROBOTS
        ]

    async def begin_traffic(self, acd: AcdService) -> None:
        """Log the robot agents in and let callers arrive."""
        assert self.simulator is not None, "start() first"
        acd.gate.set_policy(DEMO_MARKETING)
        for agent, *_ in ROBOTS:
            await acd.login(agent)
        self.traffic = DemoTraffic(
            self.simulator,
            rate=DEMO_RATE,
            stay_s=DEMO_STAY_S,
            numbers=await demo_caller_numbers(self.db),
            menu=MenuCaller(await demo_ticket_numbers(self.db)),
        )
        self.traffic.start()

    async def stop_traffic(self) -> None:
        if self.traffic is not None:
            await self.traffic.stop()

    async def stop(self) -> None:
        if self.simulator is not None:
            await self.simulator.stop()
