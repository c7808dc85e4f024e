"""The registry of standard reports, and every label they use present in both message catalogs."""

from __future__ import annotations

import json
from pathlib import Path

from crm.db import Database
from crm.reporting.standard import STANDARD_REPORTS, Grain, agent_performance
from tests.reports.standard.seed import SHANGHAI, params

CATALOGS = Path(__file__).parents[3] / "agent_api" / "i18n"


def test_the_registry_names_every_standard_report() -> None:
    assert set(STANDARD_REPORTS) == {
        "queue_performance",
        "agent_performance",
        "marketing_detail",
        "campaign_resources",
        "service_loop",
        "ivr_paths",
        "abandon_analysis",
    }
    assert STANDARD_REPORTS["queue_performance"].grains == tuple(Grain)
    assert all(r.grains == (Grain.DAY,) for n, r in STANDARD_REPORTS.items() if n != "queue_performance")
    assert "agents" in STANDARD_REPORTS["agent_performance"].filters


async def test_every_label_is_in_both_catalogs(db: Database) -> None:
    keys = {f"report.col.pause.{r}" for r in agent_performance.KNOWN_PAUSE_REASONS} | {
        "report.col.pause.other"
    }
    for report in STANDARD_REPORTS.values():
        keys.add(report.title_key)
        result = await report.run(db, params("2026-11-18"), tz=SHANGHAI)
        keys |= {c.label_key for c in result.columns}
        keys |= set(result.notes)
        if result.chart is not None:
            keys.add(result.chart.title_key)
    keys.add("report.note.targets_estimated")
    keys.add("report.note.target_rule_failed")
    for catalog in ("en.json", "zh_CN.json"):
        messages = json.loads((CATALOGS / catalog).read_text(encoding="utf-8"))
        assert sorted(k for k in keys if k not in messages) == [], catalog
