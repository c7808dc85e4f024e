"""``hotline replay FILE``: run a raw AMI capture through the call tracker, print domain events.

FILE holds the bytes an AMI client receives (banner, ``\\r\\n`` line ends, a blank line after each
message); ``-`` reads standard input. Each domain event is printed as one JSON object per line.
A malformed message is reported on standard error with its byte offset and skipped; the rest of
the capture is still processed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Iterable
from datetime import datetime
from typing import Any, BinaryIO, TextIO

from cti.ami_protocol import AmiParser
from cti.events import SwitchEvent
from cti.tracker import WANTED as TRACKED_EVENTS
from cti.tracker import CallTracker

CHUNK_BYTES = 1 << 16


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="print the domain events of a raw AMI capture, one JSON object per line",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="the capture (an .ami file); - for standard input")
    parser.set_defaults(run=run)


def event_record(event: SwitchEvent) -> dict[str, Any]:
    """{"event": "CallAnswered", "call_id": …, "at": ISO 8601, …fields}; enums as values, tuples as lists."""
    record: dict[str, Any] = {"event": type(event).__name__}
    call_id = getattr(event, "call_id", None)
    if call_id is not None:
        record["call_id"] = call_id
    record["at"] = event.at.isoformat()
    for field in dataclasses.fields(event):
        if field.name in record:
            continue
        value = getattr(event, field.name)
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, str):
            value = str(value)  # a StrEnum prints as its value
        record[field.name] = value
    return record


def replay(chunks: Iterable[bytes], out: TextIO, err: TextIO) -> int:
    """Feed the chunks through AmiParser and CallTracker; returns the number of events printed."""
    parser = AmiParser(wanted=TRACKED_EVENTS)
    tracker = CallTracker()
    printed = 0
    for chunk in chunks:
        for message in parser.feed(chunk):
            for event in tracker.feed(message):
                out.write(json.dumps(event_record(event)) + "\n")
                printed += 1
        for bad in parser.take_malformed():
            # Offset and reason only: the raw bytes may carry a caller's number.
            err.write(f"hotline replay: malformed message at byte {bad.offset} skipped: {bad.reason}\n")
    return printed


def _chunks(stream: BinaryIO) -> Iterable[bytes]:
    while chunk := stream.read(CHUNK_BYTES):
        yield chunk
    # The last message may lack its blank line when a capture was cut short.
    yield b"\r\n\r\n"


def run(args: argparse.Namespace) -> int:
    if args.file == "-":
        replay(_chunks(sys.stdin.buffer), sys.stdout, sys.stderr)
        return 0
    try:
        with open(args.file, "rb") as stream:
            replay(_chunks(stream), sys.stdout, sys.stderr)
    except OSError as exc:
        print(f"hotline replay: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
