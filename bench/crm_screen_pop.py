"""Screen-pop and phone lookup at 1,000,000 customers / 10,000,000 contacts on SQLite.

The data set is generated once with raw sqlite3 executemany (setup, not the measurement) and
cached outside the repository ($XDG_CACHE_HOME/hotline-bench or ~/.cache/hotline-bench).
Measured: ``Crm.screen_pop`` p50/p99 and ``Crm.find_caller`` p50/p99 for random callers, and
in the same run the reference: the same phone → customer query (same SQL text, already
normalized number) done directly with the sqlite3 module on a connection with the same
settings, in alternating rounds with the collector paused on both sides.
Targets: phone lookup p99 ≤ 3× the reference; screen_pop p99 ≤ 5 ms.

    .venv/bin/python bench/crm_screen_pop.py [--customers N] [--contacts-per-customer K]
        [--samples S] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.dialects import sqlite as sqlite_dialect

from crm.customers import _CALLER_QUERY  # the statement find_caller runs, for the reference
from crm.db import Database
from crm.kinds import TicketKind, TicketStatus
from crm.migrate import upgrade
from crm.service import Crm

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌宇浩凯"
    "健俊帆帅旭宁龙林欣怡佳琪晨阳"
)
CHANNELS = (
    "call_in",
    "call_in",
    "call_in",
    "call_in",
    "call_out",
    "sms",
    "email",
    "web",
    "visit",
    "callback",
)
SEGMENTS = ("regular", "regular", "regular", "silver", "gold", "platinum")
NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(base) / "hotline-bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def mobile(i: int) -> str:
    return f"+86{13000000000 + i * 37}"


def landline(i: int) -> str:
    return f"+8610{20000000 + i}"


def ts(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def generate(path: Path, customers: int, per_customer: int) -> None:
    print(
        f"generating {customers:,} customers / {customers * per_customer:,} contacts in {path} (once)",
        flush=True,
    )
    started = time.perf_counter()
    partial = path.with_suffix(".partial")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)

    async def schema() -> None:
        db = Database(f"sqlite+aiosqlite:///{partial}")
        await upgrade(db)
        await db.dispose()

    asyncio.run(schema())
    rng = random.Random(4008)
    con = sqlite3.connect(partial, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-400000")
    con.execute("BEGIN")
    con.execute("DROP INDEX ix_contacts_call_id")
    con.execute("DROP INDEX ix_contacts_customer_at")
    created = ts(NOW - timedelta(days=800))

    def customer_rows():
        for i in range(1, customers + 1):
            segment = rng.choice(SEGMENTS)
            yield (
                i,
                rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else ""),
                segment,
                SEGMENTS.index(segment) // 3 + (segment == "platinum"),
                '["宽带"]' if i % 3 == 0 else "[]",
                i % 5 != 0,
                i % 4 != 0,
                i % 2 == 0,
                "zh-CN",
                None,
                None,
                f"1101051980{i % 10000:04d}{i % 1000:03d}X",
                "北京市朝阳区建国路88号",
                created,
                created,
            )

    con.executemany(
        "INSERT INTO customers (id, name, segment, vip_level, tags, consent_marketing, consent_sms,"
        " consent_email, language, owner_agent, email, id_number, address, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        customer_rows(),
    )

    def phone_rows():
        n = 0
        for i in range(1, customers + 1):
            n += 1
            yield (n, i, mobile(i), "mobile")
            if i % 10 == 0:
                n += 1
                yield (n, i, landline(i), "landline")

    con.executemany("INSERT INTO customer_phones VALUES (?,?,?,?)", phone_rows())
    con.executemany(
        "INSERT INTO campaigns (id, name, kind, status, target_rule, channels, priority, script, offer_text,"
        " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                1,
                "宽带提速",
                "marketing",
                "online",
                '"宽带" in tags and vip_level >= 0',
                '["call_in","sms"]',
                5,
                "s",
                "o",
                created,
                created,
            ),
            (
                2,
                "满意度问卷",
                "questionnaire",
                "online",
                "contacts_30d >= 0",
                '["call_in"]',
                1,
                "s",
                "",
                created,
                created,
            ),
            (
                3,
                "家庭信息",
                "info_collection",
                "online",
                'segment != "platinum"',
                '["call_in"]',
                0,
                "s",
                "",
                created,
                created,
            ),
            (4, "旧活动", "marketing", "ended", "true", '["call_in"]', 0, "s", "", created, created),
        ],
    )
    con.executemany(
        "INSERT INTO questions (campaign_id, position, text, kind, choices, scale_min, scale_max)"
        " VALUES (?,?,?,?,?,?,?)",
        [(2, 1, "满意吗？", "scale", "[]", 1, 5), (3, 1, "几口人？", "single", '["1","2","3+"]', None, None)],
    )
    con.executemany(
        "INSERT INTO contact_rules (name, kind, enabled, purposes, channels, max_count, window_days,"
        " quiet_start, quiet_end) VALUES (?,?,?,?,?,?,?,?,?)",
        [
            ("1 in 7 days", "frequency_cap", True, '["marketing"]', "[]", 1, 7, None, None),
            ("3 in 30 days", "frequency_cap", True, '["marketing"]', "[]", 3, 30, None, None),
            ("night", "quiet_hours", True, "[]", '["call_out","sms"]', None, None, "21:00", "08:00"),
        ],
    )
    span = 365 * 86400

    def contact_rows():
        n = 0
        for i in range(1, customers + 1):
            offsets = sorted(rng.randrange(span) for _ in range(per_customer))
            for k, offset in enumerate(offsets):
                n += 1
                channel = CHANNELS[(i + k) % len(CHANNELS)]
                marketing = (i + k) % 10 == 0
                yield (
                    n,
                    i,
                    channel,
                    "marketing" if marketing else "service",
                    ts(NOW - timedelta(seconds=span - offset)),
                    f"80{(i + k) % 16:02d}",
                    f"{1700000000 + n}.{k}" if channel.startswith("call") else None,
                    1 if marketing else None,
                    None,
                    "resolved",
                    "",
                )

    con.executemany(
        "INSERT INTO contacts (id, customer_id, channel, purpose, at, agent, call_id, campaign_id,"
        " ticket_id, disposition, note) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        contact_rows(),
    )
    opened = ts(NOW - timedelta(days=2))
    due = ts(NOW + timedelta(days=2))

    def ticket_rows():
        for n, i in enumerate(range(7, customers + 1, 50), start=1):
            kind = "complaint" if n % 4 == 0 else "service_request"
            yield (
                n,
                f"T261116{n:06d}",
                kind,
                "open",
                i,
                "宽带断线",
                "",
                None,
                "8001",
                opened,
                due,
                None,
                None,
                0,
                None,
                None,
            )

    con.executemany(
        "INSERT INTO tickets (id, number, kind, status, customer_id, subject, description, assignee,"
        " opened_by, opened_at, due_at, resolved_at, closed_at, escalation_level, satisfaction,"
        " evaluation) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        ticket_rows(),
    )
    print(f"  rows in {time.perf_counter() - started:.0f} s; indexing", flush=True)
    con.execute("CREATE INDEX ix_contacts_customer_at ON contacts (customer_id, at)")
    con.execute("CREATE INDEX ix_contacts_call_id ON contacts (call_id)")
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    partial.replace(path)
    print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def reference_sql() -> str:
    """The exact SQL ``find_caller`` runs (compiled from the same statement): the reference is
    that lookup without Hotline's layers (number normalization, statement plan, row mapping)."""
    return str(_CALLER_QUERY.compile(dialect=sqlite_dialect.dialect()))


