"""The production dialplan against real Asterisk 22 running this repository's asterisk-config/:
captures 16, 17 and 19, replayed (tests/simulator/production_replay.py), must conform."""

from __future__ import annotations

from pathlib import Path

from cti.ami_protocol import AmiMessage, first
from cti.simulator.conformance import compare_streams, format_report
from tests.simulator.production_capture import history, load_production
from tests.simulator.production_replay import replay_production


async def replay(transcripts: Path, folder: str) -> tuple[list[AmiMessage], list[AmiMessage]]:
    scenario = load_production(transcripts / folder, folder[:2])
    return scenario.messages, await replay_production(scenario)


def assert_conforms(expected: list[AmiMessage], actual: list[AmiMessage], *, devices: bool = True) -> None:
    before = history(expected) | history(actual)

    def skip(message: AmiMessage) -> bool:
        if not devices and message.get("Event") == "DeviceStateChange":
            return True
        # A channel the stream shows without its birth was there before the capture began (19:
        # the callers waiting ahead): what it does is not this scenario's.
        return first(message, "Uniqueid") in before

    problems = compare_streams(expected, actual, skip=skip)
    assert not problems, format_report(problems)


async def test_a_delivery_by_redirect_matches_the_capture(transcripts: Path) -> None:
    # 16 and 17 show no DeviceStateChange at all, not even for 1001, whose members' Status moves
    # 1 → 3 → 1 with the call; 19, on the same configuration, has them. The rig's socket did not
    # get them then; the simulator writes them as 19 and 01-15 show.
    assert_conforms(*await replay(transcripts, "16-production-delivery"), devices=False)


async def test_a_desk_hold_and_resume_match_the_capture(transcripts: Path) -> None:
    assert_conforms(*await replay(transcripts, "17-desk-hold"), devices=False)


async def test_a_caller_withdrawn_from_the_queue_matches_the_capture(transcripts: Path) -> None:
    assert_conforms(*await replay(transcripts, "19-queue-withdraw"))
