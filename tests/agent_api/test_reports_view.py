"""Report figures as the pages show them, and the SVG charts drawn from them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from agent_api.pages.charts import Series, bar_chart, line_chart, nice_step, short_label
from agent_api.reports.view import chart_svg, custom_labels, format_value, seconds_text, table_view
from crm.reporting.results import (
    ChartKind,
    ChartSpec,
    ColumnRole,
    ReportResult,
    ResultColumn,
    ValueType,
)

SVG = "{http://www.w3.org/2000/svg}"
D, M = ColumnRole.DIMENSION, ColumnRole.MEASURE


def tr(key: str) -> str:
    return {"reports.total": "合计", "reports.no_data": "无数据", "report.col.offered": "来电"}.get(key, key)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0:00"),
        (12.5, "0:13"),
        (59.4, "0:59"),
        (61, "1:01"),
        (3599.6, "1:00:00"),
        (3725, "1:02:05"),
        (-5, "-0:05"),
    ],
)
def test_durations_read_as_minutes_and_seconds(seconds: float, text: str):
    assert seconds_text(seconds) == text


def test_each_type_is_formatted_the_way_a_supervisor_reads_it():
    assert format_value(0.8567, ValueType.PERCENT) == "85.7%"
    assert format_value(12345, ValueType.INT) == "12,345"
    assert format_value(4.5, ValueType.FLOAT) == "4.50"
    assert format_value("2026-11-16T09:15", ValueType.DATETIME) == "2026-11-16 09:15"
    assert format_value(None, ValueType.SECONDS) == ""


def test_the_totals_row_is_named_and_numbers_are_right_aligned():
    result = ReportResult(
        columns=(
            ResultColumn("queue", ValueType.TEXT, D, "report.col.queue"),
            ResultColumn("offered", ValueType.INT, M, "report.col.offered"),
        ),
        rows=[("support", 3), ("sales", 1)],
        totals=(None, 4),
    )
    table = table_view(result, tr)
    assert table.headers == (("queue", "queue", False), ("offered", "来电", True))  # a missing key: the name
    assert [c.text for c in table.totals or ()] == ["合计", "4"]
    assert table.rows[0][1].numeric and not table.rows[0][0].numeric


def test_known_codes_of_a_dimension_are_shown_in_words_and_others_as_they_are():
    result = ReportResult(
        columns=(
            ResultColumn("ticket_kind", ValueType.TEXT, D, "report.col.ticket_kind"),
            ResultColumn("assignee", ValueType.TEXT, D, "report.col.assignee"),
            ResultColumn("opened", ValueType.INT, M, "report.col.opened"),
        ),
        rows=[("complaint", "li.na", 3)],
    )
    words = {"report.value.complaint": "投诉"}
    table = table_view(result, lambda key: words.get(key, key))
    assert [c.text for c in table.rows[0]] == ["投诉", "li.na", "3"]
    assert table.rows[0][0].raw == "complaint"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed, or this raises


def test_every_text_in_a_chart_is_escaped():
    hostile = '<script>alert("x")</script> & "q"'
    svg = bar_chart(hostile, [hostile, "b"], [Series(hostile, (1.0, 2.0))])
    assert "<script>" not in svg
    root = parse(svg)
    assert root.find(f"{SVG}title").text == hostile
    svg = line_chart(hostile, ["a", hostile], [Series(hostile, (1.0, None))])
    assert "<script>" not in svg and parse(svg) is not None


def test_bars_are_as_tall_as_their_figures_on_a_round_axis():
    svg = bar_chart("t", ["a", "b"], [Series("n", (3.0, 6.0))], whole=True)
    root = parse(svg)
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    heights = [float(r.get("height")) for r in bars]
    assert heights[1] == pytest.approx(2 * heights[0], rel=0.01)
    ticks = [
        t.text
        for t in root.iter(f"{SVG}text")
        if t.get("text-anchor") == "end" and "rotate" not in (t.get("transform") or "")
    ]
    assert ticks == ["0", "2", "4", "6", "8"]


def test_stacked_bars_put_each_series_on_the_one_below():
    root = parse(bar_chart("t", ["a"], [Series("x", (2.0,)), Series("y", (1.0,))], stacked=True, whole=True))
    lower, upper = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert float(upper.get("y")) + float(upper.get("height")) == pytest.approx(float(lower.get("y")))


@pytest.mark.parametrize(
    ("highest", "kwargs", "step"),
    [(7, {"whole": True}, 2.0), (3, {"whole": True}, 1.0), (0.9, {}, 0.25), (0, {"whole": True}, 1.0),
     (1000, {"durations": True}, 300.0), (50, {"durations": True}, 15.0), (95, {}, 25.0)],
)  # fmt: skip
def test_axis_steps_are_round(highest: float, kwargs: dict, step: float):  # type: ignore[type-arg]
    assert nice_step(highest, **kwargs) == step


def test_a_second_dimension_becomes_the_stacked_series_of_the_first_measure():
    result = ReportResult(
        columns=(
            ResultColumn("day", ValueType.DATE, D, label="day"),
            ResultColumn("queue", ValueType.TEXT, D, label="queue"),
            ResultColumn("count", ValueType.INT, M, label="count"),
        ),
        rows=[("2026-11-16", "support", 3), ("2026-11-16", "sales", 1), ("2026-11-17", "support", 2)],
        chart=ChartSpec(ChartKind.BAR, "day", ("count",)),
    )
    root = parse(chart_svg(result, tr, "calls"))
    legend = [
        t.text
        for t in root.iter(f"{SVG}text")
        if t.get("font-size") == "12" and t.text in ("support", "sales")
    ]
    assert legend == ["support", "sales"]  # the larger first
    bars = [r.find(f"{SVG}title").text for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert "2026-11-16 · sales: 1" in bars and "2026-11-17 · support: 2" in bars


def test_the_split_is_the_dimension_that_varies_within_a_category_with_the_fewest_values():
    result = ReportResult(
        columns=(
            ResultColumn("campaign_id", ValueType.INT, D, label="id"),
            ResultColumn("campaign", ValueType.TEXT, D, label="campaign"),
            ResultColumn("agent", ValueType.TEXT, D, label="agent"),
            ResultColumn("segment", ValueType.TEXT, D, label="segment"),
            ResultColumn("presented", ValueType.INT, M, label="presented"),
        ),
        rows=[
            (1, "宽带", "a1", "gold", 5), (1, "宽带", "a1", "regular", 3), (1, "宽带", "a2", "gold", 2),
            (1, "宽带", "a3", "regular", 1), (2, "问卷", "a1", "gold", 4),
        ],
        chart=ChartSpec(ChartKind.BAR, "campaign", ("presented",)),
    )  # fmt: skip
    root = parse(chart_svg(result, tr, "offers"))
    bars = [r.find(f"{SVG}title").text for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert "宽带 · gold: 7" in bars and "宽带 · regular: 4" in bars and "问卷 · gold: 4" in bars


def test_times_of_one_day_show_the_day_once_in_the_title():
    result = ReportResult(
        columns=(
            ResultColumn("period", ValueType.DATETIME, D, label="period"),
            ResultColumn("queue", ValueType.TEXT, D, label="queue"),
            ResultColumn("offered", ValueType.INT, M, "report.col.offered"),
        ),
        rows=[
            ("2026-11-20T09:00", "support", 3),
            ("2026-11-20T09:00", "sales", 1),
            ("2026-11-20T09:15", "sales", 2),
        ],
        chart=ChartSpec(ChartKind.STACKED_BAR, "period", ("offered",)),
    )
    root = parse(chart_svg(result, tr, "队列"))
    assert root.find(f"{SVG}title").text == "队列 · 来电 · 2026-11-20"
    axis = [t.text for t in root.iter(f"{SVG}text") if "rotate" in (t.get("transform") or "")]
    assert axis == ["09:00", "09:15"]


def test_long_categories_keep_both_ends_so_paths_stay_apart():
    labels = [short_label("welcome > main > support"), short_label("welcome > main > sales")]
    assert labels[0] != labels[1] and labels[0].endswith("> support") and len(labels[0]) == 16
    assert short_label("2026-11-16 09:15") == "2026-11-16 09:15"


def test_a_result_without_rows_draws_a_message_instead_of_axes():
    result = ReportResult(
        columns=(ResultColumn("q", ValueType.TEXT, D),), rows=[], chart=ChartSpec(ChartKind.BAR, "q", ())
    )
    assert "无数据" in chart_svg(result, tr, "t")


def test_custom_columns_are_named_in_the_viewers_language_unless_the_analyst_named_them():
    names = {
        "report.field.queue": "队列",
        "report.field.wait_s": "等待时长",
        "reports.fn.avg": "平均",
        "reports.fn.count": "计数",
        "reports.grain.day": "天",
        "report.field.day": "日期",
    }

    def zh(key: str) -> str:
        return names.get(key, key)

    columns = (
        ResultColumn("day", ValueType.DATE, D, label="day"),
        ResultColumn("queue", ValueType.TEXT, D, label="queue"),
        ResultColumn("count", ValueType.INT, M, label="Calls"),
        ResultColumn("avg_wait_s", ValueType.SECONDS, M, label="avg_wait_s"),
    )
    definition = {
        "dimensions": [{"field": "day", "grain": "day"}, {"field": "queue"}],
        "measures": [{"fn": "count", "label": "Calls"}, {"fn": "avg", "field": "wait_s"}],
    }
    labels = [c.label for c in custom_labels(columns, definition, zh)]
    assert labels == ["日期 (天)", "队列", "Calls", "平均 等待时长"]
