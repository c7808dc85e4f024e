"""Seconds to answer "contacts by day × queue for 30 days" over 10,000,000 contacts, against the
same GROUP BY written by hand with the sqlite3 module over the raw contacts table.

The database is built once and cached outside the repository (a few minutes for 10M rows): the
schema through Hotline's migrations, 10M contacts over one year in 20 queues bulk-inserted with
sqlite3 executemany, then ``contact_day_counts`` built by the product's own
``crm.reporting.facts.rebuild_summaries``. Each run then times, alternating, Hotline's
``run_report`` (the custom report as an analyst defines it: row count, page and totals) and the
hand-written query, checks both give identical figures, and prints the median and max of each.
Target: ≤ 2 s for Hotline's report.

    .venv/bin/python bench/report_query.py [--rows N] [--repeat R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crm.db import Database
from crm.migrate import upgrade
from crm.reporting.definition import parse_definition
from crm.reporting.facts import rebuild_summaries
from crm.reporting.query import run_report

TZ = ZoneInfo("Asia/Shanghai")
FIRST_DAY = date(2025, 12, 1)  # one year of local days, to 2026-11-30
DAYS = 365
QUEUES = tuple(f"q{n:02d}" for n in range(1, 21))
DISPOSITIONS = ("resolved", "callback", "sale", "no_sale", "transferred")
REPORT_FROM, REPORT_TO = date(2026, 6, 1), date(2026, 6, 30)
VERSION = 2  # bump when the generated data changes


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(base) / "hotline-bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored(at: datetime) -> str:
    """A UTC instant as SQLAlchemy stores it in SQLite (naive UTC text)."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def contact_rows(rows: int):  # type: ignore[no-untyped-def]
    """Contacts spread evenly over the year (calls through the queues, a few outbound), from a
    million customers (one in twenty callers unknown)."""
    rng = random.Random(10)
    start = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=TZ).astimezone(UTC)
    step = DAYS * 86400 / rows
    for i in range(rows):
        at = start + timedelta(seconds=i * step)
        q = rng.randrange(20)
        agent = f"{1000 + q * 5 + rng.randrange(5)}"
        campaign = rng.choice((None, None, None, 1, 2, 3, 4, 5))
        yield (
            rng.randrange(1, 1_000_001) if rng.random() < 0.95 else None,
            "call_in" if rng.random() < 0.9 else "call_out",
            "marketing" if campaign else "service",
            stored(at),
            agent,
            f"c{i:09d}",
            QUEUES[q],
            campaign,
            None,
            rng.choice(DISPOSITIONS),
            "",
        )


async def migrated(path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}")
    await upgrade(db)
    await db.dispose()


async def summarised(path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}")
    await rebuild_summaries(db, tz=TZ)
    await db.dispose()


def build(path: Path, rows: int) -> None:
    print(f"building {path} with {rows:,} contacts (once; minutes for 10M rows)", flush=True)
    partial = path.with_suffix(".partial")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    began = time.perf_counter()
    asyncio.run(migrated(partial))
    con = sqlite3.connect(partial, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")
    now = stored(datetime(2025, 11, 1, tzinfo=UTC))
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO campaigns (id, name, kind, status, target_rule, channels, priority, script, offer_text,"
        " created_at, updated_at) VALUES (?, ?, 'marketing', 'online', 'true', '[]', 0, '', '', ?, ?)",
        [(n, f"campaign {n}", now, now) for n in range(1, 6)],
    )
    insert = (
        "INSERT INTO contacts (customer_id, channel, purpose, at, agent, call_id, queue, campaign_id,"
        " ticket_id, disposition, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    # Rows go in without the contacts' indexes, which are then built once (sorted): far faster
    # than growing them row by row, and the same indexes in the end.
    indexes = [
        sql
        for (sql,) in con.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'contacts' AND sql IS NOT NULL"
        )
    ]
    for (name,) in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'contacts' AND sql IS NOT NULL"
    ).fetchall():
        con.execute(f"DROP INDEX {name}")
    generated = contact_rows(rows)
    done = 0
    while True:
        chunk = [row for _, row in zip(range(500_000), generated, strict=False)]
        if not chunk:
            break
        con.executemany(insert, chunk)
        done += len(chunk)
        print(f"  {done:,} contacts ({time.perf_counter() - began:.0f} s)", flush=True)
    for sql in indexes:
        con.execute(sql)
    con.execute("COMMIT")
    con.close()
    print(f"  indexes built ({time.perf_counter() - began:.0f} s)", flush=True)
    print("  building contact_day_counts with rebuild_summaries", flush=True)
    asyncio.run(summarised(partial))
    con = sqlite3.connect(partial, isolation_level=None)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("ANALYZE")
    con.close()
    partial.replace(path)
    print(f"built in {time.perf_counter() - began:.0f} s", flush=True)


