"""Custom report routes: the catalog a definition may use, ad-hoc runs and ad-hoc exports."""

from __future__ import annotations

from aiohttp import web

from agent_api.context import require
from agent_api.i18n import language_of, translate
from agent_api.openapi import endpoint
from agent_api.reports.access import VIEWERS
from agent_api.reports.schemas import CatalogOut, ExportBody, FieldOut, ResultOut, RunBody, SourceOut
from agent_api.reports.service import check, export_response, reports_of, result_out, run_definition
from agent_api.security import Principal


@endpoint(
    "GET",
    "/api/reports/catalog",
    summary="What a custom report may use: sources, their fields, aggregations, operators and grains",
    roles=VIEWERS,
    response=CatalogOut,
    tag="reports",
)
async def report_catalog(request: web.Request, principal: Principal | None) -> CatalogOut:
    language = language_of(request)
    return CatalogOut(
        sources=[
            SourceOut(
                name=s.name,
                label=_label(language, s.label, s.name),
                time_field=s.time_field,
                grains=list(s.grains),
                fields=[
                    FieldOut(
                        name=f.name,
                        type=f.type,
                        label=_label(language, f.label, f.name),
                        dimension=f.dimension,
                        measure=f.measure,
                        filter=f.filter,
                        aggregations=list(f.aggregations),
                        operators=list(f.operators),
                        flag=f.flag,
                    )
                    for f in s.fields
                ],
            )
            for s in reports_of(request).engine.catalog()
        ]
    )


def _label(language: str, key: str, fallback: str) -> str:
    text = translate(language, key)
    return fallback if text == key else text


@endpoint(
    "POST",
    "/api/reports/custom/run",
    summary="Validate and run an ad-hoc custom report definition, one page of rows",
    roles=VIEWERS,
    body=RunBody,
    response=ResultOut,
    tag="reports",
)
async def run_custom(request: web.Request, principal: Principal | None, body: RunBody) -> ResultOut:
    definition = check(request, body.definition)
    result = await run_definition(request, body.definition, definition, body.page, body.page_size)
    return result_out(request, result, page=body.page, page_size=body.page_size)


@endpoint(
    "POST",
    "/api/reports/custom/export",
    summary="Export an ad-hoc custom report, every row, streamed as CSV or XLSX (audited)",
    roles=VIEWERS,
    body=ExportBody,
    tag="reports",
    produces="text/csv",
)
async def export_custom(
    request: web.Request, principal: Principal | None, body: ExportBody
) -> web.StreamResponse:
    me = require(principal)
    definition = check(request, body.definition)
    source = str(body.definition.get("source", "custom"))[:40]
    return await export_response(
        request,
        me,
        definition=definition,
        raw_definition=body.definition,
        fmt=body.format,
        stem=f"custom-{source}",
        target=f"custom:{source}",
        detail={"format": body.format.value, "definition": body.definition},
    )
