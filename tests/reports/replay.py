"""Replaying a captured AMI stream through the call tracker, as ``hotline replay`` does."""

from __future__ import annotations

from pathlib import Path

from cti.ami_protocol import AmiParser
from cti.tracker import WANTED as TRACKED_EVENTS
from cti.tracker import CallTracker


def domain_events(capture: Path) -> list[object]:
    parser = AmiParser(wanted=TRACKED_EVENTS)
    tracker = CallTracker()
    events: list[object] = []
    for message in parser.feed(capture.read_bytes() + b"\r\n\r\n"):
        events.extend(tracker.feed(message))
    return events
