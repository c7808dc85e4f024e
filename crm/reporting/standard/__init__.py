"""The standard reports: one module per report, each ``run(db, params, *, tz) -> ReportResult``.

``STANDARD_REPORTS`` maps a report's name to its entry: its title's message key, its runner,
the grains it honours and the filters it applies (a page shows only those). Formulas and
choices are in docs/reports-standard.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from crm.reporting.standard import (
    abandon_analysis,
    agent_performance,
    campaign_resources,
    ivr_paths,
    marketing_detail,
    queue_performance,
    service_loop,
)
from crm.reporting.standard.base import StandardReport
from crm.reporting.standard.params import Grain, InvalidReportParams, ReportParams

QUEUES, AGENTS, CAMPAIGNS = "queues", "agents", "campaign_ids"

_REPORTS = (
    StandardReport(
        queue_performance.NAME,
        queue_performance.TITLE_KEY,
        queue_performance.run,
        grains=tuple(Grain),
        filters=frozenset({QUEUES}),
    ),
    StandardReport(
        agent_performance.NAME,
        agent_performance.TITLE_KEY,
        agent_performance.run,
        filters=frozenset({QUEUES, AGENTS, CAMPAIGNS}),
    ),
    StandardReport(
        marketing_detail.NAME,
        marketing_detail.TITLE_KEY,
        marketing_detail.run,
        filters=frozenset({AGENTS, CAMPAIGNS}),
    ),
    StandardReport(
        campaign_resources.NAME,
        campaign_resources.TITLE_KEY,
        campaign_resources.run,
        filters=frozenset({CAMPAIGNS}),
    ),
    StandardReport(service_loop.NAME, service_loop.TITLE_KEY, service_loop.run, filters=frozenset({AGENTS})),
    StandardReport(ivr_paths.NAME, ivr_paths.TITLE_KEY, ivr_paths.run, filters=frozenset({QUEUES})),
    StandardReport(
        abandon_analysis.NAME,
        abandon_analysis.TITLE_KEY,
        abandon_analysis.run,
        filters=frozenset({QUEUES}),
    ),
)

STANDARD_REPORTS: Mapping[str, StandardReport] = MappingProxyType({r.name: r for r in _REPORTS})

__all__ = ["STANDARD_REPORTS", "Grain", "InvalidReportParams", "ReportParams", "StandardReport"]
