"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

TRANSCRIPTS = Path(__file__).parent / "transcripts"


@pytest.fixture(scope="session")
def transcripts() -> Path:
    """The AMI / AGI captures from a real Asterisk 22 (see tests/transcripts/README.md)."""
    return TRANSCRIPTS
