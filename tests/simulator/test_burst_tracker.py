"""A burst of simulated calls, read by Hotline's call tracker, tells the same story per call as
a real Asterisk does for one call (captures 01 and 02)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from cti.ami_protocol import AmiParser
from cti.events import SwitchEvent
from cti.simulator import AgentScript, CallerScript, Dialplan, SwitchSimulator, VirtualClock
from cti.tracker import CallTracker
from tests.simulator.capture import ScriptedAgiServer, read_agi_commands


def call_stories(raw: bytes) -> dict[str, list[str]]:
    tracker = CallTracker()
    stories: dict[str, list[str]] = {}
    events: list[SwitchEvent] = []
    for message in AmiParser().feed(raw):
        events += tracker.feed(message)
    for event in events:
        call_id = getattr(event, "call_id", None)
        if call_id is not None:
            stories.setdefault(call_id, []).append(type(event).__name__)
    return stories


def captured_story(path: Path) -> list[str]:
    stories = call_stories(path.read_bytes())
    assert len(stories) == 1
    return next(iter(stories.values()))


async def record_burst(transcripts: Path, calls: int, seed: int) -> bytes:
    clock = VirtualClock()
    clock_task = asyncio.create_task(clock.run())
    agi = ScriptedAgiServer(read_agi_commands(transcripts / "01-inbound-answered" / "01.agi"))
    agi_port = await agi.start()
    agents = [AgentScript(str(1001 + i), answer_after_s=1.0, hangup_after_s=None) for i in range(3)]
    sim = SwitchSimulator(
        clock=clock,
        agents=agents,
        members={"support": [a.interface for a in agents]},
        agi_url=f"agi://127.0.0.1:{agi_port}/ivr",
        dialplan=Dialplan.CAPTURES,
    )
    port = await sim.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    raw = bytearray()
    parser = AmiParser()
    logged_in = asyncio.Event()

    async def read() -> None:
        while data := await reader.read(65536):
            raw.extend(data)
            if any(m.get("Response") == "Success" for m in parser.feed(data)):
                logged_in.set()

    reading = asyncio.create_task(read())
    writer.write(b"Action: Login\r\nActionID: 1\r\nUsername: hotline\r\nSecret: hotline-secret\r\n\r\n")
    with clock.busy():
        await asyncio.wait_for(logged_in.wait(), 5)
    rng = random.Random(seed)
    records = []
    for index in range(calls):
        abandon = rng.random() < 0.3
        records.append(
            sim.place_call(
                CallerScript(
                    caller=f"1380013{index:04d}",
                    digits="1",
                    digits_after_s=3.0,
                    hangup_after_s=rng.uniform(5.0, 9.0) if abandon else rng.uniform(30.0, 50.0),
                )
            )
        )
        await clock.sleep(rng.uniform(0.1, 0.6))
    await asyncio.wait_for(asyncio.gather(*(r.done for r in records)), 10)
    writer.write(b"Action: Logoff\r\nActionID: 2\r\n\r\n")
    await asyncio.wait_for(reading, 5)
    await sim.stop()
    await agi.stop()
    clock_task.cancel()
    return bytes(raw)


async def test_each_call_of_a_burst_tells_the_tracker_what_a_real_call_does(transcripts: Path) -> None:
    answered = captured_story(transcripts / "01-inbound-answered" / "01.ami")
    abandoned = captured_story(transcripts / "02-abandoned" / "02.ami")
    stories = call_stories(await record_burst(transcripts, calls=30, seed=7))
    assert len(stories) == 30
    kinds = {"answered": 0, "abandoned": 0}
    for call_id, story in stories.items():
        if story == answered:
            kinds["answered"] += 1
        elif story == abandoned:
            kinds["abandoned"] += 1
        else:
            raise AssertionError(f"call {call_id}: {story}\nneither {answered}\nnor {abandoned}")
    assert kinds["answered"] > 0 and kinds["abandoned"] > 0, kinds