DEFINITION = {
    "source": "contacts",
    "date_from": REPORT_FROM.isoformat(),
    "date_to": REPORT_TO.isoformat(),
    "dimensions": [{"field": "at", "grain": "day"}, "queue"],
    "measures": [{"fn": "count"}],
}


def by_hand(con: sqlite3.Connection) -> list[tuple[str, str, int]]:
    low = datetime.combine(REPORT_FROM, datetime.min.time(), tzinfo=TZ)
    high = datetime.combine(REPORT_TO + timedelta(days=1), datetime.min.time(), tzinfo=TZ)
    return con.execute(
        "SELECT date(at, '+8 hours'), queue, count(*) FROM contacts WHERE at >= ? AND at < ? GROUP BY 1, 2",
        (stored(low), stored(high)),
    ).fetchall()


async def hotline_runs(path: Path, repeat: int, con: sqlite3.Connection) -> tuple[list[float], list[float]]:
    db = Database(f"sqlite+aiosqlite:///{path}")
    definition = parse_definition(DEFINITION)
    ours: list[float] = []
    reference: list[float] = []
    try:
        for attempt in range(1, repeat + 1):
            began = time.perf_counter()
            result = await run_report(db, definition, tz=TZ, page_size=10_000)
            ours.append(time.perf_counter() - began)
            began = time.perf_counter()
            expected = by_hand(con)
            reference.append(time.perf_counter() - began)
            assert result.total_rows == len(result.rows) == len(expected), (result.total_rows, len(expected))
            assert sorted(result.rows) == sorted(expected), "the report and the hand-written query differ"
            print(
                f"run {attempt}: hotline run_report {ours[-1]:.3f} s ({result.notes or 'raw rows'}),"
                f" reference sqlite3 GROUP BY {reference[-1]:.3f} s, {len(expected)} rows,"
                f" {sum(r[2] for r in expected):,} contacts",
                flush=True,
            )
    finally:
        await db.dispose()
    return ours, reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    path = cache_dir() / f"report-query-{args.rows}-v{VERSION}.db"
    if not path.exists():
        build(path, args.rows)
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    ours, reference = asyncio.run(hotline_runs(path, args.repeat, con))
    con.close()
    ours_median, ref_median = statistics.median(ours), statistics.median(reference)
    print(
        f"hotline run_report (contacts by day x queue, 30 days): median {ours_median:.3f} s,"
        f" max {max(ours):.3f} s"
    )
    print(
        f"reference sqlite3 GROUP BY over raw contacts:        median {ref_median:.3f} s,"
        f" max {max(reference):.3f} s"
    )
    print(
        json.dumps(
            {
                "bench": "report_query",
                "value": round(ours_median, 4),
                "unit": "s",
                "reference": round(ref_median, 4),
                "ratio": round(ref_median / ours_median, 3),
                "target": "<= 2 s",
            }
        )
    )


if __name__ == "__main__":
    main()
