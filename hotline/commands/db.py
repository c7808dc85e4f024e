"""``hotline db upgrade``: bring the CRM schema to the newest migration (``hotline db current``)."""

from __future__ import annotations

import argparse
import asyncio

from crm.db import Database
from crm.migrate import current_revision, head_revision, upgrade
from hotline.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="database schema: upgrade, current")
    actions = parser.add_subparsers(dest="db_action", required=True, metavar="ACTION")
    up = actions.add_parser("upgrade", help="apply every pending migration (creates the database if needed)")
    up.add_argument("--revision", default="head", help="target revision (default: head)")
    up.set_defaults(run=run_upgrade)
    current = actions.add_parser("current", help="print the schema revision of the database")
    current.set_defaults(run=run_current)


def run_upgrade(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)

    async def go() -> str | None:
        db = Database(settings.db.url, echo=settings.db.echo)
        try:
            await upgrade(db, args.revision)
            return await current_revision(db)
        finally:
            await db.dispose()

    revision = asyncio.run(go())
    print(f"database at revision {revision} (head {head_revision()})")
    return 0


def run_current(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)

    async def go() -> str | None:
        db = Database(settings.db.url)
        try:
            return await current_revision(db)
        finally:
            await db.dispose()

    revision = asyncio.run(go())
    print(f"{revision or 'empty'} (head {head_revision()})")
    return 0 if revision == head_revision() else 1
