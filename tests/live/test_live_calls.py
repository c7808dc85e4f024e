"""Real SIP calls through a real Asterisk running asterisk-config/, seen through Hotline's tracker.

Each test places calls with the SIPp scenarios of tests/sip/, plays Hotline's part itself (the
FastAGI IVR and the router's Redirect to hotline-deliver), and asserts the domain events that
Hotline's CallTracker makes of the AMI stream. Each test dials its own 4008 number so that its
calls are told apart. Skipped, with the reason, when no Asterisk is reachable (conftest.py).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import TypeVar

import pytest
from live_harness import AmiSession, LiveConfig, Sipp, StandInIvr

from cti.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallEvent,
    CallHeld,
    CallOffered,
    CallQueued,
    CallResumed,
    CallRinging,
    CallTransferred,
    IvrLeft,
    IvrStarted,
    RecordingStarted,
)

pytestmark = pytest.mark.live

E = TypeVar("E", bound=CallEvent)
RECORDING = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/(?P<linkedid>[\d.]+)/(?P<uniqueid>[\d.]+)\.wav$")


def events_of(ami: AmiSession, call_id: str, kind: type[E]) -> list[E]:
    return [e for e in ami.events if isinstance(e, kind) and e.call_id == call_id]


async def offered(ami: AmiSession, dialed: str, count: int = 1, within_s: float = 15) -> list[CallOffered]:
    def found() -> list[CallOffered]:
        return [e for e in ami.events if isinstance(e, CallOffered) and e.dialed == dialed]

    await ami.wait_until(lambda: len(found()) >= count, within_s)
    return found()


async def next_of(
    ami: AmiSession,
    call_id: str,
    kind: type[E],
    where: Callable[[E], bool] = lambda e: True,
    within_s: float = 15,
) -> E:
    def found() -> list[E]:
        return [e for e in events_of(ami, call_id, kind) if where(e)]

    await ami.wait_until(found, within_s)
    return found()[0]


async def test_a_waiting_caller_is_delivered_by_redirect_answered_and_recorded(
    ami: AmiSession, ivr: StandInIvr, sipp: Sipp, live_config: LiveConfig
) -> None:
    dialed = "4008000101"
    ivr.plans[dialed] = {"HOTLINE_QUEUE": "support", "QUEUE_PRIO": "0", "HOTLINE_SKILL": "billing"}
    async with sipp.phone("1001"), asyncio.TaskGroup() as calls:
        # A Hotline that ran before may have left the phone paused in the fallback queues
        # (docs/routing.md, "When Hotline dies"); this test is about the queue, not the pause.
        await ami.action("QueuePause", Interface="PJSIP/1001", Paused="false")
        await ami.phone_reachable("1001")
        calls.create_task(sipp.caller("caller.xml", dialed, "-m", "1")())
        (offer,) = await offered(ami, dialed)
        call = offer.call_id
        await next_of(ami, call, CallQueued, lambda e: e.queue == "support")
        await ami.action(
            "Redirect", Channel=offer.channel, Context="hotline-deliver", Exten="1001", Priority=1
        )
        answered = await next_of(ami, call, CallAnswered)
        await next_of(ami, call, CallEnded, within_s=20)

    assert [s.digit for s in ivr.sessions if s.dialed == dialed] == ["1"]
    assert events_of(ami, call, IvrStarted)[0].script.startswith("agi://")
    assert [e.status for e in events_of(ami, call, IvrLeft)] == ["SUCCESS"]
    (ringing,) = events_of(ami, call, CallRinging)
    assert (ringing.agent, ringing.queue) == ("PJSIP/1001", "support")
    assert (answered.agent, answered.queue) == ("PJSIP/1001", "support")
    assert events_of(ami, call, CallEnded)[0].talk_seconds > 0
    (recording,) = events_of(ami, call, RecordingStarted)
    match = RECORDING.search(recording.file)
    assert match and match["linkedid"] == call, recording.file
    if live_config.spool_dir is not None:
        relative = recording.file.split("/monitor/", 1)[1]
        path = live_config.spool_dir / relative
        await ami.wait_until(lambda: path.exists(), 5)
        assert path.stat().st_size > 44  # more than a WAV header: bridged audio was written


async def test_a_missed_delivery_returns_the_caller_to_the_same_queue_with_a_higher_priority(
    ami: AmiSession, ivr: StandInIvr, sipp: Sipp
) -> None:
    dialed = "4008000102"
    ivr.plans[dialed] = {"HOTLINE_QUEUE": "sales", "QUEUE_PRIO": "3"}
    async with sipp.phone("1002", "agent-noanswer.xml"), sipp.phone("1001"), asyncio.TaskGroup() as calls:
        calls.create_task(sipp.caller("caller.xml", dialed, "-m", "1")())
        (offer,) = await offered(ami, dialed)
        call = offer.call_id
        first = await next_of(ami, call, CallQueued)
        await ami.action("Setvar", Channel=offer.channel, Variable="HOTLINE_RING_S", Value="2")
        await ami.action(
            "Redirect", Channel=offer.channel, Context="hotline-deliver", Exten="1002", Priority=1
        )
        await next_of(ami, call, CallRinging, lambda e: e.agent == "PJSIP/1002")
        await ami.wait_until(lambda: len(events_of(ami, call, CallQueued)) == 2, 10)
        await ami.action(
            "Redirect", Channel=offer.channel, Context="hotline-deliver", Exten="1001", Priority=1
        )
        answered = await next_of(ami, call, CallAnswered)
        await next_of(ami, call, CallEnded, within_s=20)

    again = events_of(ami, call, CallQueued)[1]
    assert (first.queue, first.priority) == ("sales", 3)
    assert (again.queue, again.priority) == ("sales", 4)
    assert (answered.agent, answered.queue) == ("PJSIP/1001", "sales")


async def test_a_caller_who_hangs_up_on_hold_is_an_abandon(
    ami: AmiSession, ivr: StandInIvr, sipp: Sipp
) -> None:
    dialed = "4008000103"
    ivr.plans[dialed] = {"HOTLINE_QUEUE": "complaints"}
    async with asyncio.TaskGroup() as calls:
        calls.create_task(sipp.caller("caller-abandon.xml", dialed, "-m", "1")())
        (offer,) = await offered(ami, dialed)
        abandoned = await next_of(ami, offer.call_id, CallAbandoned, within_s=20)
        await next_of(ami, offer.call_id, CallEnded)
    assert abandoned.queue == "complaints"
    assert 2 <= abandoned.wait_seconds <= 10
    assert events_of(ami, offer.call_id, CallAnswered) == []


async def test_a_prompt_is_whispered_to_a_waiting_caller_who_keeps_its_place(
    ami: AmiSession, ivr: StandInIvr, sipp: Sipp
) -> None:
    dialed = "4008000107"
    ivr.plans[dialed] = {"HOTLINE_QUEUE": "support"}
    async with asyncio.TaskGroup() as calls:
        calls.create_task(sipp.caller("caller-abandon.xml", dialed, "-m", "1")())
        (offer,) = await offered(ami, dialed)
        await next_of(ami, offer.call_id, CallQueued)
        # What cti.ami_switch.AmiSwitch.play sends.
        response = await ami.action(
            "Originate",
            Channel="Local/s@hotline-play/n",
            Application="ChanSpy",
            Data=f"{offer.channel},qwES",
            Async="true",
            Variable="PROMPT=beep",
        )
        assert response["Response"] == "Success", response
        action_id = response["ActionID"]

        def originated() -> list:
            return [
                m for m in ami.raw if m.get("Event") == "OriginateResponse" and m.get("ActionID") == action_id
            ]

        await ami.wait_until(originated, 10)
        abandoned = await next_of(ami, offer.call_id, CallAbandoned, within_s=20)
    assert originated()[0]["Response"] == "Success"
    assert abandoned.queue == "support"
    assert [e.queue for e in events_of(ami, offer.call_id, CallQueued)] == ["support"]


async def test_without_hotline_the_fallback_queue_rings_the_agents(ami: AmiSession, sipp: Sipp) -> None:
    dialed = "4008000104"  # no stand-in IVR: FastAGI is refused, AGISTATUS = FAILURE
    async with sipp.phone("1001"), asyncio.TaskGroup() as calls:
        # A Hotline that ran before may have left the phone paused in the fallback queues
        # (docs/routing.md, "When Hotline dies"); this test is about the queue, not the pause.
        await ami.action("QueuePause", Interface="PJSIP/1001", Paused="false")
        await ami.phone_reachable("1001")
        calls.create_task(sipp.caller("caller.xml", dialed, "-m", "1")())
        (offer,) = await offered(ami, dialed)
        answered = await next_of(ami, offer.call_id, CallAnswered, within_s=20)
        await next_of(ami, offer.call_id, CallEnded, within_s=20)
    assert [e.status for e in events_of(ami, offer.call_id, IvrLeft)] == ["FAILURE"]
    assert (answered.agent, answered.queue) == ("PJSIP/1001", "support-fallback")


async def test_a_burst_of_callers_all_queue_and_all_abandon(
    ami: AmiSession, ivr: StandInIvr, sipp: Sipp
) -> None:
    dialed, callers = "4008000105", 8
    ivr.plans[dialed] = {"HOTLINE_QUEUE": "support"}
    async with asyncio.TaskGroup() as calls:
        calls.create_task(
            sipp.caller("caller-abandon.xml", dialed, "-m", str(callers), "-r", "8", "-l", "8")()
        )
        offers = await offered(ami, dialed, count=callers)
        ids = {offer.call_id for offer in offers}
        await ami.wait_until(lambda: all(events_of(ami, call, CallEnded) for call in ids), 30)
    assert len(ids) == callers
    for call in ids:
        assert [e.queue for e in events_of(ami, call, CallQueued)] == ["support"]
        assert len(events_of(ami, call, CallAbandoned)) == 1
    assert sorted(e.position for call in ids for e in events_of(ami, call, CallQueued))[-1] >= 2


async def test_leave_a_message_records_it_and_tells_hotline(
    ami: AmiSession, ivr: StandInIvr, sipp: Sipp, live_config: LiveConfig
) -> None:
    dialed = "4008000106"
    ivr.plans[dialed] = {"HOTLINE_QUEUE": "vip", "HOTLINE_ACTION": "message"}

    def message_events() -> list[dict]:
        return [m for m in ami.raw if m.get("UserEvent") == "HotlineMessage" and m.get("Queue") == "vip"]

    async with asyncio.TaskGroup() as calls:
        # caller.xml speaks until it hangs up, 12 s after its digit: through the prompt and into Record.
        calls.create_task(sipp.caller("caller.xml", dialed, "-m", "1")())
        (offer,) = await offered(ami, dialed)
        await ami.wait_until(message_events, 25)
    (event,) = message_events()
    assert event["Status"] == "HANGUP"
    assert events_of(ami, offer.call_id, CallQueued) == []
    file = str(event["File"])
    assert re.search(rf"/messages/\d{{4}}/\d{{2}}/\d{{2}}/{re.escape(offer.call_id)}/[\d.]+\.wav$", file), (
        file
    )
    if live_config.spool_dir is not None:
        assert (live_config.spool_dir / file.split("/monitor/", 1)[1]).exists()


async def test_the_hotline_ami_user_may_do_what_hotline_does_and_nothing_more(ami: AmiSession) -> None:
    for action, fields in (
        ("Ping", {}),
        ("CoreStatus", {}),
        ("CoreShowChannels", {}),
        ("QueueStatus", {"Queue": "support"}),
        ("QueueSummary", {"Queue": "support-fallback"}),
        ("DeviceStateList", {}),
        ("Getvar", {"Variable": "HOTLINE_DEFAULT_QUEUE"}),
    ):
        response = await ami.action(action, **fields)
        assert response["Response"] == "Success", (action, response)
    refused = (
        ("Command", {"Command": "core show version"}),
        ("Reload", {}),
        ("ModuleLoad", {"Module": "app_system.so", "LoadType": "load"}),
        ("GetConfig", {"Filename": "pjsip.conf"}),
        ("MixMonitor", {"Channel": "PJSIP/1001-00000000", "File": "x.wav"}),
    )
    for action, fields in refused:
        response = await ami.action(action, **fields)
        assert response["Response"] == "Error" and "Permission denied" in str(response.get("Message")), action


def test_recording_path_pattern_reads_the_documented_layout() -> None:
    # Not live: keeps the pattern above honest against the format docs/deploy.md documents.
    match = RECORDING.search("/var/spool/asterisk/monitor/2026/11/23/1795416380.155/1795416380.157.wav")
    assert match and match["linkedid"] == "1795416380.155" and match["uniqueid"] == "1795416380.157"
    assert RECORDING.search("/var/spool/asterisk/monitor/1795416380.155.wav") is None


async def test_the_desktops_hold_keeps_the_call_whole_and_resume_joins_the_legs_again(
    ami: AmiSession, ivr: StandInIvr, sipp: Sipp
) -> None:
    """What cti.ami_switch.AmiSwitch.hold and .resume send (docs/hold.md), on the real dialplan."""
    dialed = "4008000108"
    ivr.plans[dialed] = {"HOTLINE_QUEUE": "support"}
    async with sipp.phone("1001"), asyncio.TaskGroup() as calls:
        # A Hotline that ran before may have left the phone paused in the fallback queues
        # (docs/routing.md, "When Hotline dies"); this test is about the queue, not the pause.
        await ami.action("QueuePause", Interface="PJSIP/1001", Paused="false")
        await ami.phone_reachable("1001")
        calls.create_task(sipp.caller("caller.xml", dialed, "-m", "1")())
        (offer,) = await offered(ami, dialed)
        call, caller = offer.call_id, offer.channel
        await next_of(ami, call, CallQueued)
        await ami.action("Redirect", Channel=caller, Context="hotline-deliver", Exten="1001", Priority=1)
        agent = (await next_of(ami, call, CallAnswered)).agent_channel
        for channel, variable, value in (
            (caller, "HOTLINE_HOLD_AGENT", agent),
            (agent, "HOTLINE_HOLD_CALLER", caller),
        ):
            assert (await ami.action("Setvar", Channel=channel, Variable=variable, Value=value))[
                "Response"
            ] == "Success"
        response = await ami.action(
            "Redirect",
            Channel=caller,
            Context="hotline-hold",
            Exten="s",
            Priority=1,
            ExtraChannel=agent,
            ExtraContext="hotline-hold-agent",
            ExtraExten="s",
            ExtraPriority=1,
        )
        assert response["Response"] == "Success", response
        held = await next_of(ami, call, CallHeld)
        await asyncio.sleep(1.0)
        response = await ami.action(
            "Redirect", Channel=caller, Context="hotline-resume", Exten="s", Priority=1
        )
        assert response["Response"] == "Success", response
        resumed = await next_of(ami, call, CallResumed)
        await next_of(ami, call, CallEnded, within_s=20)

    assert held.channel == resumed.channel == agent
    assert events_of(ami, call, CallTransferred) == [] and events_of(ami, call, CallAbandoned) == []
    assert len(events_of(ami, call, CallEnded)) == 1
    assert len(events_of(ami, call, RecordingStarted)) == 1  # one recording across hold and resume
