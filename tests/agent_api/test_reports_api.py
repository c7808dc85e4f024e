"""The reports API: who may open what, an agent held to their own assessment, exports streamed and
audited, bad definitions refused with the engine's message, CSRF on every change."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from agent_api.reports.service import personal_data
from crm import accounts
from crm import audit as audit_log
from crm.kinds import Role
from crm.reporting.facts import AgentIntervalFact, LegOutcome, QueueLegFact, record_facts
from tests.agent_api.stack import Stack, fast_passwords, login

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = "2026-11-16"
RANGE = f"from={DAY}&to={DAY}"


def local(hour: int, minute: int) -> datetime:
    return datetime(2026, 11, 16, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def leg(call_id: str, queue: str, at: tuple[int, int], outcome: LegOutcome, **figures) -> QueueLegFact:  # type: ignore[no-untyped-def]
    start = local(*at)
    return QueueLegFact(
        call_id=call_id, queue=queue, entered_at=start, ended_at=start, outcome=outcome, **figures
    )


FACTS = [
    leg("c1", "support", (9, 0), LegOutcome.ANSWERED, agent="agent1001", wait_s=12, talk_s=120, hold_s=10,
        wrap_s=30, within_sl=True),
    leg("c2", "support", (9, 5), LegOutcome.ANSWERED, agent="agent1002", wait_s=30, talk_s=200, wrap_s=20),
    leg("c3", "support", (9, 20), LegOutcome.ABANDONED, wait_s=45, position=2, original_position=3),
    leg("c4", "sales", (14, 0), LegOutcome.ANSWERED, agent="agent1001", wait_s=5, talk_s=60, within_sl=True),
    AgentIntervalFact("agent1001", "available", local(8, 50), local(9, 0)),
    AgentIntervalFact("agent1001", "on-call", local(9, 0), local(9, 2, )),
    AgentIntervalFact("agent1001", "paused", local(10, 0), local(10, 15), reason="lunch"),
    AgentIntervalFact("agent1002", "on-call", local(9, 5), local(9, 8)),
]  # fmt: skip


async def seed(stack: Stack) -> None:
    await record_facts(stack.db, FACTS, tz=SHANGHAI)


async def add_account(stack: Stack, username: str, role: Role) -> None:
    await accounts.create_account(
        stack.db,
        accounts.NewAccount(
            username=username,
            password_hash=await fast_passwords().hash("demo"),
            roles=frozenset({role}),
            display_name=username,
        ),
    )


@pytest.fixture
async def reports(tmp_path) -> AsyncIterator[Stack]:
    stack = await Stack(tmp_path).start()
    try:
        await seed(stack)
        await add_account(stack, "ana", Role.ANALYST)
        yield stack
    finally:
        await stack.stop()


def by_name(body: dict) -> list[dict]:  # type: ignore[type-arg]
    names = [c["name"] for c in body["columns"]]
    return [dict(zip(names, row, strict=True)) for row in body["rows"]]


STANDARD = (
    "queue_performance",
    "agent_performance",
    "marketing_detail",
    "campaign_resources",
    "service_loop",
    "ivr_paths",
    "abandon_analysis",
)


@pytest.mark.parametrize("username", ["supervisor", "admin", "ana"])
async def test_analysts_supervisors_and_admins_open_every_standard_report(reports: Stack, username: str):
    await login(reports.client, username)
    listed = await (await reports.client.get("/api/reports/standard")).json()
    assert {r["name"] for r in listed["reports"]} == set(STANDARD)
    for name in STANDARD:
        response = await reports.client.get(f"/api/reports/standard/{name}?{RANGE}")
        assert response.status == 200, (name, await response.text())
        body = await response.json()
        assert body["columns"], name


async def test_the_queue_report_counts_the_calls_of_the_day(reports: Stack):
    await login(reports.client, "supervisor")
    body = await (
        await reports.client.get(f"/api/reports/standard/queue_performance?{RANGE}&grain=day")
    ).json()
    rows = {r["queue"]: r for r in by_name(body)}
    support = rows["support"]
    assert (support["offered"], support["answered"], support["abandoned"]) == (3, 2, 1)
    assert support["asa"] == pytest.approx(21.0)
    assert support["longest_wait"] == pytest.approx(45.0)
    assert rows["sales"]["answered"] == 1
    only_sales = await (
        await reports.client.get(f"/api/reports/standard/queue_performance?{RANGE}&queue=sales")
    ).json()
    assert {r["queue"] for r in by_name(only_sales)} == {"sales"}


async def test_an_agent_sees_only_their_own_assessment_whatever_they_ask(reports: Stack):
    await login(reports.client, "agent1001")
    listed = await (await reports.client.get("/api/reports/standard")).json()
    assert [r["name"] for r in listed["reports"]] == ["agent_performance"]
    for agent in ("", "&agent=agent1002", "&agent=agent1001,agent1002"):
        response = await reports.client.get(f"/api/reports/standard/agent_performance?{RANGE}{agent}")
        assert response.status == 200
        rows = by_name(await response.json())
        assert [r["agent"] for r in rows] == ["agent1001"]
        assert rows[0]["handled"] == 2
        assert rows[0]["talk"] == pytest.approx(180.0)
    export = await reports.client.get(
        f"/api/reports/standard/agent_performance/export?{RANGE}&agent=agent1002"
    )
    assert export.status == 200
    text = (await export.read()).decode("utf-8-sig")
    assert "agent1001" in text and "agent1002" not in text


async def test_an_agent_gets_403_on_every_other_report_route(reports: Stack):
    csrf = await login(reports.client, "agent1001")
    headers = {"X-CSRF-Token": csrf}
    definition = {
        "source": "calls",
        "date_from": DAY,
        "date_to": DAY,
        "dimensions": [],
        "measures": [{"fn": "count"}],
    }
    for name in STANDARD:
        if name == "agent_performance":
            continue
        assert (await reports.client.get(f"/api/reports/standard/{name}?{RANGE}")).status == 403, name
        assert (await reports.client.get(f"/api/reports/standard/{name}/export?{RANGE}")).status == 403, name
    assert (await reports.client.get("/api/reports/catalog")).status == 403
    assert (await reports.client.get("/api/reports/saved")).status == 403
    assert (await reports.client.get("/api/reports/saved/1")).status == 403
    assert (await reports.client.get("/api/reports/saved/1/run")).status == 403
    assert (await reports.client.get("/api/reports/saved/1/export")).status == 403
    run = await reports.client.post(
        "/api/reports/custom/run", json={"definition": definition}, headers=headers
    )
    assert run.status == 403
    exported = await reports.client.post(
        "/api/reports/custom/export", json={"definition": definition}, headers=headers
    )
    assert exported.status == 403
    saved = {"name": "x", "definition": definition}
    assert (await reports.client.post("/api/reports/saved", json=saved, headers=headers)).status == 403
    assert (await reports.client.put("/api/reports/saved/1", json=saved, headers=headers)).status == 403
    assert (await reports.client.delete("/api/reports/saved/1", headers=headers)).status == 403
    assert (await reports.client.get("/reports/queue_performance")).status == 403
    assert (await reports.client.get("/reports/custom")).status == 403
    page = await reports.client.get(f"/reports/agent_performance?{RANGE}")
    assert page.status == 200
    assert "agent1002" not in await page.text()


async def test_without_a_session_every_report_route_asks_to_log_in(reports: Stack):
    assert (await reports.client.get("/api/reports/standard")).status == 401
    assert (await reports.client.get("/api/reports/standard/queue_performance")).status == 401
    assert (await reports.client.get("/api/reports/catalog")).status == 401
    page = await reports.client.get("/reports", allow_redirects=False)
    assert page.status == 302 and page.headers["Location"] == "/login"


async def test_a_standard_export_streams_the_table_as_csv_and_is_audited(reports: Stack):
    await login(reports.client, "supervisor")
    response = await reports.client.get(
        f"/api/reports/standard/queue_performance/export?{RANGE}&grain=day&format=csv"
    )
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert 'filename="queue_performance-2026-11-16-2026-11-16.csv"' in response.headers["Content-Disposition"]
    assert "Content-Length" not in response.headers  # streamed in chunks
    raw = await response.read()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese header right
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert "队列" in header  # the viewer's language
    support = next(r for r in body if "support" in r)
    assert support[header.index("队列") + 1 : header.index("队列") + 4] == ["3", "2", "1"]
    assert "合计" in body[-1]  # the totals row, named in its first text column
    # Ratios as the screen rounds them, not 0.6666666666666666.
    abandon = support[header.index("放弃率")]
    assert abandon == "33.3%", abandon
    entries = await audit_log.entries(reports.db, action="report-export")
    assert entries[0].actor == "supervisor"
    assert entries[0].target == "standard:queue_performance"
    assert entries[0].detail["format"] == "csv" and entries[0].detail["from"] == DAY
    assert entries[0].detail["personal_data"] is False  # aggregates only


async def test_an_xlsx_export_is_a_workbook_with_the_figures_and_is_audited(reports: Stack):
    openpyxl = pytest.importorskip("openpyxl")
    await login(reports.client, "ana")
    response = await reports.client.get(f"/api/reports/standard/queue_performance/export?{RANGE}&format=xlsx")
    assert response.status == 200
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(await response.read()), read_only=True)
    values = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert any("support" in row and 3 in row for row in values)
    entries = await audit_log.entries(reports.db, action="report-export")
    assert (entries[0].actor, entries[0].detail["format"]) == ("ana", "xlsx")


CALLS_BY_QUEUE = {
    "source": "calls",
    "date_from": DAY,
    "date_to": DAY,
    "dimensions": [{"field": "queue"}],
    "measures": [{"fn": "count", "label": "Calls"}, {"fn": "avg", "field": "wait_s"}],
}


async def test_an_ad_hoc_definition_runs_one_page_at_a_time(reports: Stack):
    csrf = await login(reports.client, "supervisor")
    headers = {"X-CSRF-Token": csrf}
    first = await reports.client.post(
        "/api/reports/custom/run", json={"definition": CALLS_BY_QUEUE, "page_size": 1}, headers=headers
    )
    assert first.status == 200, await first.text()
    body = await first.json()
    assert body["total_rows"] == 2 and len(body["rows"]) == 1
    assert [c["label"] for c in body["columns"]][1] == "Calls"
    second = await (
        await reports.client.post(
            "/api/reports/custom/run",
            json={"definition": CALLS_BY_QUEUE, "page": 2, "page_size": 1},
            headers=headers,
        )
    ).json()
    seen = {body["rows"][0][0]: body["rows"][0][1], second["rows"][0][0]: second["rows"][0][1]}
    assert seen == {"sales": 1, "support": 3}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"source": "nowhere"}, "source"),
        ({"measures": [{"fn": "sum", "field": "queue"}]}, "measures[0]"),
        ({"dimensions": [{"field": "no_such"}]}, "dimensions[0].field"),
        ({"filters": [{"field": "wait_s", "op": "contains", "value": "x"}]}, "filters[0].op"),
        ({"filters": [{"field": "wait_s", "op": "gt", "value": 2**70}]}, "filters[0].value"),
    ],
)
async def test_a_bad_definition_is_refused_with_the_engines_message(reports: Stack, change: dict, named: str):  # type: ignore[type-arg]
    csrf = await login(reports.client, "ana")
    headers = {"X-CSRF-Token": csrf}
    bad = CALLS_BY_QUEUE | change
    for path, body in (
        ("/api/reports/custom/run", {"definition": bad}),
        ("/api/reports/custom/export", {"definition": bad}),
        ("/api/reports/saved", {"name": "bad", "definition": bad}),
    ):
        response = await reports.client.post(path, json=body, headers=headers)
        assert response.status == 422, (path, await response.text())
        error = await response.json()
        assert error["error"] == "invalid_definition"
        assert named in error["message"] or named in error["details"].get("field", "")
    assert await audit_log.entries(reports.db, action="report-export") == ()


async def test_state_changing_report_routes_need_the_csrf_token(reports: Stack):
    await login(reports.client, "ana")
    assert (
        await reports.client.post("/api/reports/custom/run", json={"definition": CALLS_BY_QUEUE})
    ).status == 403
    assert (
        await reports.client.post("/api/reports/custom/export", json={"definition": CALLS_BY_QUEUE})
    ).status == 403
    saved = {"name": "Calls", "definition": CALLS_BY_QUEUE}
    assert (await reports.client.post("/api/reports/saved", json=saved)).status == 403
    assert (await reports.client.put("/api/reports/saved/1", json=saved)).status == 403
    assert (await reports.client.delete("/api/reports/saved/1")).status == 403
    preview = await reports.client.post("/reports/custom/preview", json={"definition": CALLS_BY_QUEUE})
    assert preview.status == 403


async def test_a_custom_export_streams_every_row_and_is_audited(reports: Stack):
    csrf = await login(reports.client, "ana")
    response = await reports.client.post(
        "/api/reports/custom/export",
        json={"definition": CALLS_BY_QUEUE, "format": "csv"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 200
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert rows[0][1] == "Calls"
    assert sorted((r[0], r[1]) for r in rows[1:]) == [("sales", "1"), ("support", "3")]
    entry = (await audit_log.entries(reports.db, action="report-export"))[0]
    assert (entry.actor, entry.target) == ("ana", "custom:calls")
    assert entry.detail["definition"]["source"] == "calls"
    assert entry.detail["personal_data"] is False


async def test_a_saved_report_is_shared_scheduled_run_exported_and_kept_to_its_owner(reports: Stack):
    await add_account(reports, "bo", Role.ANALYST)
    csrf = await login(reports.client, "ana")
    headers = {"X-CSRF-Token": csrf}
    body = {
        "name": "每日队列来电",
        "definition": CALLS_BY_QUEUE,
        "shared_roles": ["supervisor"],
        "schedule": {"kind": "daily", "hour": 8, "recipients": ["boss@example.com"]},
    }
    created = await reports.client.post("/api/reports/saved", json=body, headers=headers)
    assert created.status == 200, await created.text()
    saved = await created.json()
    assert saved["schedule"] == {
        "kind": "daily",
        "weekday": None,
        "hour": 8,
        "recipients": ["boss@example.com"],
    }
    assert saved["owner"] == "ana" and saved["may_change"]
    weekly_without_day = body | {"schedule": {"kind": "weekly", "recipients": ["boss@example.com"]}}
    assert (
        await reports.client.post("/api/reports/saved", json=weekly_without_day, headers=headers)
    ).status == 422
    nobody = body | {"schedule": {"kind": "daily", "recipients": []}}
    assert (await reports.client.post("/api/reports/saved", json=nobody, headers=headers)).status == 422

    await reports.client.delete("/api/session", headers=headers)
    await login(reports.client, "supervisor")
    listed = await (await reports.client.get("/api/reports/saved")).json()
    assert [r["name"] for r in listed["reports"]] == ["每日队列来电"]
    assert listed["reports"][0]["may_change"] is False
    run = await (await reports.client.get(f"/api/reports/saved/{saved['id']}/run?page_size=10")).json()
    assert sorted(r[:2] for r in run["rows"]) == [["sales", 1], ["support", 3]]
    export = await reports.client.get(f"/api/reports/saved/{saved['id']}/export?format=csv")
    assert export.status == 200
    assert "filename*=UTF-8''" in export.headers["Content-Disposition"]
    assert (await audit_log.entries(reports.db, action="report-export"))[0].target == f"saved:{saved['id']}"
    csrf = (await (await reports.client.get("/api/session")).json())["csrf_token"]
    assert (
        await reports.client.put(
            f"/api/reports/saved/{saved['id']}", json=body, headers={"X-CSRF-Token": csrf}
        )
    ).status == 403  # supervisors do not save reports

    await reports.client.delete("/api/session", headers={"X-CSRF-Token": csrf})
    csrf = await login(reports.client, "bo")
    assert (
        await reports.client.get(f"/api/reports/saved/{saved['id']}")
    ).status == 404  # not shared with analysts
    changed = await reports.client.put(
        f"/api/reports/saved/{saved['id']}", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert changed.status == 404
    await reports.client.delete("/api/session", headers={"X-CSRF-Token": csrf})
    csrf = await login(reports.client, "ana")
    renamed = await reports.client.put(
        f"/api/reports/saved/{saved['id']}", json=body | {"name": "队列来电"}, headers={"X-CSRF-Token": csrf}
    )
    assert (await renamed.json())["name"] == "队列来电"
    deleted = await reports.client.delete(f"/api/reports/saved/{saved['id']}", headers={"X-CSRF-Token": csrf})
    assert deleted.status == 204
    assert (await reports.client.get(f"/api/reports/saved/{saved['id']}")).status == 404


async def test_bad_filters_get_a_clear_400_family_answer(reports: Stack):
    await login(reports.client, "supervisor")
    cases = [
        "from=2026-11-20&to=2026-11-01",
        "from=2024-01-01&to=2026-11-01",
        "from=2026-09-01&to=2026-11-01&grain=slot15",
        "from=not-a-date",
        "campaign=abc",
        "grain=fortnight",
        "from=0001-01-01&to=0001-01-02",  # the calendar's ends overflow time-zone arithmetic
        "from=9999-12-31",
    ]
    for query in cases:
        response = await reports.client.get(f"/api/reports/standard/queue_performance?{query}")
        assert response.status in (400, 422), query
        assert (await response.json())["message"], query
    assert (await reports.client.get("/api/reports/standard/no_such_report")).status == 404


async def test_the_standard_page_renders_the_figures_the_totals_and_a_chart(reports: Stack):
    await login(reports.client, "supervisor")
    page = await (await reports.client.get(f"/reports/queue_performance?{RANGE}&grain=day")).text()
    assert "<svg" in page and "report-chart" in page
    assert 'data-col="asa">0:21<' in page
    assert 'data-col="longest_wait">0:45<' in page
    assert "合计" in page
    assert f"/api/reports/standard/queue_performance/export?from={DAY}" in page
    index = await (await reports.client.get("/reports")).text()
    for name in STANDARD:
        assert f'href="/reports/{name}"' in index


async def test_every_standard_report_exports_in_both_formats(reports: Stack):
    await login(reports.client, "supervisor")
    for name in STANDARD:
        for fmt, magic in (("csv", b"\xef\xbb\xbf"), ("xlsx", b"PK")):
            response = await reports.client.get(
                f"/api/reports/standard/{name}/export?{RANGE}&grain=hour&format={fmt}"
            )
            assert response.status == 200, (name, fmt, await response.text())
            assert (await response.read()).startswith(magic), (name, fmt)
    exported = await audit_log.entries(reports.db, action="report-export")
    assert len(exported) == 2 * len(STANDARD)


def test_an_export_grouped_by_free_text_answers_is_marked_as_personal_data():
    assert personal_data({"dimensions": [{"field": "answer"}, "campaign"]}) is True
    assert personal_data({"dimensions": ["campaign", {"field": "day", "grain": "week"}]}) is False
    assert personal_data(None) is False


async def test_an_export_shows_codes_in_words_as_the_page_does(reports: Stack):
    csrf = await login(reports.client, "ana")
    definition = {**CALLS_BY_QUEUE, "dimensions": [{"field": "outcome"}], "measures": [{"fn": "count"}]}
    response = await reports.client.post(
        "/api/reports/custom/export", json={"definition": definition}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 200
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    outcomes = {row[0] for row in rows[1:]}
    assert "接通" in outcomes and "answered" not in outcomes


async def test_agent_states_and_pause_reasons_export_in_words(reports: Stack):
    csrf = await login(reports.client, "ana")
    definition = {
        "source": "agent_states",
        "date_from": DAY,
        "date_to": DAY,
        "dimensions": [{"field": "state"}],
        "measures": [{"fn": "count"}],
    }
    response = await reports.client.post(
        "/api/reports/custom/export", json={"definition": definition}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 200, await response.text()
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    states = {row[0] for row in rows[1:-1] if row}
    assert states and not states & {"on-call", "available", "paused", "wrap-up", "logged-out"}, states
