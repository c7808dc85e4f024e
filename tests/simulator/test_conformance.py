"""The simulator against real Asterisk 22: each captured scenario, replayed, must conform."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cti.simulator import VirtualClock
from cti.simulator.conformance import compare_streams, format_report
from tests.simulator.capture import (
    ScriptedAgiServer,
    load,
    make_simulator,
    place_callers,
    play_session,
    unused_port,
)


async def run_capture(folder: Path, name: str, **options: object) -> tuple[list, list]:
    scenario = load(folder, name)
    for key, value in options.items():
        setattr(scenario, key, value)
    clock = VirtualClock(start=scenario.connected_at - 1.0)
    clock_task = asyncio.create_task(clock.run())
    agi = ScriptedAgiServer(scenario.agi)
    agi_port = await agi.start() if scenario.agi else await unused_port()
    sim = make_simulator(clock, scenario, agi_port)
    port = await sim.start()
    try:
        callers = asyncio.create_task(place_callers(sim, clock, scenario))
        client = await play_session(clock, port, scenario, scenario.connected_at)
        await callers
    finally:
        await sim.stop()
        await agi.stop()
        clock_task.cancel()
    return scenario.messages, client.messages


async def test_inbound_answered_call_matches_the_capture(transcripts: Path) -> None:
    expected, actual = await run_capture(transcripts / "01-inbound-answered", "01")
    problems = compare_streams(expected, actual)
    assert not problems, format_report(problems)


async def test_abandoned_call_matches_the_capture(transcripts: Path) -> None:
    expected, actual = await run_capture(transcripts / "02-abandoned", "02")
    problems = compare_streams(expected, actual)
    assert not problems, format_report(problems)


async def test_agent_state_actions_match_the_capture(transcripts: Path) -> None:
    # The captured server had run 01 and 02 before: their devices were still in its state table.
    history = {"Queue:support": "NOT_INUSE", "Queue:support_pause_PJSIP/1001": "NOT_INUSE"}
    expected, actual = await run_capture(transcripts / "03-agent-states", "03", history=history)
    problems = compare_streams(expected, actual)
    assert not problems, format_report(problems)


async def test_originate_and_regex_hangup_match_the_capture(transcripts: Path) -> None:
    expected, actual = await run_capture(transcripts / "04-originate", "04")
    problems = compare_streams(expected, actual)
    assert not problems, format_report(problems)


async def test_hangup_during_the_ivr_matches_the_capture(transcripts: Path) -> None:
    expected, actual = await run_capture(transcripts / "06-hangup-in-ivr", "06")
    problems = compare_streams(expected, actual)
    assert not problems, format_report(problems)


async def test_hold_and_resume_match_the_capture(transcripts: Path) -> None:
    expected, actual = await run_capture(transcripts / "11-hold", "11")
    problems = compare_streams(expected, actual)
    assert not problems, format_report(problems)


async def test_recording_control_matches_the_capture(transcripts: Path) -> None:
    expected, actual = await run_capture(transcripts / "13-recording-control", "13")
    # AgentComplete follows HangupRequest in 01, 09 and 11 but SoftHangupRequest here.
    problems = compare_streams(expected, actual, movable=frozenset({"AgentComplete"}))
    assert not problems, format_report(problems)


async def test_fastagi_down_falls_back_to_the_queue_as_the_capture(transcripts: Path) -> None:
    expected, actual = await run_capture(transcripts / "14-fastagi-down", "14")
    problems = compare_streams(expected, actual)
    assert not problems, format_report(problems)
