"""``hotline serve --demo``'s callers go through the production menu as callers do: they press
its digits, so the demo's calls reach more than one queue."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from hotline import demo_mode
from hotline.app import Hotline
from hotline.demo_mode import DEMO_CHOICES, MenuCaller
from ivr.events import IvrCompleted
from tests.hotline.test_demo_mode import SHIPPED_MENUS, demo_settings

WAIT_S = 30.0


def test_demo_callers_choose_the_menus_digits_in_its_shares() -> None:
    draw = MenuCaller(["261123000042"])
    rng = random.Random(7)
    callers = [draw(rng) for _ in range(2_000)]
    assert {keys[0][1] for keys in callers} == {"1", "2"}  # the language first: Chinese or English
    choices = [keys[1][1] if len(keys) > 1 else "" for keys in callers]
    for choice, share in DEMO_CHOICES:
        assert abs(choices.count(choice) / len(callers) - share) < 0.04, choice
    for keys in callers:
        assert [at for at, _ in keys] == sorted(at for at, _ in keys)
        if len(keys) > 1 and keys[1][1] == "1":
            assert keys[2][1] == "261123000042#"


def test_with_no_ticket_to_ask_about_a_caller_asks_for_an_agent_instead() -> None:
    rng = random.Random(3)
    assert all(len(keys) < 3 for keys in (MenuCaller([])(rng) for _ in range(500)))


async def test_a_short_demo_run_puts_calls_into_more_than_one_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_mode, "DEMO_CUSTOMERS", 100)
    monkeypatch.setattr(demo_mode, "DEMO_HISTORY_DAYS", 0)
    monkeypatch.setattr(demo_mode, "DEMO_RATE", 4.0)
    monkeypatch.setattr(demo_mode, "DEMO_STAY_S", (15.0, 20.0))
    settings = demo_settings(tmp_path)
    settings.agi.menus_dir = str(SHIPPED_MENUS)
    hotline = Hotline(settings, demo=True)
    completed = hotline.bus.subscribe("test-ivr", IvrCompleted)
    queues: set[str] = set()
    try:
        await hotline.start()
        async with asyncio.timeout(WAIT_S):
            while not {"support", "sales"} <= queues:
                queues.add((await completed.get()).queue)
    finally:
        await hotline.stop()
    assert {"support", "sales"} <= queues
