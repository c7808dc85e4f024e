"""One Hotline, two Asterisk servers (two simulators, systemnames "bj" and "sh"): each caller is
delivered to an agent whose phone is homed on the caller's server, actions reach the server of
the channel they name, and one server's link going down or resyncing leaves the other's calls
alone (docs/scale.md, "Several Asterisk servers")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from acd.events import AgentStateChanged
from acd.models import AgentState
from cti.events import (
    CallAnswered,
    CallEnded,
    CallQueued,
    CallRinging,
    SwitchConnected,
    SwitchDisconnected,
    SwitchResynced,
)
from cti.simulator import AgentScript, CallerScript, SwitchSimulator
from hotline.app import Hotline
from ivr.events import IvrCompleted
from tests.e2e.system import PROMPT_S, Watch, _prompt, add_agent, free_port, running_system, system_settings

KINDS = (
    SwitchConnected,
    SwitchDisconnected,
    SwitchResynced,
    IvrCompleted,
    CallQueued,
    CallRinging,
    CallAnswered,
    CallEnded,
    AgentStateChanged,
)


@dataclass(slots=True)
class TwoServers:
    bj: SwitchSimulator
    sh: SwitchSimulator
    hotline: Hotline
    watch: Watch

    async def available(self, agent: str) -> None:
        await self.hotline.acd.login(agent)
        await self.watch.until(
            AgentStateChanged, lambda e: e.agent == agent and e.state is AgentState.AVAILABLE
        )

    def call(self, sim: SwitchSimulator, caller: str, *, hangup_after_s: float | None = None):
        return sim.place_call(
            CallerScript(caller=caller, presses=((0.3, "0"),), hangup_after_s=hangup_after_s)
        )


def _simulator(name: str, extension: str, elsewhere: str) -> SwitchSimulator:
    """A server with ``extension``'s phone registered; with ``elsewhere`` also listed in its
    fallback queues (as one queues.conf for every server has it), not registered there."""
    phones = [AgentScript(extension, name=f"Agent {extension}", answer_after_s=0.3, hangup_after_s=0.5)]
    if elsewhere:
        phones.append(AgentScript(elsewhere, registered=False))
    # Both count their ids from the same start: without a systemname they would make the same ids.
    return SwitchSimulator(agents=phones, agi_url=f"agi://127.0.0.1:{free_port()}/ivr", system_name=name)


@asynccontextmanager
async def two_servers(
    tmp_path: Path, *, first_named: bool = True, shared: bool = False
) -> AsyncIterator[TwoServers]:
    """Servers "bj" (phone 1001; unnamed unless ``first_named``) and "sh" (phone 3001); with
    ``shared`` each lists the other's phone too."""
    first = "bj" if first_named else ""
    bj = _simulator(first, "1001", "3001" if shared else "")
    sh = _simulator("sh", "3001", "1001" if shared else "")
    bj_port, sh_port = await bj.start("127.0.0.1", 0), await sh.start("127.0.0.1", 0)
    hotline: Hotline | None = None
    try:
        settings = system_settings(tmp_path, bj, bj_port)
        settings.ami.name, settings.ami.servers = first, [f"sh=127.0.0.1:{sh_port}"]
        settings.ami.reconnect_initial_s = settings.ami.reconnect_max_s = 0.2
        await add_agent(settings.db.url, "agent1001", "1001", {"support": 5})
        await add_agent(settings.db.url, "agent3001", "3001", {"support": 5})
        for sim in (bj, sh):
            for name in ("welcome", "main"):
                sim.prompt_lengths[_prompt(settings, name)] = PROMPT_S

        hotline = Hotline(settings)
        watch = Watch(hotline.bus.subscribe("e2e-test", *KINDS, maxsize=10_000))
        await hotline.start()
        for sim in (bj, sh):
            sim.agi_url = f"agi://127.0.0.1:{hotline.ivr.port}/ivr"
        for server in (first, "sh"):
            await watch.until(SwitchResynced, lambda e, server=server: e.server == server)
        yield TwoServers(bj, sh, hotline, watch)
    finally:
        if hotline is not None:
            await hotline.stop()
        await bj.stop()
        await sh.stop()


