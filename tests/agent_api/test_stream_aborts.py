"""A client that leaves in the middle of a playback or an export is no server error: one INFO line,
and what fed the stream (a file, a database cursor) is released at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import ClientConnectionResetError, ClientSession

from agent_api.reports.engine import CrmReportEngine
from agent_api.streaming import send_chunks
from crm import recordings as index
from tests.agent_api.stack import Stack, login
from tests.recording import audio
from tests.recording.stack import RecordingStack

BIG = 64 * 1024 * 1024  # more than loopback's socket buffers hold, so the server is still writing


class Watch(logging.Handler):
    """Every record of the process, and an event set when the stream's own line is logged."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.aborted = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if record.getMessage() == "stream_aborted":
            self.aborted.set()

    def errors(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= logging.ERROR]


@pytest.fixture
def watch() -> Iterator[Watch]:
    handler = Watch()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


class Gone:
    """A response whose client leaves after ``after`` chunks, the way aiohttp reports it."""

    def __init__(self, error: BaseException, after: int = 1) -> None:
        self.error = error
        self.after = after
        self.written: list[bytes] = []

    async def prepare(self, request: object) -> None:
        return None

    async def write(self, chunk: bytes) -> None:
        if len(self.written) == self.after:
            raise self.error
        self.written.append(chunk)

    async def write_eof(self) -> None:
        return None


class Chunks:
    def __init__(self) -> None:
        self.closed = False

    async def __call__(self) -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"x" * 1024
        finally:
            self.closed = True


@pytest.mark.parametrize(
    "error",
    [
        ConnectionResetError("Connection lost"),
        ClientConnectionResetError("Cannot write to closing transport"),
    ],
)
async def test_a_client_gone_mid_stream_is_one_info_line_and_the_source_is_closed(
    watch: Watch, error: BaseException
):
    source = Chunks()
    response = Gone(error)
    sent = await send_chunks(None, response, source(), what="test", id=7)  # type: ignore[arg-type]
    assert sent is response
    assert source.closed
    [line] = [r for r in watch.records if r.getMessage() == "stream_aborted"]
    assert line.levelno == logging.INFO and line.exc_info is None
    assert line.kv == {"what": "test", "why": "client_left", "sent_bytes": 1024, "id": 7}  # type: ignore[attr-defined]
    assert watch.errors() == []


async def test_a_cancelled_stream_is_logged_released_and_still_cancelled(watch: Watch):
    source = Chunks()
    with pytest.raises(asyncio.CancelledError):
        await send_chunks(None, Gone(asyncio.CancelledError()), source(), what="test")  # type: ignore[arg-type]
    assert source.closed
    [line] = [r for r in watch.records if r.getMessage() == "stream_aborted"]
    assert line.levelno == logging.INFO and line.kv["why"] == "cancelled"  # type: ignore[attr-defined]


async def _leave_after_the_first_bytes(base_url: str, path: str, cookies: object) -> None:
    """Read the head and a little of the body of a GET, then drop the connection."""
    async with ClientSession(base_url, cookie_jar=cookies) as session:  # type: ignore[arg-type]
        response = await session.get(path)
        assert response.status == 200
        await response.content.read(1024)
        response.close()


@pytest.mark.skipif(not audio.HAVE_TOOLS, reason="sox, espeak-ng and ffmpeg are needed")
async def test_a_listener_leaving_mid_playback_is_no_error(tmp_path: Path, watch: Watch):
    stack = await RecordingStack(tmp_path).start()
    try:
        stored = await stack.recorded_call("1795416380.1", audio.tone(tmp_path / "clip.wav", 1.0))
        (recording,) = await index.recordings_of_call(stack.db, stored.call_id)
        with stack.service.file_of(recording).open("r+b") as file:
            file.truncate(BIG)  # sparse: a long recording without the disk it would take
        await login(stack.client, "supervisor")
        jar = stack.client.session.cookie_jar
        await _leave_after_the_first_bytes(stack.base_url, f"/api/recordings/{stored.id}/audio", jar)
        async with asyncio.timeout(20):
            await watch.aborted.wait()
        assert watch.errors() == []
    finally:
        await stack.stop()


async def test_an_analyst_leaving_mid_export_is_no_error_and_the_rows_are_released(
    tmp_path: Path, watch: Watch, monkeypatch: pytest.MonkeyPatch
):
    source = Chunks()

    def endless(self: object, columns: object, rows: object) -> AsyncIterator[bytes]:
        return source()

    monkeypatch.setattr(CrmReportEngine, "csv_chunks", endless)
    stack = await Stack(tmp_path).start()
    try:
        await login(stack.client, "supervisor")
        jar = stack.client.session.cookie_jar
        path = "/api/reports/standard/queue_performance/export?format=csv"
        await _leave_after_the_first_bytes(stack.base_url, path, jar)
        async with asyncio.timeout(20):
            await watch.aborted.wait()
        assert source.closed
        assert watch.errors() == []
    finally:
        await stack.stop()
