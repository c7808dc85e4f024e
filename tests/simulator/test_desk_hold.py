"""Hold from the agent desktop on the simulated switch: AmiSwitch's hold / resume actions, the
production dialplan's hold contexts, and what the call tracker makes of the stream."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cti.action_results import ActionResult
from cti.ami_protocol import AmiMessage, first
from cti.ami_switch import AmiSwitch
from cti.errors import AmiActionFailed
from cti.events import (
    CallAnswered,
    CallEnded,
    CallHeld,
    CallResumed,
    CallTransferred,
    RecordingStopped,
    SwitchEvent,
)
from cti.simulator import AgentScript, CallerScript, desk_hold
from tests.simulator.helpers import Rig
from tests.simulator.test_hotline_dialplan import apps, conf_steps, hotline, path_in


class RigSender:
    """AmiSwitch's link, played by the test's AMI client on virtual time."""

    def __init__(self, r: Rig) -> None:
        self.r = r

    async def send_action(
        self,
        action: str,
        fields: Mapping[str, object] | None = None,
        *,
        timeout_s: float | None = None,
        completion_event: str = "",
        blocks_session: bool = False,
    ) -> ActionResult:
        response = await self.r.ami.action(
            action, **{k: v for k, v in (fields or {}).items() if v is not None}
        )
        if first(response, "Response") == "Error":
            raise AmiActionFailed(action, first(response, "Message"), first(response, "ActionID"))
        return ActionResult(action, first(response, "ActionID"), response)


async def answered_call(r: Rig, caller: CallerScript) -> tuple[str, str]:
    """A caller delivered by Hotline's Redirect to agent 1001, who answers: (caller, agent) channels."""
    r.sim.place_call(caller)
    await r.clock.sleep(10.0)
    channel = first(r.ami.events("QueueCallerJoin")[0], "Channel")
    await r.ami.action("Redirect", Channel=channel, Context="hotline-deliver", Exten="1001")
    await r.clock.sleep(5.0)
    agent = first(r.ami.events("DialEnd")[-1], "DestChannel")
    assert first(r.ami.events("DialEnd")[-1], "DialStatus") == "ANSWER"
    return channel, agent


def kinds(events: list[SwitchEvent]) -> list[str]:
    return [type(e).__name__ for e in events if type(e).__name__ in WATCHED]


WATCHED = {"CallAnswered", "CallHeld", "CallResumed", "CallTransferred", "CallAbandoned", "CallEnded"}
AGENTS = [AgentScript("1001", answer_after_s=1.0)]


def of(r: Rig, event: str, channel: str) -> list[AmiMessage]:
    return [m for m in r.ami.events(event) if first(m, "Channel") == channel]


async def test_hold_and_resume_keep_the_call_whole_and_report_held_then_resumed() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        switch = AmiSwitch(RigSender(r))
        caller, agent = await answered_call(r, CallerScript(hangup_after_s=60.0))
        await switch.hold(caller, agent, request_id="hold-1")
        await r.clock.sleep(5.0)
        assert "hotline-hold:MusicOnHold" in apps(r, caller)
        assert "hotline-hold-agent:Wait" in apps(r, agent)
        assert [first(m, "Class") for m in of(r, "MusicOnHoldStart", caller)][-1] == "default"
        assert r.sim.find_channel(agent) is not None  # the agent's leg is kept up, silent
        await switch.resume(caller, agent, request_id="resume-1")
        await r.clock.sleep(5.0)
        assert "hotline-resume:Bridge" in apps(r, caller)
        assert len(r.ami.events("BridgeCreate")) == 2  # the answer's bridge, then the resume's
        entered = [first(m, "Channel") for m in r.ami.events("BridgeEnter")]
        assert entered == [agent, caller, agent, caller]
        # Bridge() takes the agent's leg from its Wait as it is: no other channel, no Rename, no
        # Newexten; it enters one priority past the Wait (capture 17).
        assert [first(m, "Channel") for m in r.ami.events("Newchannel")] == [caller, agent]
        assert r.ami.events("Rename") == []
        resumed = r.ami.events("BridgeEnter")[2]
        assert (first(resumed, "Context"), first(resumed, "Priority")) == ("hotline-hold-agent", "3")
        assert first(of(r, "Newexten", agent)[-1], "Application") == "Wait"
        await r.sim.wait_calls_ended()
        await r.ami.sync()
        events = r.ami.domain_events()
        assert kinds(events) == ["CallAnswered", "CallHeld", "CallResumed", "CallEnded"]
        held = next(e for e in events if isinstance(e, CallHeld))
        resumed = next(e for e in events if isinstance(e, CallResumed))
        assert held.channel == resumed.channel == agent
        ended = next(e for e in events if isinstance(e, CallEnded))
        answered = next(e for e in events if isinstance(e, CallAnswered))
        assert ended.agent == answered.agent == "PJSIP/1001"
        # The caller's recording ran across hold and resume: one file, stopped at the hang-up.
        assert len(r.ami.events("MixMonitorStart")) == 1
        assert [type(e) for e in events if isinstance(e, RecordingStopped)] == [RecordingStopped]
        assert r.ami.events("AgentComplete") == []  # delivered by Dial, not app_queue


