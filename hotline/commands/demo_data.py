"""``hotline demo-data --customers N``: fill the database with realistic demo customers."""

from __future__ import annotations

import argparse
import asyncio
import time

from crm.db import Database
from crm.demo import DemoReport, load_demo_data
from crm.migrate import upgrade
from hotline.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo-data", help="add demo customers, contacts, tickets, campaigns and contact rules (Faker zh_CN)"
    )
    parser.add_argument("--customers", type=int, default=1000, help="how many customers (default 1000)")
    parser.add_argument("--seed", type=int, default=4008, help="random seed, for the same data every time")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.customers < 0:
        raise SystemExit("hotline demo-data: --customers must be 0 or more")
    settings = load_settings(args.config)
    started = time.perf_counter()

    async def go() -> DemoReport:
        db = Database(settings.db.url)
        try:
            await upgrade(db)
            return await load_demo_data(db, args.customers, seed=args.seed)
        finally:
            await db.dispose()

    report = asyncio.run(go())
    print(
        f"demo data: {report.customers} customers, {report.contacts} contacts, {report.tickets} tickets, "
        f"{report.campaigns} new campaigns in {time.perf_counter() - started:.1f} s"
    )
    return 0