async def test_each_caller_reaches_an_agent_whose_phone_is_on_the_callers_server(tmp_path: Path) -> None:
    async with two_servers(tmp_path) as system:
        watch = system.watch
        homes = {e.server: e.phones for e in watch.all(SwitchResynced)}
        assert homes == {"bj": ("PJSIP/1001",), "sh": ("PJSIP/3001",)}
        # agent3001 is idle longest: by the longest-idle rule alone a bj caller would be theirs.
        await system.available("agent3001")
        await system.available("agent1001")

        on_bj = system.call(system.bj, "13800131001")
        queued = await watch.until(CallQueued)
        assert queued.call_id.startswith("bj-")
        ringing = await watch.until(CallRinging, lambda e: e.call_id == queued.call_id)
        assert ringing.agent == "PJSIP/1001"

        on_sh = system.call(system.sh, "13800131002")
        queued_sh = await watch.until(CallQueued, lambda e: e.call_id.startswith("sh-"))
        assert (
            await watch.until(CallRinging, lambda e: e.call_id == queued_sh.call_id)
        ).agent == "PJSIP/3001"

        for call_id in (queued.call_id, queued_sh.call_id):
            await watch.until(CallAnswered, lambda e, call_id=call_id: e.call_id == call_id)
            await watch.until(CallEnded, lambda e, call_id=call_id: e.call_id == call_id)
        await on_bj.done
        await on_sh.done
        assert (on_bj.agent, on_sh.agent) == ("1001", "3001")
        # queue_log lines go to the call's own server (app_queue's file there).
        async with asyncio.timeout(10):
            while not all(  # noqa: ASYNC110
                any("COMPLETECALLER" in line for line in s.queue_log) for s in (system.bj, system.sh)
            ):
                await asyncio.sleep(0.05)
        assert all(f"|{queued.call_id}|" in line for line in system.bj.queue_log)
        assert all(f"|{queued_sh.call_id}|" in line for line in system.sh.queue_log)


async def test_a_caller_waits_for_an_agent_of_their_server_while_the_other_servers_agent_is_idle(
    tmp_path: Path,
) -> None:
    async with two_servers(tmp_path) as system:
        watch = system.watch
        await system.available("agent3001")
        system.call(system.bj, "13800131001")
        queued = await watch.until(CallQueued)
        await asyncio.sleep(0.5)
        assert watch.all(CallRinging) == []  # sh's idle agent cannot be reached from bj
        await system.available("agent1001")
        ringing = await watch.until(CallRinging, lambda e: e.call_id == queued.call_id)
        assert ringing.agent == "PJSIP/1001"


async def test_one_servers_lost_link_and_resync_leave_the_other_servers_callers_waiting(
    tmp_path: Path,
) -> None:
    # A site that grew: its first server has no systemname; both list every phone.
    async with two_servers(tmp_path, first_named=False, shared=True) as system:
        watch = system.watch
        homes = {e.server: e.phones for e in watch.all(SwitchResynced)}
        assert homes == {"": ("PJSIP/1001",), "sh": ("PJSIP/3001",)}  # where each is registered
        system.call(system.sh, "13800131002")
        waiting = await watch.until(CallQueued, lambda e: e.call_id.startswith("sh-"))

        resyncs = len(watch.all(SwitchResynced))
        system.hotline.servers[0].link.drop("test")  # bj's link: lost, then back with a resync
        lost = await watch.until(SwitchDisconnected)
        assert lost.server == ""
        await watch.until(
            SwitchResynced, lambda e: e.server == "" and len(watch.all(SwitchResynced)) > resyncs
        )
        assert waiting.call_id in [call.call_id for call in system.hotline.acd.router.calls()]
        assert watch.all(CallEnded) == []

        await system.available("agent3001")
        ringing = await watch.until(CallRinging, lambda e: e.call_id == waiting.call_id)
        assert ringing.agent == "PJSIP/3001"
        await watch.until(CallAnswered, lambda e: e.call_id == waiting.call_id)
        # Hung up through Hotline's switch: the hangup reaches sh, where the agent's channel is.
        await system.hotline.switch.hangup(ringing.agent_channel)
        ended = await watch.until(CallEnded, lambda e: e.call_id == waiting.call_id)
        assert ended.cause != "lost-during-disconnect"


async def test_a_single_server_with_a_systemname_is_known_by_it_and_routes_as_any(tmp_path: Path) -> None:
    async with running_system(tmp_path, KINDS, system_name="hq") as system:
        resynced = await system.watch.until(SwitchResynced)
        assert (resynced.server, resynced.phones) == ("hq", ("PJSIP/1001",))
        await system.hotline.acd.login("agent1001")
        system.sim.place_call(CallerScript(caller="13800131001", presses=((0.3, "0"),)))
        ringing = await system.watch.until(CallRinging)
        assert ringing.call_id.startswith("hq-") and ringing.agent == "PJSIP/1001"
