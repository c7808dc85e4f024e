"""The consult transfer on the simulated switch (cti/simulator/consult.py): AmiSwitch's consult
steps give, through the tracker, the domain events the real switch's captures give
(tests/cti/test_tracker_consult.py)."""

from __future__ import annotations

import pytest

from cti.ami_switch import AmiSwitch
from cti.errors import AmiActionFailed
from cti.events import (
    CallAnswered,
    CallEnded,
    ConferenceStarted,
    ConsultAnswered,
    ConsultStarted,
    MemberStatusChanged,
)
from cti.simulator import AgentScript, CallerScript
from tests.cti import test_tracker_consult as tracker_consult
from tests.simulator.test_desk_hold import RigSender, answered_call
from tests.simulator.test_hotline_dialplan import hotline

AGENTS = [AgentScript("1001", answer_after_s=1.0), AgentScript("1002", answer_after_s=2.0)]


def after_answer(r) -> list[str]:  # type: ignore[no-untyped-def]
    names = [type(e).__name__ for e in r.ami.domain_events() if not isinstance(e, MemberStatusChanged)]
    names = [n for n in names if n not in ("RecordingStarted", "RecordingStopped")]
    return names[names.index("CallAnswered") + 1 :]


async def consulting(r):  # type: ignore[no-untyped-def]
    switch = AmiSwitch(RigSender(r))
    caller, agent = await answered_call(r, CallerScript(hangup_after_s=60.0))
    await switch.consult(agent, "1002")
    await r.clock.sleep(5.0)  # the consulted phone rings, answers, the agents talk
    return switch, caller, agent


def phone_answering(messages: list, phone: str) -> list[str]:  # type: ignore[type-arg]
    """What the switch says of the consulted phone from its ring to its bridge."""
    told = []
    for m in messages:
        name = m.get("Event")
        if name == "Newstate" and m.get("Channel") == phone:
            told.append(f"Newstate {m.get('ChannelStateDesc')}")
        elif name == "DialEnd" and m.get("DestChannel") == phone:
            told.append(f"DialEnd {m.get('DialStatus')}")
        elif name == "BridgeEnter" and m.get("Channel") == phone:
            told.append("BridgeEnter")
            break
    return told


async def test_the_consulted_agent_picking_up_reads_as_on_the_real_switch() -> None:
    capture = tracker_consult.messages("cancel")
    real_phone = next(
        m["DestChannel"]
        for m in capture
        if m.get("Event") == "DialBegin" and "hotline-consult" in m.get("Channel", "")
    )
    async with hotline(AGENTS, ivr=[]) as r:
        await consulting(r)
        [started] = [e for e in r.ami.domain_events() if isinstance(e, ConsultStarted)]
        [answered] = [e for e in r.ami.domain_events() if isinstance(e, ConsultAnswered)]
        assert (answered.agent, answered.target) == ("PJSIP/1001", "PJSIP/1002")
        assert answered.target_channel == started.target_channel
        assert answered.ring_seconds == pytest.approx(2.0, abs=0.5)  # 1002 answers after 2 s
        assert phone_answering(r.ami.messages, started.target_channel) == phone_answering(capture, real_phone)
        assert phone_answering(capture, real_phone) == [
            "Newstate Ringing",
            "Newstate Up",
            "DialEnd ANSWER",
            "BridgeEnter",
        ]


async def test_a_cancelled_consult_is_reported_as_on_the_real_switch() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        switch, _caller, agent = await consulting(r)
        [started] = [e for e in r.ami.domain_events() if isinstance(e, ConsultStarted)]
        assert (started.agent, started.target) == ("PJSIP/1001", "PJSIP/1002")
        await switch.consult_cancel(agent)
        await r.clock.sleep(2.0)
        assert after_answer(r) == [
            "CallHeld",
            "ConsultStarted",
            "ConsultAnswered",
            "CallResumed",
            "ConsultCancelled",
        ]
        assert r.sim.find_channel(agent) is not None  # the agent talks with the caller again
        assert not [c for c in r.sim.channels if c.startswith(("Local/", "PJSIP/1002"))]
        await r.clock.sleep(60.0)
        assert next(e for e in r.ami.domain_events() if isinstance(e, CallEnded)).agent == "PJSIP/1001"


