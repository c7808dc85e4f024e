"""The recording index's tables (one row per recorded channel, one per QA review), the states of
the storage pipeline, and the values the index takes and returns.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.models import Base, UtcDateTime


class RecordingState(enum.StrEnum):
    RECORDING = "recording"  # Asterisk is writing the file
    PENDING = "pending"  # the call ended: waiting for analysis and transcode
    TRANSCODING = "transcoding"
    STORED = "stored"  # compressed copy verified, spool original removed
    FAILED = "failed"  # the spool file is unusable; ``error`` says why
    PURGED = "purged"  # removed after its retention


class RecordingRow(Base):
    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(100), default="")
    spool_path: Mapped[str] = mapped_column(String(500), unique=True)  # relative to the spool
    legs: Mapped[list[str]] = mapped_column(JSON, default=list)  # r()/t() files, caller first
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    agent: Mapped[str] = mapped_column(String(64), default="", index=True)
    queue: Mapped[str] = mapped_column(String(64), default="", index=True)
    number: Mapped[str] = mapped_column(String(32), default="", index=True)
    customer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    contact_id: Mapped[int | None] = mapped_column(Integer)
    disposition: Mapped[str] = mapped_column(String(40), default="")
    duration_s: Mapped[float | None] = mapped_column(Float)
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(10), default="")
    channels: Mapped[int] = mapped_column(Integer, default=1)
    checksum: Mapped[str] = mapped_column(String(64), default="")  # sha256 of the stored file
    talk_ratio: Mapped[float | None] = mapped_column(Float)
    silence_ratio: Mapped[float | None] = mapped_column(Float)
    crosstalk_s: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(20), index=True)
    stored_path: Mapped[str] = mapped_column(String(500), default="")  # relative to the store
    error: Mapped[str] = mapped_column(String(500), default="")
    retain_until: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    hold_reason: Mapped[str] = mapped_column(String(200), default="")
    held_by: Mapped[str] = mapped_column(String(64), default="")
    qa_score: Mapped[float | None] = mapped_column(Float)


class ReviewRow(Base):
    __tablename__ = "recording_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    reviewer: Mapped[str] = mapped_column(String(64))
    form: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    comments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    summary: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


# --- values ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewRecording:
    call_id: str
    spool_path: str
    started_at: datetime
    channel: str = ""
    legs: tuple[str, ...] = ()
    number: str = ""
    queue: str = ""
    agent: str = ""


@dataclass(frozen=True, slots=True)
class Recording:
    id: int
    call_id: str
    channel: str
    spool_path: str
    legs: tuple[str, ...]
    started_at: datetime
    ended_at: datetime | None
    agent: str
    queue: str
    number: str
    customer_id: int | None
    contact_id: int | None
    disposition: str
    duration_s: float | None
    size_bytes: int | None
    format: str
    channels: int
    checksum: str
    talk_ratio: float | None
    silence_ratio: float | None
    crosstalk_s: float | None
    state: RecordingState
    stored_path: str
    error: str
    retain_until: datetime | None
    held: bool
    hold_reason: str
    held_by: str
    qa_score: float | None


@dataclass(frozen=True, slots=True)
class RecordingQuery:
    since: datetime | None = None
    until: datetime | None = None
    agent: str | None = None
    queue: str | None = None
    customer_id: int | None = None
    number: str | None = None  # a suffix match: the last digits a supervisor remembers
    disposition: str | None = None
    min_duration_s: float | None = None
    max_duration_s: float | None = None
    min_score: float | None = None
    max_score: float | None = None
    agents: tuple[str, ...] | None = None  # restrict to these agents (an agent sees their own)
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class NewReview:
    recording_id: int
    reviewer: str
    form: str
    score: float
    answers: dict[str, Any] = field(default_factory=dict)
    comments: tuple[dict[str, Any], ...] = ()  # {"offset_s": float, "text": str}
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Review:
    id: int
    recording_id: int
    reviewer: str
    form: str
    score: float
    answers: dict[str, Any]
    comments: tuple[dict[str, Any], ...]
    summary: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    key: str  # the agent or queue
    reviews: int
    average: float
    lowest: float
    highest: float


@dataclass(frozen=True, slots=True)
class StorageUse:
    state: str
    format: str
    count: int
    bytes: int
