"""Request and answer bodies of the reports API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent_api.reports.ports import ExportFormat, Grain, ScheduleKind
from crm.kinds import Role

NAMES = r"^[^,\x00-\x1f]{1,64}(,[^,\x00-\x1f]{1,64}){0,49}$"  # comma-separated queue or agent names
IDS = r"^[0-9]{1,9}(,[0-9]{1,9}){0,49}$"
EARLIEST, LATEST = (
    date(1970, 1, 1),
    date(2999, 12, 31),
)  # far from the calendar's ends, where tz math overflows


class StandardQueryIn(BaseModel):
    """Filters of a standard report; ``from``/``to`` default to the last seven local days."""

    model_config = ConfigDict(populate_by_name=True)

    date_from: date | None = Field(None, alias="from", ge=EARLIEST, le=LATEST)
    to: date | None = Field(None, ge=EARLIEST, le=LATEST)
    grain: Grain | None = None
    queue: str | None = Field(None, pattern=NAMES, description="queue names, comma-separated")
    agent: str | None = Field(None, pattern=NAMES, description="agent names, comma-separated")
    campaign: str | None = Field(None, pattern=IDS, description="campaign ids, comma-separated")


class StandardExportQuery(StandardQueryIn):
    format: ExportFormat = ExportFormat.CSV


class ColumnOut(BaseModel):
    name: str
    type: str
    role: str
    label: str


class ChartOut(BaseModel):
    kind: str
    x: str
    series: list[str]


Value = str | int | float | bool | None


class ResultOut(BaseModel):
    columns: list[ColumnOut]
    rows: list[list[Value]]
    totals: list[Value] | None = None
    chart: ChartOut | None = None
    total_rows: int | None = None
    page: int = 1
    page_size: int | None = None
    notes: list[str] = []


class StandardOut(BaseModel):
    name: str
    title: str
    grains: list[str]


class StandardList(BaseModel):
    reports: list[StandardOut]


class FieldOut(BaseModel):
    name: str
    type: str
    label: str
    dimension: bool
    measure: bool
    filter: bool
    aggregations: list[str]
    operators: list[str]
    flag: bool = False  # a yes/no field: filtered with true or false


class SourceOut(BaseModel):
    name: str
    label: str
    time_field: str
    grains: list[str]
    fields: list[FieldOut]


class CatalogOut(BaseModel):
    sources: list[SourceOut]


class RunBody(BaseModel):
    definition: dict[str, Any]
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(100, ge=1, le=1000)


class ExportBody(BaseModel):
    definition: dict[str, Any]
    format: ExportFormat = ExportFormat.CSV


class PageQuery(BaseModel):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(100, ge=1, le=1000)


class FormatQuery(BaseModel):
    format: ExportFormat = ExportFormat.CSV


class ScheduleIn(BaseModel):
    """Checked by the engine too: a scheduled report needs recipients, a weekly one its weekday."""

    kind: ScheduleKind = ScheduleKind.NONE
    weekday: int | None = Field(None, ge=0, le=6, description="0 Monday … 6 Sunday; weekly only")
    hour: int = Field(8, ge=0, le=23, description="local hour the report is sent")
    recipients: list[str] = Field(default_factory=list, max_length=20)


class SavedIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    definition: dict[str, Any]
    shared_roles: list[Role] = Field(default_factory=list, max_length=4)
    schedule: ScheduleIn = Field(default_factory=ScheduleIn)


class ScheduleOut(BaseModel):
    kind: str
    weekday: int | None
    hour: int
    recipients: list[str]


class SavedOut(BaseModel):
    id: int
    owner: str
    name: str
    definition: dict[str, Any]
    shared_roles: list[str]
    schedule: ScheduleOut
    created_at: datetime
    updated_at: datetime
    may_change: bool
    problem: str = ""  # set when the stored definition no longer fits the catalog


class SavedList(BaseModel):
    reports: list[SavedOut]
