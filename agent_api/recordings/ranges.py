"""HTTP Range (RFC 9110 §14) for one byte range: what a seeking audio player sends."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent_api.errors import ApiError

_SINGLE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")


class RangeNotSatisfiable(ApiError):
    status = 416
    error_id = "range_not_satisfiable"

    def __init__(self, message: str, *, size: int) -> None:
        # RFC 9110 §15.5.17: the answer names the current length, so the client can ask again.
        super().__init__(message, details={"size": size}, headers={"Content-Range": f"bytes */{size}"})
        self.size = size


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """None for the whole file; the one range asked for; or 416 with what was wrong.

    Several ranges in one request are answered with the whole file, as the RFC allows: players
    never ask for them, and multipart answers are a needless attack surface.
    """
    if header is None or not header.strip():
        return None
    text = header.strip()
    if len(text) > 200:
        raise RangeNotSatisfiable("the Range header is too long", size=size)
    if text.startswith("bytes=") and "," in text:
        return None
    match = _SINGLE.fullmatch(text)
    if match is None:
        raise RangeNotSatisfiable(
            f"Range {text[:60]!r} is not 'bytes=START-END', 'bytes=START-' or 'bytes=-SUFFIX'", size=size
        )
    first, last = match.groups()
    if not first and not last:
        raise RangeNotSatisfiable("Range 'bytes=-' names no bytes", size=size)
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable("a zero-length suffix range", size=size)
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if end < start:
        raise RangeNotSatisfiable(f"Range ends ({end}) before it starts ({start})", size=size)
    if start >= size:
        raise RangeNotSatisfiable(f"Range starts at byte {start}; the file has {size} bytes", size=size)
    return ByteRange(start, min(end, size - 1))
