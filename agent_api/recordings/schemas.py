"""Request and answer bodies of the recordings API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from agent_api.query_time import QueryTime


class SearchQuery(BaseModel):
    since: QueryTime | None = None
    until: QueryTime | None = None
    agent: str | None = Field(None, max_length=64)
    queue: str | None = Field(None, max_length=64)
    customer_id: int | None = Field(None, ge=0, le=2**62)
    number: str | None = Field(None, pattern=r"^\+?[0-9]{3,20}$")
    disposition: str | None = Field(None, max_length=40)
    min_duration_s: float | None = Field(None, ge=0)
    max_duration_s: float | None = Field(None, ge=0)
    min_score: float | None = Field(None, ge=0, le=100)
    max_score: float | None = Field(None, ge=0, le=100)
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


class RecordingOut(BaseModel):
    id: int
    call_id: str
    started_at: datetime
    ended_at: datetime | None
    agent: str
    queue: str
    number: str  # masked for agents: the middle digits hidden
    customer_id: int | None
    disposition: str
    duration_s: float | None
    size_bytes: int | None
    format: str
    channels: int
    checksum: str
    talk_ratio: float | None
    silence_ratio: float | None
    crosstalk_s: float | None
    state: str
    error: str
    retain_until: datetime | None
    held: bool
    hold_reason: str
    qa_score: float | None


class SearchResult(BaseModel):
    recordings: list[RecordingOut]


class Comment(BaseModel):
    offset_s: float = Field(ge=0, le=86400)
    text: str = Field(min_length=1, max_length=1000)


class ReviewBody(BaseModel):
    form: str = Field(min_length=1, max_length=64)
    answers: dict[str, bool | float]
    comments: list[Comment] = Field(default_factory=list, max_length=100)
    summary: str = Field("", max_length=4000)


class ReviewOut(BaseModel):
    id: int
    reviewer: str
    form: str
    score: float
    sections: dict[str, float] = {}
    failed_critical: list[str] = []  # the critical questions failed: why the score is 0
    answers: dict[str, bool | float]
    comments: list[Comment]
    summary: str
    at: datetime


class RecordingDetail(BaseModel):
    recording: RecordingOut
    reviews: list[ReviewOut]


class QuestionOut(BaseModel):
    id: str
    text: str
    kind: str
    max: int
    weight: float
    critical: bool


class SectionOut(BaseModel):
    title: str
    weight: float
    questions: list[QuestionOut]


class FormOut(BaseModel):
    id: str
    title: str
    sections: list[SectionOut]


class Forms(BaseModel):
    forms: list[FormOut]


class ScoresQuery(BaseModel):
    by: str = Field("agent", pattern="^(agent|queue)$")
    since: QueryTime | None = None
    until: QueryTime | None = None


class ScoreRow(BaseModel):
    key: str
    reviews: int
    average: float
    lowest: float
    highest: float


class Scores(BaseModel):
    by: str
    rows: list[ScoreRow]


class HoldBody(BaseModel):
    held: bool
    reason: str = Field("", max_length=200)


class PurgeResult(BaseModel):
    purged: list[int]
    bytes: int


class StorageRow(BaseModel):
    state: str
    format: str
    count: int
    bytes: int


class StorageUse(BaseModel):
    rows: list[StorageRow]
    store_bytes: int
    spool_bytes: int
    disk_total_bytes: int
    disk_free_bytes: int


class PauseResult(BaseModel):
    channels: list[str]
