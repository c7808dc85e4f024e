"""``hotline import customers FILE`` and ``hotline export customers FILE`` (and ``contacts``).

Files are .csv (UTF-8, UTF-8 with BOM, or GB18030) or .xlsx. An import is all-or-nothing unless
``--per-row`` is given; either way every bad row is printed with its row number and reason.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from crm.db import Database
from crm.errors import ImportFailed, UnreadableFile
from crm.exporter import export_contacts, export_customers
from crm.importer import ImportMode, ImportReport, import_contacts, import_customers
from hotline.settings import load_settings

MAX_PROBLEMS_SHOWN = 50


def register(subparsers: argparse._SubParsersAction) -> None:
    importer = subparsers.add_parser("import", help="import customers or contacts from .csv / .xlsx")
    kinds = importer.add_subparsers(dest="import_kind", required=True, metavar="WHAT")
    for kind in ("customers", "contacts"):
        parser = kinds.add_parser(kind, help=f"import {kind}")
        parser.add_argument("file")
        parser.add_argument(
            "--per-row",
            action="store_true",
            help="import the good rows and skip the bad ones (default: all or nothing)",
        )
        parser.add_argument("--encoding", default=None, help="CSV encoding (default: UTF-8, else GB18030)")
        parser.set_defaults(run=run_import, kind=kind)
    exporter = subparsers.add_parser("export", help="export customers or contacts to .csv / .xlsx")
    kinds = exporter.add_subparsers(dest="export_kind", required=True, metavar="WHAT")
    for kind in ("customers", "contacts"):
        parser = kinds.add_parser(kind, help=f"export {kind}")
        parser.add_argument("file")
        parser.add_argument(
            "--encoding",
            default="utf-8-sig",
            help="CSV encoding: utf-8-sig (default, Excel-friendly) or gb18030",
        )
        parser.set_defaults(run=run_export, kind=kind)


def run_import(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    mode = ImportMode.PER_ROW if args.per_row else ImportMode.ALL
    started = time.perf_counter()

    async def go() -> ImportReport:
        db = Database(settings.db.url)
        try:
            if args.kind == "customers":
                return await import_customers(db, args.file, mode=mode, encoding=args.encoding)
            return await import_contacts(db, args.file, mode=mode, encoding=args.encoding)
        finally:
            await db.dispose()

    try:
        report = asyncio.run(go())
    except ImportFailed as exc:
        print(
            f"hotline import: {exc.path}: nothing imported, {len(exc.problems)} bad row(s):", file=sys.stderr
        )
        _print_problems(exc.problems)
        return 1
    except UnreadableFile as exc:
        print(f"hotline import: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    print(f"imported {report.imported} {args.kind} from {report.path} in {elapsed:.1f} s")
    if report.skipped:
        print(f"skipped {report.skipped} bad row(s):", file=sys.stderr)
    _print_problems(report.problems)
    return 0


def _print_problems(problems: object) -> None:
    listed = list(problems)  # type: ignore[call-overload]
    for problem in listed[:MAX_PROBLEMS_SHOWN]:
        print(f"  {problem}", file=sys.stderr)
    if len(listed) > MAX_PROBLEMS_SHOWN:
        print(f"  … and {len(listed) - MAX_PROBLEMS_SHOWN} more", file=sys.stderr)


def run_export(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)

    async def go() -> int:
        db = Database(settings.db.url)
        try:
            if args.kind == "customers":
                return await export_customers(db, args.file, encoding=args.encoding)
            return await export_contacts(db, args.file, encoding=args.encoding)
        finally:
            await db.dispose()

    try:
        count = asyncio.run(go())
    except (UnreadableFile, OSError) as exc:
        print(f"hotline export: {exc}", file=sys.stderr)
        return 1
    print(f"exported {count} {args.kind} to {args.file}")
    return 0
