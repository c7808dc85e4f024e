"""Fixtures shared by every test package."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

TRANSCRIPTS = Path(__file__).parent / "transcripts"


@pytest.fixture(scope="session")
def transcripts() -> Path:
    """The AMI / AGI captures from a real Asterisk 22 (see tests/transcripts/README.md)."""
    return TRANSCRIPTS


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """Takes back the root handlers a test added: a test that configures logging (or starts
    Hotline in-process) would otherwise leave a handler on its captured stream, which pytest
    closes, and a later test's log lines from another thread fail to write there. pytest's own
    capture handlers come and go with each phase and are left to it."""
    root = logging.getLogger()
    before, level = set(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in before and not type(handler).__module__.startswith("_pytest"):
            root.removeHandler(handler)
    root.setLevel(level)