async def test_a_completed_consult_leaves_the_caller_talking_with_the_consulted_agent() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        switch, caller, agent = await consulting(r)
        await switch.consult_complete(agent)
        await r.clock.sleep(2.0)
        assert after_answer(r) == [
            "CallHeld",
            "ConsultStarted",
            "ConsultAnswered",
            "CallResumed",
            "CallTransferred",
            "CallAnswered",
        ]
        second = [e for e in r.ami.domain_events() if isinstance(e, CallAnswered)][-1]
        assert second.agent == "PJSIP/1002" and second.queue == "support"
        assert r.sim.find_channel(agent) is None
        phone = r.sim.find_channel(second.agent_channel)
        assert phone is not None and phone.bridge is r.sim.find_channel(caller).bridge
        await r.clock.sleep(60.0)
        assert after_answer(r)[-1] == "CallEnded"
        assert next(e for e in r.ami.domain_events() if isinstance(e, CallEnded)).agent == "PJSIP/1002"


async def test_a_three_way_call_goes_on_with_the_caller_when_the_first_agent_leaves() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        switch, caller, agent = await consulting(r)
        await switch.consult_conference(agent)
        await r.clock.sleep(2.0)
        [conference] = [e for e in r.ami.domain_events() if isinstance(e, ConferenceStarted)]
        assert len(r.sim.find_channel(caller).bridge.channels) == 3
        await r.ami.action("Hangup", Channel=agent)
        await r.clock.sleep(2.0)
        assert after_answer(r) == [
            "CallHeld",
            "ConsultStarted",
            "ConsultAnswered",
            "CallResumed",
            "ConferenceStarted",
            "ConferenceLeft",
        ]
        assert r.sim.find_channel(conference.target_channel).bridge is r.sim.find_channel(caller).bridge
        await r.clock.sleep(60.0)
        assert next(e for e in r.ami.domain_events() if isinstance(e, CallEnded)).agent == "PJSIP/1002"


async def test_a_consult_the_consulted_phone_does_not_answer_returns_to_the_caller() -> None:
    agents = [AgentScript("1001", answer_after_s=1.0), AgentScript("1002", answer_after_s=None)]
    async with hotline(agents, ivr=[]) as r:
        switch = AmiSwitch(RigSender(r))
        _caller, agent = await answered_call(r, CallerScript(hangup_after_s=60.0))
        await switch.consult(agent, "1002")
        await r.clock.sleep(20.0)
        assert after_answer(r) == ["CallHeld", "ConsultStarted", "CallResumed", "ConsultCancelled"]


async def test_atxfer_on_a_channel_that_is_gone_is_refused() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        with pytest.raises(AmiActionFailed, match="Channel specified does not exist"):
            await AmiSwitch(RigSender(r)).consult("PJSIP/1001-00000099", "1002")


async def test_an_agent_who_hangs_up_mid_consult_transfers_the_caller_as_on_the_real_switch() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        _switch, caller, agent = await consulting(r)
        await r.ami.action("Hangup", Channel=agent)
        await r.clock.sleep(2.0)
        assert after_answer(r) == [
            "CallHeld",
            "ConsultStarted",
            "ConsultAnswered",
            "CallResumed",
            "CallTransferred",
            "CallAnswered",
        ]
        [transfer] = [m for m in r.ami.events("AttendedTransfer")]
        assert "TransferTargetUniqueid" not in transfer  # as Asterisk 22 writes it then
        second = [e for e in r.ami.domain_events() if isinstance(e, CallAnswered)][-1]
        assert r.sim.find_channel(second.agent_channel).bridge is r.sim.find_channel(caller).bridge
        await r.clock.sleep(60.0)
        assert next(e for e in r.ami.domain_events() if isinstance(e, CallEnded)).agent == "PJSIP/1002"
