"""``hotline reports rebuild``: recompute the report summaries from the stored facts and contacts;
``hotline reports check-queue-log FILE``: compare Hotline's queue legs with Asterisk's queue_log."""

from __future__ import annotations

import argparse
import asyncio
import sys
from zoneinfo import ZoneInfo

from crm.db import Database
from crm.reporting.facts import rebuild_summaries
from crm.reporting.queue_log import compare_with_legs, parse_queue_log
from hotline.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("reports", help="report data: rebuild the summaries, check queue_log")
    actions = parser.add_subparsers(dest="reports_action", required=True, metavar="ACTION")
    rebuild = actions.add_parser(
        "rebuild",
        help="recompute queue_slot_stats and contact_day_counts from queue_legs and contacts "
        "(after a repair or a backfill; reports read the summaries)",
    )
    rebuild.set_defaults(run=run_rebuild)
    check = actions.add_parser(
        "check-queue-log",
        help="compare the queue legs Hotline recorded with Asterisk's queue_log for the same calls "
        "(outcome, wait, talk, position); exit status 1 when they disagree",
    )
    check.add_argument("file", help="the queue_log file (e.g. /var/log/asterisk/queue_log)")
    check.set_defaults(run=run_check_queue_log)


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


def run_check_queue_log(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    try:
        with open(args.file, encoding="utf-8", errors="replace") as stream:
            calls, problems = parse_queue_log(stream)
    except OSError as exc:
        print(f"hotline reports: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"hotline reports: {args.file} {problem}", file=sys.stderr)

    async def go() -> list:
        db = Database(settings.db.url, echo=settings.db.echo)
        try:
            return await compare_with_legs(db, calls)
        finally:
            await db.dispose()

    mismatches = asyncio.run(go())
    for mismatch in mismatches:
        print(mismatch)
    finished = sum(1 for call in calls if call.outcome)
    print(f"{finished} calls in queue_log, {len(mismatches)} disagreements")
    return 1 if mismatches else 0
