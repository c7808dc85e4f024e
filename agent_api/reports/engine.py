"""The report engine of crm.reporting behind the routes' ReportEngine protocol.

The only module of agent_api that knows crm.reporting's functions: standard reports, the custom
report catalog, definitions, queries, saved reports and the export writers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import tzinfo
from pathlib import Path
from typing import Any

from agent_api.reports.ports import (
    CatalogField,
    CatalogSource,
    DefinitionInvalid,
    Grain,
    SavedDraft,
    SavedInvalid,
    SavedReport,
    Schedule,
    ScheduleKind,
    StandardInfo,
    StandardQuery,
    UnknownReport,
)
from crm.db import Database
from crm.errors import NotFound
from crm.reporting import export, query, saved
from crm.reporting.catalog import SOURCES
from crm.reporting.definition import (
    InvalidReportDefinition,
    Operator,
    ReportDefinition,
    operators_for,
    parse_definition,
)
from crm.reporting.plans import result_columns
from crm.reporting.results import ReportResult, ResultColumn
from crm.reporting.saved import InvalidSavedReport
from crm.reporting.standard import STANDARD_REPORTS
from crm.reporting.standard.params import Grain as StandardGrain
from crm.reporting.standard.params import InvalidReportParams, ReportParams


class CrmReportEngine:
    def __init__(self, db: Database, tz: tzinfo) -> None:
        self.db = db
        self.tz = tz

    # --- standard reports

    def standard_reports(self) -> Sequence[StandardInfo]:
        return [
            StandardInfo(r.name, r.title_key, tuple(Grain(g.value) for g in r.grains), frozenset(r.filters))
            for r in STANDARD_REPORTS.values()
        ]

    async def run_standard(self, name: str, q: StandardQuery) -> ReportResult:
        report = STANDARD_REPORTS.get(name)
        if report is None:
            raise UnknownReport(f"no standard report {name!r}")
        try:
            params = ReportParams(
                date_from=q.date_from,
                date_to=q.date_to,
                grain=StandardGrain(q.grain.value),
                queues=q.queues,
                agents=q.agents,
                campaign_ids=q.campaign_ids,
            )
        except InvalidReportParams as exc:
            raise DefinitionInvalid(str(exc)) from None
        return await report.run(self.db, params, tz=self.tz)

    # --- custom reports

    def catalog(self) -> Sequence[CatalogSource]:
        out = []
        for source in SOURCES.values():
            fields = []
            for f in source.fields.values():
                ops = operators_for(f) if f.filter else frozenset()
                fields.append(
                    CatalogField(
                        name=f.name,
                        type=f.type.value,
                        label=f"report.field.{f.name}",
                        dimension=f.dimension,
                        measure=f.measure,
                        filter=f.filter,
                        aggregations=tuple(sorted(a.value for a in f.aggregations)),
                        operators=tuple(o.value for o in Operator if o in ops),  # eq first: the usual choice
                        flag=f.flag,
                    )
                )
            out.append(
                CatalogSource(
                    name=source.name,
                    label=f"report.source.{source.name}",
                    time_field=source.time_field,
                    grains=tuple(g.value for g in source.time.grains),
                    fields=tuple(fields),
                )
            )
        return out

    def check_definition(self, data: Mapping[str, Any]) -> ReportDefinition:
        try:
            return parse_definition(data)
        except InvalidReportDefinition as exc:
            raise DefinitionInvalid(str(exc), exc.path) from None

    async def run_custom(self, definition: object, *, page: int, page_size: int) -> ReportResult:
        assert isinstance(definition, ReportDefinition)
        try:
            return await query.run_report(self.db, definition, tz=self.tz, page=page, page_size=page_size)
        except InvalidReportDefinition as exc:
            raise DefinitionInvalid(str(exc), exc.path) from None

    async def custom_rows(
        self, definition: object
    ) -> tuple[Sequence[ResultColumn], AsyncIterator[tuple[Any, ...]]]:
        assert isinstance(definition, ReportDefinition)
        columns = result_columns(definition)
        return columns, query.stream_rows(self.db, definition, tz=self.tz)

    def csv_chunks(
        self, columns: Sequence[ResultColumn], rows: AsyncIterator[tuple[Any, ...]]
    ) -> AsyncIterator[bytes]:
        return export.csv_chunks(columns, rows)

    async def write_xlsx(
        self, columns: Sequence[ResultColumn], rows: AsyncIterator[tuple[Any, ...]], path: Path
    ) -> None:
        await export.write_xlsx(columns, rows, path)

    # --- saved reports

    async def list_saved(self, username: str, roles: frozenset[str]) -> Sequence[SavedReport]:
        return [_saved(r) for r in await saved.list_visible(self.db, username, roles)]

    async def get_saved(self, report_id: int) -> SavedReport | None:
        try:
            return _saved(await saved.get_report(self.db, report_id))
        except NotFound:
            return None

    async def create_saved(self, owner: str, draft: SavedDraft) -> SavedReport:
        try:
            return _saved(await saved.create_report(self.db, owner=owner, **_changes(draft)))
        except InvalidSavedReport as exc:
            raise SavedInvalid(str(exc), exc.field) from None
        except InvalidReportDefinition as exc:
            raise DefinitionInvalid(str(exc), exc.path) from None

    async def update_saved(self, report_id: int, draft: SavedDraft) -> SavedReport:
        try:
            return _saved(await saved.update_report(self.db, report_id, **_changes(draft)))
        except NotFound:
            raise UnknownReport(f"no saved report {report_id}") from None
        except InvalidSavedReport as exc:
            raise SavedInvalid(str(exc), exc.field) from None
        except InvalidReportDefinition as exc:
            raise DefinitionInvalid(str(exc), exc.path) from None

    async def delete_saved(self, report_id: int) -> None:
        try:
            await saved.delete_report(self.db, report_id)
        except NotFound:
            raise UnknownReport(f"no saved report {report_id}") from None


def _changes(draft: SavedDraft) -> dict[str, Any]:
    return {
        "name": draft.name,
        "definition": draft.definition,
        "shared_roles": draft.shared_roles,
        "schedule": draft.schedule.kind.value,
        "weekday": draft.schedule.weekday,
        "hour": draft.schedule.hour,
        "recipients": draft.schedule.recipients,
    }


def _saved(report: saved.SavedReport) -> SavedReport:
    return SavedReport(
        id=report.id,
        owner=report.owner,
        name=report.name,
        definition=report.definition.to_dict() if report.definition is not None else {},
        shared_roles=tuple(r.value for r in report.shared_roles),
        schedule=Schedule(
            kind=ScheduleKind(report.schedule.value),
            weekday=report.weekday,
            hour=report.hour,
            recipients=report.recipients,
        ),
        created_at=report.created_at,
        updated_at=report.updated_at,
        problem=report.problem,
    )
