"""The composition root: the demo system starts, carries calls, serves pages and stops clean; and
``hotline serve`` waits out an unreachable Asterisk and stops on SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from acd.queue_file import DEFAULT_QUEUES_FILE
from cti.events import CallAnswered
from hotline import demo_mode
from hotline.app import Hotline, with_queues_file
from hotline.settings import Settings

REPO = Path(__file__).resolve().parents[2]
WAIT_S = 60.0  # a bound, not a speed target: start-up on a loaded 2-core machine is slow


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tmp_settings(tmp_path: Path) -> Settings:
    settings = Settings()
    settings.data_dir = str(tmp_path)
    settings.db.url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    settings.http.host, settings.http.port = "127.0.0.1", 0
    settings.agi.host, settings.agi.port = "127.0.0.1", 0
    # No menu for the hotline number: every caller is queued on the default queue, whatever the
    # time of day (the shipped menu plays a closed menu at night).
    (tmp_path / "menus").mkdir()
    settings.agi.menus_dir = str(tmp_path / "menus")
    settings.agi.prompts_dir = str(tmp_path / "prompts")
    settings.recording.spool_dir = str(tmp_path / "spool")
    settings.recording.store_dir = str(tmp_path / "recordings")
    return settings


async def test_the_demo_system_starts_carries_calls_serves_pages_and_stops_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(demo_mode, "DEMO_CUSTOMERS", 30)
    monkeypatch.setattr(demo_mode, "DEMO_RATE", 3.0)
    caplog.set_level(logging.INFO)
    before = asyncio.all_tasks()
    hotline = Hotline(tmp_settings(tmp_path), demo=True)
    answered = hotline.bus.subscribe("test-answered", CallAnswered)
    try:
        await hotline.start()
        async with asyncio.timeout(WAIT_S):
            call = await answered.get()
        assert call.agent.startswith("PJSIP/100")

        async with aiohttp.ClientSession() as http, asyncio.timeout(WAIT_S):
            async with http.get(hotline.url) as page:
                assert page.status == 200
            async with http.get(hotline.url + "login") as page:
                assert page.status == 200
                assert "<form" in await page.text()
    finally:
        await hotline.stop()

    left = {task for task in asyncio.all_tasks() - before if not task.done()}
    assert left == set(), [task.get_name() for task in left]
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert failures == [], [r.getMessage() for r in failures]
    assert any(r.getMessage() == "hotline_started" for r in caplog.records)


async def read_line(stream: asyncio.StreamReader, seen: list[str]) -> str:
    line = (await stream.readline()).decode("utf-8", "replace")
    if not line:
        raise AssertionError("hotline serve ended early:\n" + "".join(seen))
    seen.append(line)
    return line


async def test_serve_retries_an_unreachable_asterisk_one_line_at_a_time_and_stops_on_sigint(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "HOTLINE_AMI_HOST": "127.0.0.1",
        "HOTLINE_AMI_PORT": str(free_port()),
        "HOTLINE_AMI_RECONNECT_INITIAL_S": "0.2",
        "HOTLINE_AMI_RECONNECT_MAX_S": "0.4",
        "HOTLINE_HTTP_PORT": str(free_port()),
        "HOTLINE_AGI_PORT": str(free_port()),
        "HOTLINE_DB_URL": f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}",
        "HOTLINE_DATA_DIR": str(tmp_path),
        "HOTLINE_AGI_PROMPTS_DIR": str(tmp_path / "prompts"),
        "HOTLINE_RECORDING_SPOOL_DIR": str(tmp_path / "spool"),
        "HOTLINE_RECORDING_STORE_DIR": str(tmp_path / "recordings"),
    }
    serve = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hotline.cli",
        "serve",
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert serve.stderr is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(WAIT_S):
            retries: list[str] = []
            while len(retries) < 2:
                line = await read_line(serve.stderr, seen)
                if "ami_unreachable" in line:
                    retries.append(line)
            serve.send_signal(signal.SIGINT)
            rest = await serve.stderr.read()
            status = await serve.wait()
    finally:
        if serve.returncode is None:
            serve.kill()
            await serve.wait()
    text = "".join(seen) + rest.decode("utf-8", "replace")
    assert status == 0, text
    assert "Traceback" not in text
    for line in retries:
        assert line.count("\n") == 1 and "level=warning" in line and "retry_in_s=" in line
        assert 'error="connection refused"' in line


def test_without_a_configured_queues_file_the_shipped_queues_are_copied_to_the_data_folder(tmp_path: Path):
    settings = Settings()
    settings.data_dir = str(tmp_path / "data")
    first = with_queues_file(settings)
    copy = Path(first.acd.queues_file)
    assert copy == tmp_path / "data" / "queues.yaml"
    assert copy.read_bytes() == DEFAULT_QUEUES_FILE.read_bytes()
    # An administrator's changes live in the copy: a restart keeps them, it does not copy again.
    copy.write_text(copy.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert with_queues_file(settings).acd.queues_file == str(copy)
    assert copy.read_text(encoding="utf-8").endswith("# changed\n")
    settings.acd.queues_file = str(tmp_path / "site-queues.yaml")
    assert with_queues_file(settings).acd.queues_file == str(tmp_path / "site-queues.yaml")