async def test_a_caller_who_hangs_up_on_hold_ends_the_call_and_the_agents_leg() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        switch = AmiSwitch(RigSender(r))
        caller, agent = await answered_call(r, CallerScript(hangup_after_s=25.0))
        await switch.hold(caller, agent)
        await r.sim.wait_calls_ended()
        await r.clock.sleep(1.0)
        await r.ami.sync()
        assert r.sim.find_channel(agent) is None and r.sim.find_channel(caller) is None
        assert "hotline-hold:ExecIf" in apps(r, caller)  # its h extension hung up the agent's leg
        events = r.ami.domain_events()
        assert kinds(events) == ["CallAnswered", "CallHeld", "CallEnded"]
        assert next(e for e in events if isinstance(e, CallEnded)).cause == "normal"


async def test_an_agent_leg_hung_up_on_hold_ends_the_call_no_caller_left_in_music() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        switch = AmiSwitch(RigSender(r))
        caller, agent = await answered_call(r, CallerScript(hangup_after_s=600.0))
        await switch.hold(caller, agent)
        await r.clock.sleep(3.0)
        await switch.hangup(agent)
        await r.clock.sleep(1.0)
        await r.ami.sync()
        assert r.sim.find_channel(caller) is None  # not stranded in music on hold
        assert [first(m, "AppData") for m in of(r, "Newexten", agent)][-1] == f"1?SoftHangup({caller})"
        events = r.ami.domain_events()
        assert kinds(events) == ["CallAnswered", "CallHeld", "CallEnded"]


async def test_past_the_hold_limit_the_caller_waits_for_an_agent_again() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        switch = AmiSwitch(RigSender(r))
        caller, agent = await answered_call(r, CallerScript(hangup_after_s=960.0))
        await switch.hold(caller, agent)
        await r.clock.sleep(905.0)
        await r.ami.sync()
        assert r.sim.find_channel(agent) is None
        assert "hotline-requeue:Goto" in apps(r, caller) and apps(r, caller)[-1] == "hotline-wait:Queue"
        events = r.ami.domain_events()
        assert kinds(events) == ["CallAnswered", "CallHeld", "CallResumed", "CallTransferred"]
        transferred = next(e for e in events if isinstance(e, CallTransferred))
        assert (transferred.from_agent, transferred.to) == ("PJSIP/1001", "support")
        await r.sim.wait_calls_ended()


async def test_a_resume_whose_agent_leg_is_gone_sends_the_caller_back_to_the_queue() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        switch = AmiSwitch(RigSender(r))
        caller, agent = await answered_call(r, CallerScript(hangup_after_s=200.0))
        await switch.hold(caller, agent)
        await r.clock.sleep(2.0)
        await switch.resume(caller, "PJSIP/1001-00000099")
        await r.clock.sleep(2.0)
        await r.ami.sync()
        results = [
            first(m, "Value") for m in of(r, "VarSet", caller) if first(m, "Variable") == "BRIDGERESULT"
        ]
        assert results == [""]  # only the reset: Bridge() found no such channel
        assert apps(r, caller)[-1] == "hotline-wait:Queue"
        # The real agent leg was not the one named: it waits in silence until Hotline hangs it
        # up or its own limit does; its h leaves the caller alone (the hold is over).
        assert r.sim.find_channel(agent) is not None
        await switch.hangup(agent)
        await r.sim.wait_calls_ended()
        await r.ami.sync()
        events = r.ami.domain_events()
        # Hotline is not running here: after its wait the fallback queue's app_queue answers it.
        assert kinds(events) == [
            *("CallAnswered", "CallHeld", "CallResumed", "CallTransferred"),
            *("CallAnswered", "CallEnded"),
        ]


async def test_hold_of_a_channel_that_does_not_exist_is_refused_with_asterisks_message() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        switch = AmiSwitch(RigSender(r))
        caller, _ = await answered_call(r, CallerScript(hangup_after_s=30.0))
        try:
            await switch.hold(caller, "PJSIP/1001-000000ff")
        except AmiActionFailed as failure:
            assert failure.message == "No such channel"
        else:
            raise AssertionError("hold of a missing leg must fail")
        assert "hotline-hold:MusicOnHold" not in apps(r, caller)
        await r.sim.wait_calls_ended()
        await r.ami.sync()
        assert kinds(r.ami.domain_events()) == ["CallAnswered", "CallEnded"]