def reference_connection(path: Path) -> sqlite3.Connection:
    # The settings of Hotline's inline reader (crm/db.py): autocommit, busy timeout, read-only.
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA busy_timeout=10000")
    con.execute("PRAGMA query_only=ON")
    return con


def reference_lookups(con: sqlite3.Connection, sql: str, numbers: list[str]) -> list[float]:
    complaint, closed = TicketKind.COMPLAINT.value, TicketStatus.CLOSED.value
    times = []
    clock = time.perf_counter
    for number in numbers:
        started = clock()
        con.execute(sql, (complaint, closed, number)).fetchall()
        times.append(clock() - started)
    return times


async def hotline_lookups(crm: Crm, raw_numbers: list[str]) -> list[float]:
    times = []
    clock = time.perf_counter
    for number in raw_numbers:
        started = clock()
        await crm.find_caller(number)
        times.append(clock() - started)
    return times


async def measure(
    path: Path, numbers: list[str], raw_numbers: list[str], rounds: int
) -> tuple[list[float], list[float], list[float], int]:
    """Screen-pops, then the phone lookup and its reference in alternating rounds (so a burst
    of load on a shared machine falls on both), each warmed by a full pass first, the cyclic
    collector paused around every timed round on both sides."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    crm = Crm(db, clock=lambda: NOW, catalog_refresh_s=3600)
    con = reference_connection(path)
    sql = reference_sql()
    # Warm: every sampled customer's pages in the OS cache, the statement cache, the catalog.
    # Both sides are measured warm; a cold disk read is not what this bench is about.
    for number in raw_numbers:
        await crm.screen_pop(number)
    await hotline_lookups(crm, raw_numbers)
    reference_lookups(con, sql, numbers)
    pops: list[float] = []
    offered = 0
    gc.disable()
    try:
        for number in raw_numbers:
            started = time.perf_counter()
            pop = await crm.screen_pop(number)
            pops.append(time.perf_counter() - started)
            offered += bool(pop.offers)
        lookups: list[float] = []
        reference: list[float] = []
        for _ in range(rounds):
            reference += reference_lookups(con, sql, numbers)
            lookups += await hotline_lookups(crm, raw_numbers)
    finally:
        gc.enable()
    con.close()
    await db.dispose()
    return pops, lookups, reference, offered


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--contacts-per-customer", type=int, default=10)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=4, help="lookup rounds over the samples, per side")
    args = parser.parse_args()
    path = cache_dir() / f"crm-{args.customers}-{args.contacts_per_customer}-v2.db"
    if not path.exists():
        generate(path, args.customers, args.contacts_per_customer)
    rng = random.Random(7)
    ids = [rng.randrange(1, args.customers + 1) for _ in range(args.samples)]
    numbers = [mobile(i) if i % 10 else landline(i) for i in ids]
    # Callers' IDs as Asterisk hands them over: national format, no +86.
    raw_numbers = [n[3:] if n.startswith("+861") else "0" + n[3:] for n in numbers]
    pops, lookups, reference, offered = asyncio.run(measure(path, numbers, raw_numbers, args.rounds))
    ref_p50, ref_p99 = percentile(reference, 50) * 1e6, percentile(reference, 99) * 1e6
    lookup_p50, lookup_p99 = percentile(lookups, 50) * 1e6, percentile(lookups, 99) * 1e6
    pop_p50, pop_p99 = percentile(pops, 50) * 1e3, percentile(pops, 99) * 1e3
    contacts = args.customers * args.contacts_per_customer
    print(f"data: {args.customers:,} customers, {contacts:,} contacts ({path})")
    print(f"lookups: {len(lookups):,} per side, alternating rounds, collector paused on both sides")
    print(f"reference sqlite3 phone lookup: p50 {ref_p50:.1f} µs  p99 {ref_p99:.1f} µs")
    print(
        f"Crm.find_caller:                p50 {lookup_p50:.1f} µs  p99 {lookup_p99:.1f} µs"
        f"  ({lookup_p99 / ref_p99:.1f}x reference p99, target <= 3x)"
    )
    print(
        f"Crm.screen_pop:                 p50 {pop_p50:.2f} ms  p99 {pop_p99:.2f} ms"
        f"  mean {statistics.mean(pops) * 1e3:.2f} ms (target p99 <= 5 ms); {offered}/{len(pops)} with offers"
    )
    print(
        json.dumps(
            {
                "bench": "crm_screen_pop",
                "value": round(lookup_p99, 1),
                "unit": "us (phone lookup p99)",
                "reference": round(ref_p99, 1),
                "ratio": round(lookup_p99 / ref_p99, 2),
                "target": "phone lookup p99 <= 3x raw sqlite3; screen_pop p99 <= 5 ms (printed above)",
            }
        )
    )


if __name__ == "__main__":
    main()
