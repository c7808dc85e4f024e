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


async def run_capture(folder: Path, name: str, *others: str, **options: object) -> list[tuple[list, list]]:
    """Replay the capture; per AMI socket, (captured messages, the simulator's messages)."""
    scenario = load(folder, name, *others)
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
        clients = await asyncio.gather(*(play_session(clock, port, s) for s in scenario.sessions))
        await callers
    finally:
        await sim.stop()
        await agi.stop()
        clock_task.cancel()
    return [(s.messages, c.messages) for s, c in zip(scenario.sessions, clients, strict=True)]


def assert_conforms(pairs: list[tuple[list, list]], movable: frozenset[str] = frozenset()) -> None:
    problems = []
    for index, (expected, actual) in enumerate(pairs):
        problems += [f"[socket {index + 1}] {p}" for p in compare_streams(expected, actual, movable=movable)]
    assert not problems, format_report(problems)


async def test_inbound_answered_call_matches_the_capture(transcripts: Path) -> None:
    assert_conforms(await run_capture(transcripts / "01-inbound-answered", "01"))


async def test_abandoned_call_matches_the_capture(transcripts: Path) -> None:
    assert_conforms(await run_capture(transcripts / "02-abandoned", "02"))


async def test_agent_state_actions_match_the_capture(transcripts: Path) -> None:
    # The captured server had run 01 and 02 before: their devices were still in its state table.
    history = {"Queue:support": "NOT_INUSE", "Queue:support_pause_PJSIP/1001": "NOT_INUSE"}
    assert_conforms(await run_capture(transcripts / "03-agent-states", "03", history=history))


async def test_originate_and_regex_hangup_match_the_capture(transcripts: Path) -> None:
    assert_conforms(await run_capture(transcripts / "04-originate", "04"))


async def test_hangup_during_the_ivr_matches_the_capture(transcripts: Path) -> None:
    assert_conforms(await run_capture(transcripts / "06-hangup-in-ivr", "06"))


async def test_hold_and_resume_match_the_capture(transcripts: Path) -> None:
    assert_conforms(await run_capture(transcripts / "11-hold", "11"))


async def test_recording_control_matches_the_capture(transcripts: Path) -> None:
    # AgentComplete follows HangupRequest in 01, 09 and 11 but SoftHangupRequest here.
    assert_conforms(
        await run_capture(transcripts / "13-recording-control", "13"), movable=frozenset({"AgentComplete"})
    )


async def test_fastagi_down_falls_back_to_the_queue_as_the_capture(transcripts: Path) -> None:
    assert_conforms(await run_capture(transcripts / "14-fastagi-down", "14"))


async def test_misc_actions_and_a_refused_login_match_the_capture(transcripts: Path) -> None:
    assert_conforms(await run_capture(transcripts / "08-misc-actions", "08", "08-badlogin"))


async def test_reconnect_mid_call_lists_the_call_as_the_capture(transcripts: Path) -> None:
    assert_conforms(await run_capture(transcripts / "09-ami-reconnect", "09", "09-reconnect"))


async def test_resync_while_callers_wait_matches_the_capture(transcripts: Path) -> None:
    assert_conforms(await run_capture(transcripts / "15-resync-waiting", "15", "15-resync"))