async def test_the_simulated_hold_runs_the_applications_extensions_conf_lists() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        switch = AmiSwitch(RigSender(r))
        caller, agent = await answered_call(r, CallerScript(hangup_after_s=1000.0))
        await switch.hold(caller, agent)
        await r.clock.sleep(2.0)
        await switch.resume(caller, agent)
        await r.clock.sleep(2.0)
        await switch.hangup(agent)  # the agent hangs up after the resume: the caller goes on
        await r.clock.sleep(1.0)
        assert path_in(r, caller, "hotline-resume") == conf_steps("hotline-resume", "s")[:5]
        # Leaving the bridge the agent's leg shows hotline-hold-agent's first priority as the
        # application it ran, AppDial (capture 17); its NoOp writes no Newexten.
        held_leg = conf_steps("hotline-hold-agent", "s")
        assert path_in(r, agent, "hotline-hold-agent") == ["AppDial", *held_leg[1:2]]
        await r.sim.wait_calls_ended()
    async with hotline(AGENTS, ivr=[]) as r:
        switch = AmiSwitch(RigSender(r))
        caller, agent = await answered_call(r, CallerScript(hangup_after_s=1000.0))
        await switch.hold(caller, agent)
        await r.clock.sleep(901.0)
        held = path_in(r, caller, "hotline-hold")
        # The whole context, to the limit; its first priority shows as Dial, the application
        # the caller ran when the Redirect took it (capture 17).
        assert held == ["Dial", *conf_steps("hotline-hold", "s")[1:]]
        assert path_in(r, agent, "hotline-hold-agent")[-1] == conf_steps("hotline-hold-agent", "h")[0]
        assert path_in(r, caller, "hotline-requeue") == conf_steps("hotline-requeue", "s")
        await r.sim.wait_calls_ended()
    conf = globals_in_conf()
    assert int(conf["HOTLINE_HOLD_MAX_S"]) == desk_hold.HOLD_MAX_S
    assert int(conf["HOTLINE_HOLD_AGENT_MAX_S"]) == desk_hold.HOLD_AGENT_MAX_S


def globals_in_conf() -> dict[str, str]:
    conf = Path(__file__).parents[2] / "asterisk-config" / "extensions.conf"
    values: dict[str, str] = {}
    section = ""
    for raw in conf.read_text().splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("["):
            section = line[1 : line.index("]")]
        elif section == "globals" and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


async def test_a_second_hold_before_the_first_shows_restarts_the_contexts_and_loses_nothing() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        switch = AmiSwitch(RigSender(r))
        caller, agent = await answered_call(r, CallerScript(hangup_after_s=40.0))
        await switch.hold(caller, agent)
        await switch.hold(caller, agent)  # a double click
        await r.clock.sleep(3.0)
        assert r.sim.find_channel(agent) is not None and r.sim.find_channel(caller) is not None
        await switch.resume(caller, agent)
        await r.sim.wait_calls_ended()
        await r.ami.sync()
        assert kinds(r.ami.domain_events()) == ["CallAnswered", "CallHeld", "CallResumed", "CallEnded"]


async def test_a_call_app_queue_delivered_in_the_fallback_is_held_and_resumed_the_same_way() -> None:
    async with hotline(AGENTS) as r:  # no FastAGI server: the fallback queue's app_queue rings 1001
        switch = AmiSwitch(RigSender(r))
        r.sim.place_call(CallerScript(hangup_after_s=40.0))
        await r.clock.sleep(10.0)
        [connect] = r.ami.events("AgentConnect")
        caller, agent = first(connect, "Channel"), first(connect, "DestChannel")
        await switch.hold(caller, agent)
        await r.clock.sleep(5.0)
        assert r.ami.events("AgentComplete") == []  # app_queue goes on following the call
        await switch.resume(caller, agent)
        await r.sim.wait_calls_ended()
        await r.ami.sync()
        assert kinds(r.ami.domain_events()) == ["CallAnswered", "CallHeld", "CallResumed", "CallEnded"]
        assert r.sim.find_channel(agent) is None


async def test_a_call_held_twice_is_resumed_twice_and_ends_once() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        switch = AmiSwitch(RigSender(r))
        caller, agent = await answered_call(r, CallerScript(hangup_after_s=60.0))
        for _ in range(2):
            await switch.hold(caller, agent)
            await r.clock.sleep(2.0)
            await switch.resume(caller, agent)
            await r.clock.sleep(2.0)
        assert r.sim.find_channel(agent) is not None  # talking again after the second resume
        await r.sim.wait_calls_ended()
        await r.ami.sync()
        assert kinds(r.ami.domain_events()) == [
            *("CallAnswered", "CallHeld", "CallResumed", "CallHeld", "CallResumed", "CallEnded")
        ]
        results = [
            first(m, "Value") for m in of(r, "VarSet", caller) if first(m, "Variable") == "BRIDGERESULT"
        ]
        # Reset before each Bridge(); SUCCESS whenever a bridge was made and ended — held again,
        # or the caller hanging up in it (capture 17).
        assert results == ["", "SUCCESS", "", "SUCCESS"]
