"""Typed recording errors, each saying what a person needs to fix the problem."""

from __future__ import annotations


class RecordingError(Exception):
    """Base of every error recording/ raises."""


class UnsafePath(RecordingError):
    """A file name that would leave the spool or the store (``..``, an absolute path, a NUL)."""


class BadAudio(RecordingError):
    """A spool file that is not a usable WAV (truncated, empty, not audio)."""


class TranscodeFailed(RecordingError):
    """ffmpeg failed or its output did not verify; the spool original is kept."""


class RecordingNotFound(RecordingError):
    """No such recording, or its file is gone (purged, or never written)."""


class BadForm(RecordingError):
    """A QA form file that does not describe a form (sections, questions, weights)."""


class BadAnswers(RecordingError):
    """A review whose answers do not fit its form."""
