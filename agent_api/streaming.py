"""Streamed answers (recording playback, report exports) whose client may leave midway.

A listener seeking, a closed tab, a dropped line: a client leaving in the middle of a stream is
part of a normal day, not a server error. :func:`send_chunks` writes an answer's chunks; when the
client has gone (aiohttp raises ``ConnectionResetError`` — its ``ClientConnectionResetError`` is
one — or another ``ConnectionError``) it logs one INFO line and stops; when the handler is
cancelled it logs the same line and lets the cancellation go on. Either way the chunks' iterator
is closed at once, so the file or database cursor behind it is released now, not whenever the
garbage collector finds it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from agent_api.recordings.ranges import parse_range

log = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024


async def close_iterator(iterator: AsyncIterator[Any]) -> None:
    """Close an async generator (a no-op for iterators that hold nothing)."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


async def file_chunks(path: Path, start: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
    """``length`` bytes of ``path`` from ``start`` (to its end when None), read off the event loop.
    A file that shrinks meanwhile (a purge) ends early: the client sees a short body."""
    reader = await asyncio.to_thread(path.open, "rb")
    try:
        reader.seek(start)
        remaining = length
        while remaining is None or remaining > 0:
            wanted = CHUNK_BYTES if remaining is None else min(CHUNK_BYTES, remaining)
            chunk = await asyncio.to_thread(reader.read, wanted)
            if not chunk:
                break
            yield chunk
            if remaining is not None:
                remaining -= len(chunk)
    finally:
        reader.close()


async def send_chunks(
    request: web.Request,
    response: web.StreamResponse,
    chunks: AsyncIterator[bytes],
    *,
    what: str,
    **fields: Any,
) -> web.StreamResponse:
    """Prepare ``response``, write every chunk and finish it; ``what`` and ``fields`` name the
    stream in the log line if the client leaves first."""
    sent = 0
    try:
        await response.prepare(request)
        async for chunk in chunks:
            await response.write(chunk)
            sent += len(chunk)
        await response.write_eof()
    except ConnectionError:
        _aborted(what, "client_left", sent, fields)
    except asyncio.CancelledError:
        _aborted(what, "cancelled", sent, fields)
        raise
    finally:
        await close_iterator(chunks)
    return response


def _aborted(what: str, why: str, sent: int, fields: dict[str, Any]) -> None:
    log.info("stream_aborted", extra={"kv": {"what": what, "why": why, "sent_bytes": sent, **fields}})


async def send_file(
    request: web.Request,
    path: Path,
    *,
    media_type: str,
    what: str,
    download_name: str = "",
    before_sending: Callable[[], Awaitable[None]] | None = None,
    **fields: Any,
) -> web.StreamResponse:
    """A file as an audio player wants it: the whole of it, or the one byte range a seek asks
    for (206 Partial Content, agent_api/recordings/ranges.py); HEAD answers the headers alone.
    ``download_name``: sent as an attachment under that name. ``before_sending`` (the audit) is
    awaited once the range is known to be good, and never for a HEAD: that sends no content."""
    size = (await asyncio.to_thread(path.stat)).st_size
    wanted = parse_range(request.headers.get("Range"), size)
    if before_sending is not None and request.method != "HEAD":
        await before_sending()
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    if download_name:
        headers["Content-Disposition"] = f'attachment; filename="{download_name}"'
    response = web.StreamResponse(status=200 if wanted is None else 206, headers=headers)
    response.content_type = media_type
    start, length = (0, size) if wanted is None else (wanted.start, wanted.length)
    if wanted is not None:
        response.headers["Content-Range"] = wanted.content_range(size)
    response.content_length = length
    if request.method == "HEAD":
        await response.prepare(request)
        return response
    return await send_chunks(request, response, file_chunks(path, start, length), what=what, **fields)
