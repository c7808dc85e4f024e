"""A running simulator on virtual time and an AMI client for behaviour tests."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from cti.ami_protocol import AmiMessage, first, format_action
from cti.events import SwitchEvent
from cti.simulator import AgentScript, Dialplan, SwitchSimulator, VirtualClock
from cti.tracker import CallTracker
from tests.simulator.capture import CaptureClient, TimedAction, unused_port

_ids = itertools.count(1)


class Ami(CaptureClient):
    async def action(self, name: str, *, holds_time: bool = True, **fields: object) -> AmiMessage:
        action_id = f"t-{next(_ids)}"
        text = format_action(name, action_id, fields).decode()
        await self.send(TimedAction(0.0, text, action_id, name), holds_time=holds_time)
        return next(m for m in self.messages if "Response" in m and first(m, "ActionID") == action_id)

    async def sync(self) -> None:
        """Everything the switch wrote before now has been read: a Ping's answer follows it."""
        await self.action("Ping")

    def events(self, name: str) -> list[AmiMessage]:
        return [m for m in self.messages if m.get("Event") == name]

    def domain_events(self) -> list[SwitchEvent]:
        tracker = CallTracker()
        return [e for m in self.messages for e in tracker.feed(m)]


@dataclass(slots=True)
class Rig:
    clock: VirtualClock
    sim: SwitchSimulator
    ami: Ami
    port: int

    async def connect(self, *, login: bool = True, events: str = "on") -> Ami:
        client = Ami(self.clock)
        with self.clock.busy():
            await client.connect(self.port)
            async with asyncio.timeout(5):
                await client.banner.wait()
        if login:
            await client.action("Login", Username="hotline", Secret="hotline-secret", Events=events)
        return client


@asynccontextmanager
async def rig(
    agents: Iterable[AgentScript] = (),
    members: dict[str, list[str]] | None = None,
    agi_url: str = "",
    dialplan: Dialplan = Dialplan.CAPTURES,
    recordings_dir: Path | None = None,
    system_name: str = "",
) -> AsyncIterator[Rig]:
    clock = VirtualClock()
    ticking = asyncio.create_task(clock.run())
    url = agi_url or f"agi://127.0.0.1:{await unused_port()}/ivr"
    sim = SwitchSimulator(
        clock=clock,
        agents=agents,
        members=members,
        agi_url=url,
        dialplan=dialplan,
        recordings_dir=recordings_dir,
        system_name=system_name,
    )
    port = await sim.start()
    ami = Ami(clock)
    try:
        with clock.busy():
            await ami.connect(port)
            async with asyncio.timeout(5):
                await ami.banner.wait()
        await ami.action("Login", Username="hotline", Secret="hotline-secret")
        yield Rig(clock, sim, ami, port)
    finally:
        await sim.stop()
        ticking.cancel()
