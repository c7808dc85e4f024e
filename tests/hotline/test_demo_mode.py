from __future__ import annotations

import asyncio
from datetime import time
from pathlib import Path

import pytest

from cti.events import CallAnswered
from hotline import demo_mode
from hotline.app import Hotline
from hotline.demo_mode import round_the_clock_menus
from hotline.settings import Settings
from ivr.loader import load_menu
from ivr.nodes import BusinessHours
from recording.events import RecordingFailed, RecordingReady

SHIPPED_MENUS = Path(__file__).parents[2] / "ivr" / "menus"
WAIT_S = 20.0


def test_the_demo_menus_are_the_shipped_ones_open_at_every_hour(tmp_path: Path) -> None:
    target = round_the_clock_menus(SHIPPED_MENUS, tmp_path / "demo-menus")
    for shipped in SHIPPED_MENUS.glob("*.yaml"):
        original, demo = load_menu(shipped), load_menu(target / shipped.name)
        assert demo.nodes.keys() == original.nodes.keys()
        assert demo.prompts == original.prompts
        hours = [node for node in demo.nodes.values() if isinstance(node, BusinessHours)]
        assert hours, "the shipped menu has a business-hours node"
        for node in hours:
            for moment in (time(3, 0), time(12, 0), time(23, 59)):
                assert node.workdays is not None and node.workdays.covers(moment)
                assert node.restdays is not None and node.restdays.covers(moment)


def demo_settings(tmp_path: Path) -> Settings:
    settings = Settings()
    settings.data_dir = str(tmp_path)
    settings.db.url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    settings.http.host, settings.http.port = "127.0.0.1", 0
    settings.agi.host, settings.agi.port = "127.0.0.1", 0
    (tmp_path / "menus").mkdir()  # no menu: every caller is queued at once, at any hour
    settings.agi.menus_dir = str(tmp_path / "menus")
    settings.agi.prompts_dir = str(tmp_path / "prompts")
    settings.recording.spool_dir = str(tmp_path / "spool")
    settings.recording.store_dir = str(tmp_path / "recordings")
    return settings


async def test_an_answered_demo_call_is_recorded_and_stored_not_failed_for_a_missing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_mode, "DEMO_CUSTOMERS", 30)
    monkeypatch.setattr(demo_mode, "DEMO_RATE", 3.0)
    monkeypatch.setattr(demo_mode, "DEMO_STAY_S", (4.0, 5.0))
    hotline = Hotline(demo_settings(tmp_path), demo=True)
    answered = hotline.bus.subscribe("test-answered", CallAnswered)
    outcomes = hotline.bus.subscribe("test-recordings", RecordingReady, RecordingFailed)
    try:
        await hotline.start()
        failed: list[RecordingFailed] = []
        async with asyncio.timeout(WAIT_S):
            while not isinstance(outcome := await outcomes.get(), RecordingReady):
                failed.append(outcome)
        ready = outcome
        calls_answered: set[str] = set()
        while answered.pending():
            calls_answered.add(answered.get_nowait().call_id)
    finally:
        await hotline.stop()
    assert ready.call_id in calls_answered
    assert ready.duration_s > 0
    # Callers who hang up before an agent answers leave no file (MixMonitor b); answered ones do.
    assert [f.reason for f in failed if f.call_id in calls_answered] == []
    # The simulator wrote the call's folder in the spool; once stored, the original is gone.
    [folder] = (tmp_path / "spool").rglob(ready.call_id)
    assert list(folder.glob("*.wav")) == []


async def test_robot_agents_end_a_call_nobody_hangs_up_after_longer_than_any_caller_stays() -> None:
    """A callback's customer never hangs up in the simulator: the robot agent does, else it would
    stay 'outbound' for the rest of the demo and its queues would fill with abandoned callers."""
    switch = demo_mode.DemoSwitch(None, agi_port=1)  # type: ignore[arg-type]
    await switch.start(Settings().ami)
    try:
        assert switch.simulator is not None
        robots = [switch.simulator.phones[extension] for _, extension, _, _ in demo_mode.ROBOTS]
        assert {phone.hangup_after_s for phone in robots} == {demo_mode.ROBOT_TALK_S}
        assert max(demo_mode.DEMO_STAY_S) < demo_mode.ROBOT_TALK_S
        human = switch.simulator.phones[demo_mode.HUMAN_EXTENSION]
        assert human.hangup_after_s is None  # the person at 1001 ends their own calls
    finally:
        await switch.stop()
