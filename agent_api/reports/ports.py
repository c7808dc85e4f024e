"""What the report routes and pages need from the report engine in crm.reporting, as a Protocol.

The routes never build a query: they hand typed requests to a :class:`ReportEngine` and render the
:class:`ReportResult` it answers with. ``agent_api.reports.engine`` is the one implementation over
crm.reporting; tests may pass a small fake.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from crm.reporting.results import ReportResult, ResultColumn


class Grain(enum.StrEnum):
    SLOT15 = "slot15"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class ScheduleKind(enum.StrEnum):
    NONE = "none"
    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True, slots=True)
class StandardInfo:
    name: str
    title_key: str
    grains: tuple[Grain, ...]  # the grains the report honours; the first is its default
    filters: frozenset[str] = frozenset()  # which of queues / agents / campaign_ids it honours


@dataclass(frozen=True, slots=True)
class StandardQuery:
    date_from: date
    date_to: date  # inclusive, local days
    grain: Grain = Grain.DAY
    queues: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    campaign_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class CatalogField:
    name: str
    type: str  # crm.reporting.results.ValueType's values
    label: str
    dimension: bool
    measure: bool
    filter: bool
    aggregations: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    flag: bool = False  # a yes/no field


@dataclass(frozen=True, slots=True)
class CatalogSource:
    name: str
    label: str
    time_field: str
    grains: tuple[str, ...]  # how the time field may be grouped
    fields: tuple[CatalogField, ...]


@dataclass(frozen=True, slots=True)
class Schedule:
    kind: ScheduleKind = ScheduleKind.NONE
    weekday: int | None = None  # 0 Monday … 6 Sunday, for weekly
    hour: int = 8  # local hour of the day it is sent
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SavedDraft:
    name: str
    definition: Mapping[str, Any]
    shared_roles: tuple[str, ...] = ()
    schedule: Schedule = field(default_factory=Schedule)


@dataclass(frozen=True, slots=True)
class SavedReport:
    id: int
    owner: str
    name: str
    definition: Mapping[str, Any]
    shared_roles: tuple[str, ...]
    schedule: Schedule
    created_at: datetime
    updated_at: datetime
    problem: str = ""  # why ``definition`` is empty: the catalog changed under the stored one


class DefinitionInvalid(Exception):
    """A custom definition the engine refuses; ``field`` names the part at fault when known."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class SavedInvalid(DefinitionInvalid):
    """A saved report's name, sharing or schedule the engine refuses."""


class UnknownReport(Exception):
    pass


class ReportEngine(Protocol):
    def standard_reports(self) -> Sequence[StandardInfo]: ...

    async def run_standard(self, name: str, query: StandardQuery) -> ReportResult: ...

    def catalog(self) -> Sequence[CatalogSource]: ...

    def check_definition(self, data: Mapping[str, Any]) -> object:
        """The parsed definition; raises DefinitionInvalid."""
        ...

    async def run_custom(self, definition: object, *, page: int, page_size: int) -> ReportResult: ...

    async def custom_rows(
        self, definition: object
    ) -> tuple[Sequence[ResultColumn], AsyncIterator[tuple[Any, ...]]]: ...

    def csv_chunks(
        self, columns: Sequence[ResultColumn], rows: AsyncIterator[tuple[Any, ...]]
    ) -> AsyncIterator[bytes]: ...

    async def write_xlsx(
        self, columns: Sequence[ResultColumn], rows: AsyncIterator[tuple[Any, ...]], path: Path
    ) -> None: ...

    async def list_saved(self, username: str, roles: frozenset[str]) -> Sequence[SavedReport]: ...

    async def get_saved(self, report_id: int) -> SavedReport | None: ...

    async def create_saved(self, owner: str, draft: SavedDraft) -> SavedReport: ...

    async def update_saved(self, report_id: int, draft: SavedDraft) -> SavedReport: ...

    async def delete_saved(self, report_id: int) -> None: ...
