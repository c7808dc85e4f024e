"""An analyst's custom report from definition to scheduled e-mail, on one database."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select

from crm.db import Database
from crm.kinds import Channel
from crm.notices import LogSender, deliver_due
from crm.reporting.export import csv_chunks, write_xlsx
from crm.reporting.query import result_columns, run_report, stream_rows
from crm.reporting.saved import create_report, list_visible
from crm.reporting.schedule import send_due_reports
from crm.reporting.tables import QueueLegRow
from tests.reports.custom.seed import SHANGHAI, START, local, seed


async def test_define_run_page_export_save_share_schedule(db: Database, tmp_path: Path) -> None:
    await seed(db)
    data = {
        "source": "calls",
        "date_from": "2026-11-01",
        "date_to": "2026-11-07",
        "dimensions": [{"field": "day"}, "queue"],
        "measures": [
            {"fn": "count", "label": "进线量"},
            {
                "fn": "rate",
                "where": [{"field": "outcome", "op": "eq", "value": "answered"}],
                "label": "接通率",
            },
        ],
    }
    saved = await create_report(
        db,
        owner="analyst1",
        name="一周进线",
        definition=data,
        shared_roles=["supervisor"],
        schedule="daily",
        hour=8,
        recipients=["lead@example.cn"],
        now=START,
    )
    [seen] = await list_visible(db, "sup1", ["supervisor"])
    assert seen.id == saved.id and await list_visible(db, "agent1", ["agent"]) == []
    definition = seen.definition
    assert definition is not None

    first = await run_report(db, definition, tz=SHANGHAI, page_size=10)
    second = await run_report(db, definition, tz=SHANGHAI, page=2, page_size=10)
    assert first.total_rows == 21  # 7 days x 3 queues
    async with db.read() as session:
        legs = await session.scalar(
            select(func.count()).where(QueueLegRow.day.between("2026-11-01", "2026-11-07"))
        )
    assert first.totals is not None and first.totals[2] == legs

    columns = result_columns(definition)
    body = b"".join([c async for c in csv_chunks(columns, stream_rows(db, definition, tz=SHANGHAI))])
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert table[0] == ["day", "queue", "进线量", "接通率"]
    assert [tuple(r[:3]) for r in table[1:11]] == [(r[0], r[1], str(r[2])) for r in first.rows]
    assert [tuple(r[:3]) for r in table[11:21]] == [(r[0], r[1], str(r[2])) for r in second.rows]
    path = tmp_path / "week.xlsx"
    assert await write_xlsx(columns, stream_rows(db, definition, tz=SHANGHAI), path) == 21
    assert sum(row[2].value for row in load_workbook(path).active.iter_rows(min_row=2)) == legs

    assert await send_due_reports(db, now=local("2026-11-08T08:00"), tz=SHANGHAI) == 1
    assert await send_due_reports(db, now=local("2026-11-08T09:00"), tz=SHANGHAI) == 0
    sender = LogSender()
    assert (await deliver_due(db, {Channel.EMAIL: sender}, now=local("2026-11-08T08:01"))).sent == 1
    [mail] = sender.sent
    assert mail.subject == "一周进线 (2026-11-07)" and "day,queue,进线量,接通率" in mail.body
