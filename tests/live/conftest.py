"""Fixtures for the live tests: skipped, with the reason, when no Asterisk is reachable."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hotline_process import QUEUE_LOG, HotlineProcess, lines_of
from live_harness import AmiSession, LiveConfig, LiveUnavailable, Sipp, StandInIvr

from cti.ami_protocol import AmiMessage

# HOTLINE_LIVE_CAPTURE_DIR: keep each scenario's AMI stream (and its calls' queue_log lines) there,
# in the form of tests/transcripts/live (docs/simulator.md, "Live captures").
CAPTURE_DIR = os.environ.get("HOTLINE_LIVE_CAPTURE_DIR", "")


def save_capture(folder: Path, messages: list[AmiMessage], *, queue_log: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "ami.jsonl.gz", "wt", encoding="utf-8") as out:
        for message in messages:
            out.write(json.dumps(message, ensure_ascii=False) + "\n")
    calls = {message["Linkedid"] for message in messages if isinstance(message.get("Linkedid"), str)}
    if queue_log and QUEUE_LOG.is_file():
        (folder / "queue_log").write_text(lines_of(calls))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "after_hours: the site's IVR says the centre is closed")


@pytest.fixture(scope="session")
def live_config() -> LiveConfig:
    try:
        return LiveConfig.from_environment()
    except LiveUnavailable as exc:
        pytest.skip(f"live tests need a real Asterisk: {exc}")


@pytest.fixture
async def ami(live_config: LiveConfig, request: pytest.FixtureRequest) -> AsyncIterator[AmiSession]:
    from cti.tracker import CallTracker

    session = AmiSession(CallTracker().feed)
    try:
        await session.connect(live_config)
    except (OSError, TimeoutError) as exc:
        pytest.skip(f"live tests need a real Asterisk: AMI at {live_config.ami_host} unusable: {exc}")
    yield session
    # Whatever a failed test left talking on the switch would keep the next test's phones busy.
    await session.action("Hangup", Channel="/^PJSIP\\//")
    if CAPTURE_DIR:
        await asyncio.sleep(1.0)  # the hang-ups' events: a capture holds whole calls
        # queue_log only where Hotline ran: a stand-in's Redirects get no lines from Hotline.
        hotline_ran = "hotline" in request.fixturenames
        save_capture(Path(CAPTURE_DIR) / request.node.name, session.raw, queue_log=hotline_ran)
    await session.close()
    print("--- domain events seen ---")  # shown when the test fails
    for event in session.events:
        print(event)


@pytest.fixture
async def sipp(live_config: LiveConfig, tmp_path: Path) -> AsyncIterator[Sipp]:
    runner = Sipp(live_config, tmp_path)
    yield runner
    await runner.stop_all()


@pytest.fixture
async def ivr(live_config: LiveConfig) -> AsyncIterator[StandInIvr]:
    """Hotline's IVR, played by the test on the address the dialplan's HOTLINE_AGI names."""
    server = StandInIvr({})
    await server.start(live_config.agi_port)
    yield server
    await server.stop()


@pytest.fixture
async def hotline(
    live_config: LiveConfig, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[HotlineProcess]:
    """The real ``hotline serve``, production mode, set up as a site sets it up; stopped after.
    A test marked ``after_hours`` gets a site whose IVR says the centre is closed."""
    secret = tmp_path / "ami_secret"
    secret.write_text(live_config.ami_secret)
    secret.chmod(0o600)
    open_now = request.node.get_closest_marker("after_hours") is None
    process = HotlineProcess(live_config, tmp_path / "site", secret, open_now=open_now)
    await process.set_up()
    await process.start()
    try:
        yield process
    finally:
        await process.stop()
        print(f"--- hotline serve log ({process.log_path}) ---\n{process.log_tail(200)}")
