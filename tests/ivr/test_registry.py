"""Menus reload without a restart; a broken edit keeps the last good menu in force."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from ivr.errors import MenuInvalid
from ivr.registry import MenuRegistry
from tests.ivr.fakes import TRANSCRIPT_MENU, write_menu


def test_all_menus_load_at_start(menus_dir: Path) -> None:
    registry = MenuRegistry(menus_dir)
    registry.load()
    assert registry.numbers() == ["4008123456"]
    menu = registry.get("4008123456")
    assert menu is not None and menu.start == "welcome"
    assert registry.get("4008000000") is None


def test_a_broken_menu_at_start_refuses_to_start_with_file_and_node(menus_dir: Path) -> None:
    write_menu(menus_dir, "4008000000", TRANSCRIPT_MENU.replace("on_fail: support", "on_fail: nowhere"))
    with pytest.raises(
        MenuInvalid, match=r"4008000000.yaml: node 'menu': on_fail goes to unknown node 'nowhere'"
    ):
        MenuRegistry(menus_dir).load()


def test_a_reload_picks_up_an_edited_menu(menus_dir: Path) -> None:
    registry = MenuRegistry(menus_dir)
    registry.load()
    write_menu(
        menus_dir, "4008123456", TRANSCRIPT_MENU.replace("fallback_queue: support", "fallback_queue: sales")
    )
    report = registry.reload()
    assert report.loaded == ["4008123456"]
    menu = registry.get("4008123456")
    assert menu is not None and menu.fallback_queue == "sales"


def test_a_reload_with_nothing_changed_reads_nothing(menus_dir: Path) -> None:
    registry = MenuRegistry(menus_dir)
    registry.load()
    assert not registry.reload().changed


def test_a_broken_edit_keeps_the_last_good_menu_and_logs_why(
    menus_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = MenuRegistry(menus_dir)
    registry.load()
    good = registry.get("4008123456")
    write_menu(menus_dir, "4008123456", TRANSCRIPT_MENU.replace("prompt: welcome", "prompt: welcom"))
    with caplog.at_level(logging.WARNING, logger="ivr.registry"):
        report = registry.reload()
    assert list(report.rejected) == [str(menus_dir / "4008123456.yaml")]
    assert registry.get("4008123456") is good
    record = next(r for r in caplog.records if r.msg == "ivr_menu_rejected")
    assert record.kv["node"] == "welcome"  # type: ignore[attr-defined]
    assert record.kv["menu"] == "kept the last good version"  # type: ignore[attr-defined]
    assert "welcom" in record.kv["problem"]  # type: ignore[attr-defined]


def test_a_new_menu_file_adds_a_number_and_a_deleted_one_removes_it(menus_dir: Path) -> None:
    registry = MenuRegistry(menus_dir)
    registry.load()
    extra = write_menu(menus_dir, "4008000000", TRANSCRIPT_MENU)
    assert registry.reload().loaded == ["4008000000"]
    extra.unlink()
    assert registry.reload().removed == ["4008000000"]
    assert registry.numbers() == ["4008123456"]


async def test_the_watcher_reloads_a_file_changed_on_disk(menus_dir: Path) -> None:
    registry = MenuRegistry(menus_dir, poll_interval_s=0.01)
    registry.load()
    await registry.start()
    try:
        change = registry.next_change()
        write_menu(
            menus_dir, "4008123456", TRANSCRIPT_MENU.replace("fallback_queue: support", "fallback_queue: vip")
        )
        async with asyncio.timeout(5):
            report = await change
    finally:
        await registry.stop()
    assert report.loaded == ["4008123456"]
    menu = registry.get("4008123456")
    assert menu is not None and menu.fallback_queue == "vip"


async def test_starting_the_watcher_loads_the_menus_first_and_refuses_a_broken_one(menus_dir: Path) -> None:
    registry = MenuRegistry(menus_dir)
    await registry.start()
    try:
        assert registry.numbers() == ["4008123456"]
    finally:
        await registry.stop()
    write_menu(menus_dir, "4008000000", TRANSCRIPT_MENU.replace("start: welcome", "start: nowhere"))
    with pytest.raises(MenuInvalid, match=r"4008000000\.yaml: start 'nowhere' is not a node"):
        await MenuRegistry(menus_dir).start()
