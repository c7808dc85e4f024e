"""``hotline reports rebuild``: recompute the report summaries from the stored facts and contacts."""

from __future__ import annotations

import argparse
import asyncio
from zoneinfo import ZoneInfo

from crm.db import Database
from crm.reporting.facts import rebuild_summaries
from hotline.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("reports", help="report data: rebuild the summaries")
    actions = parser.add_subparsers(dest="reports_action", required=True, metavar="ACTION")
    rebuild = actions.add_parser(
        "rebuild",
        help="recompute queue_slot_stats and contact_day_counts from queue_legs and contacts "
        "(after a repair or a backfill; reports read the summaries)",
    )
    rebuild.set_defaults(run=run_rebuild)


def run_rebuild(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)

    async def go() -> None:
        db = Database(settings.db.url, echo=settings.db.echo)
        try:
            await rebuild_summaries(db, tz=ZoneInfo(settings.timezone))
        finally:
            await db.dispose()

    asyncio.run(go())
    print("report summaries rebuilt from the facts and contacts")
    return 0
