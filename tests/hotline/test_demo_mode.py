from __future__ import annotations

from datetime import time
from pathlib import Path

from hotline.demo_mode import round_the_clock_menus
from ivr.loader import load_menu
from ivr.nodes import BusinessHours

SHIPPED_MENUS = Path(__file__).parents[2] / "ivr" / "menus"


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
