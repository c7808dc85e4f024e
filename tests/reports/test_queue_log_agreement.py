"""Agreement with Asterisk: the AMI streams of real calls go through the call tracker and the call
log into the database; the queue report's figures for those calls equal what Asterisk's own
queue_log says about the same calls (answered, abandoned, wait — queue_log's "holdtime" — and
talk, queue_log's "calltime")."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from acd.call_log import CallLog
from crm.db import Database
from crm.reporting.facts import local_day_slot, record_facts
from crm.reporting.queue_log import QueueLogCall, compare_with_legs, parse_queue_log
from crm.reporting.standard import STANDARD_REPORTS, Grain, ReportParams
from tests.reports.replay import domain_events

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAPTURES = ("01-inbound-answered/01.ami", "02-abandoned/02.ami")
QUEUE_LOGS = ("01-inbound-answered/queue_log", "02-abandoned/queue_log")


async def replay_into(db: Database, transcripts: Path) -> None:
    """Every capture through the tracker and the call log, as the running system does."""
    log = CallLog({"support": 20})
    facts = []
    for capture in CAPTURES:
        for event in domain_events(transcripts / capture):
            facts.extend(log.feed(event))
    facts.extend(log.flush())
    await record_facts(db, facts, tz=SHANGHAI)


def queue_log_calls(transcripts: Path) -> list[QueueLogCall]:
    calls: list[QueueLogCall] = []
    for name in QUEUE_LOGS:
        parsed, problems = parse_queue_log((transcripts / name).read_text().splitlines())
        assert problems == []
        calls.extend(parsed)
    return calls


def test_the_queue_log_parser_reads_the_captured_calls(transcripts: Path) -> None:
    answered, abandoned = queue_log_calls(transcripts)
    assert (answered.call_id, answered.queue, answered.outcome, answered.agent) == (
        "1795416380.155",
        "support",
        "answered",
        "Agent 1001",
    )
    assert (answered.wait_s, answered.talk_s) == (1.0, 4.0)  # CONNECT holdtime 1, COMPLETECALLER 1|4
    assert (abandoned.call_id, abandoned.outcome, abandoned.wait_s, abandoned.position) == (
        "1795415628.3",
        "abandoned",
        4.0,  # ABANDON 1|1|4: position 1, original position 1, waited 4 s
        1,
    )


async def test_the_queue_legs_agree_with_queue_log(db: Database, transcripts: Path) -> None:
    await replay_into(db, transcripts)
    assert await compare_with_legs(db, queue_log_calls(transcripts)) == []


async def test_the_queue_report_agrees_with_queue_log(db: Database, transcripts: Path) -> None:
    await replay_into(db, transcripts)
    calls = queue_log_calls(transcripts)
    days = {date.fromisoformat(local_day_slot(call.entered_at, SHANGHAI)[0]) for call in calls}
    params = ReportParams(min(days), max(days), grain=Grain.SLOT15, queues=("support",))
    result = await STANDARD_REPORTS["queue_performance"].run(db, params, tz=SHANGHAI)
    names = [column.name for column in result.columns]
    rows = {row[0]: dict(zip(names, row, strict=True)) for row in result.rows}
    # Each call entered the queue in its own 15-minute slot: the slot's row is that call's figures.
    for call in calls:
        day, slot = local_day_slot(call.entered_at, SHANGHAI)
        row = rows.pop(f"{day}T{slot // 60:02d}:{slot % 60:02d}")
        assert row["queue"] == call.queue
        assert row["offered"] == 1
        if call.outcome == "answered":
            assert (row["answered"], row["abandoned"]) == (1, 0)
            assert row["asa"] == pytest.approx(call.wait_s)  # speed of answer = queue_log holdtime
            assert row["aht"] == pytest.approx(call.talk_s)  # no hold, no wrap-up: handle = calltime
            assert row["longest_wait"] == pytest.approx(call.wait_s)
        else:
            assert (row["answered"], row["abandoned"]) == (0, 1)
            assert row["longest_wait"] == pytest.approx(call.wait_s)  # queue_log's ABANDON waittime
    assert rows == {}
    totals = dict(zip(names, result.totals, strict=True))
    assert (totals["offered"], totals["answered"], totals["abandoned"]) == (2, 1, 1)


def test_the_check_command_finds_agreement_and_reports_a_disagreement(
    transcripts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from crm.migrate import upgrade
    from hotline.cli import main

    url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"

    async def prepare() -> None:
        db = Database(url)
        await upgrade(db)
        await replay_into(db, transcripts)
        await db.dispose()

    asyncio.run(prepare())
    monkeypatch.setenv("HOTLINE_DB_URL", url)
    both = tmp_path / "queue_log"
    both.write_text("".join((transcripts / name).read_text() for name in QUEUE_LOGS))
    assert main(["reports", "check-queue-log", str(both)]) == 0
    assert capsys.readouterr().out.strip() == "2 calls in queue_log, 0 disagreements"

    # The same call, had Asterisk counted a longer wait:
    both.write_text(both.read_text().replace("|ABANDON|1|1|4", "|ABANDON|1|1|9"))
    assert main(["reports", "check-queue-log", str(both)]) == 1
    out = capsys.readouterr().out
    assert "1795415628.3 support: wait queue_log=9.0 hotline=4.0" in out
