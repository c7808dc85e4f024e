"""Fixtures for the IVR tests: a fake CRM, menus on disk, a running FastAGI server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path

import pytest

from cti.bus import EventBus
from ivr.fastagi_server import IvrServer
from ivr.prompts import PromptPaths
from ivr.registry import MenuRegistry
from tests.ivr.fakes import SHANGHAI, TRANSCRIPT_MENU, FakeCustomers


@pytest.fixture
def customers() -> FakeCustomers:
    return FakeCustomers()


@pytest.fixture
def menus_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "menus"
    directory.mkdir()
    (directory / "4008123456.yaml").write_text(TRANSCRIPT_MENU, encoding="utf-8")
    return directory


@pytest.fixture
def clock() -> Callable[[], datetime]:
    # Monday 23 November 2026, 10:00 in Shanghai: an ordinary working morning.
    return lambda: datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
async def ivr_server(
    menus_dir: Path, bus: EventBus, customers: FakeCustomers, clock: Callable[[], datetime]
) -> AsyncIterator[IvrServer]:
    registry = MenuRegistry(menus_dir)
    registry.load()
    server = IvrServer(
        registry=registry,
        bus=bus,
        customers=customers,
        prompts=PromptPaths("/var/lib/hotline/prompts"),
        command_timeout_s=2.0,
        lookup_timeout_s=1.0,
        port=0,
        clock=clock,
    )
    await server.start()
    yield server
    await server.stop(grace_s=1.0)
