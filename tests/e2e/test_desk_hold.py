"""Hold from the agent desktop through the whole system: Hotline's AmiSwitch holds and resumes
a call the router delivered, on the simulated switch running the production dialplan; the
tracker reports it held and resumed, the ACD keeps the agent on the call, and it ends once."""

from __future__ import annotations

from pathlib import Path

from acd.events import AgentStateChanged
from acd.models import AgentState
from cti.events import (
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    CallTransferred,
    SwitchResynced,
)
from cti.simulator import CallerScript
from tests.e2e.system import running_system

KINDS = (SwitchResynced, CallOffered, CallAnswered, CallHeld, CallResumed, CallTransferred, CallEnded)
CUSTOMER = "13800131001"


async def test_a_delivered_call_is_held_and_resumed_from_the_desktop_and_ends_once(tmp_path: Path) -> None:
    async with running_system(tmp_path, (*KINDS, AgentStateChanged), phone_hangup_after_s=None) as system:
        hotline, watch = system.hotline, system.watch
        await watch.until(SwitchResynced)
        await hotline.acd.login("agent1001")
        await watch.until(AgentStateChanged, lambda e: e.state is AgentState.AVAILABLE)
        record = system.sim.place_call(CallerScript(caller=CUSTOMER, presses=((0.3, "0"),)))
        offered = await watch.until(CallOffered)
        answered = await watch.until(CallAnswered, lambda e: e.call_id == offered.call_id)
        switch = hotline.cti.switch

        await switch.hold(offered.channel, answered.agent_channel, request_id="e2e-hold")
        held = await watch.until(CallHeld, lambda e: e.call_id == offered.call_id)
        assert held.channel == answered.agent_channel
        await switch.resume(offered.channel, answered.agent_channel, request_id="e2e-resume")
        resumed = await watch.until(CallResumed, lambda e: e.call_id == offered.call_id)
        assert resumed.channel == answered.agent_channel

        await switch.hangup(offered.channel)
        ended = await watch.until(CallEnded, lambda e: e.call_id == offered.call_id)
        assert ended.agent == "PJSIP/1001"
        await record.done
        assert not watch.all(CallTransferred)
        assert len(watch.all(CallEnded, lambda e: e.call_id == offered.call_id)) == 1
        # Hold is part of the call: the agent went on call once and to wrap-up once.
        await watch.until(AgentStateChanged, lambda e: e.state is AgentState.WRAP_UP)
        states = [
            (e.previous, e.state) for e in watch.all(AgentStateChanged, lambda e: e.agent == "agent1001")
        ]
        assert states.count((AgentState.RINGING, AgentState.ON_CALL)) == 1
        assert states.count((AgentState.ON_CALL, AgentState.WRAP_UP)) == 1
