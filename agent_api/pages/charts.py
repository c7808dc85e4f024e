"""Charts drawn on the server as SVG: no chart library in the browser.

Every text that reaches the SVG (titles, category names, series labels) is escaped here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from agent_api.supervisor.schemas import Wallboard

BAR_W, GAP, HEIGHT, LABEL_H, TOP = 48, 24, 160, 36, 18


def service_level_svg(board: Wallboard, title: str) -> str:
    """One bar per queue: the service level (0–100 %), red below 80 %, with waiting callers above it."""
    width = max(len(board.queues), 1) * (BAR_W + GAP) + GAP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT + LABEL_H + TOP + 20}" '
        f'viewBox="0 -{TOP} {width} {HEIGHT + LABEL_H + TOP + 20}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="0" y1="{HEIGHT + 10}" x2="{width}" y2="{HEIGHT + 10}" stroke="#888"/>',
    ]
    for i, queue in enumerate(board.queues):
        x = GAP + i * (BAR_W + GAP)
        # A queue that was offered no call has no service level: a grey stub, not 100 % in green.
        empty = queue.offered == 0
        h = 4 if empty else round(HEIGHT * queue.service_level)
        color = "#9e9e9e" if empty else ("#2e7d32" if queue.service_level >= 0.8 else "#c62828")
        level = "—" if empty else f"{queue.service_level:.0%}"
        parts.append(
            f'<rect x="{x}" y="{HEIGHT + 10 - h}" width="{BAR_W}" height="{h}" fill="{color}">'
            f"<title>{escape(queue.queue)}: {level}</title></rect>"
        )
        parts.append(
            f'<text x="{x + BAR_W / 2}" y="{HEIGHT + 8 - h}" text-anchor="middle" font-size="12">'
            f"{level} · {queue.waiting}</text>"
        )
        parts.append(
            f'<text x="{x + BAR_W / 2}" y="{HEIGHT + 28}" text-anchor="middle" font-size="12">'
            f"{escape(queue.queue)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


# --- report charts ------------------------------------------------------------------------------

PALETTE = ("#1f5fa8", "#e07b00", "#2e7d32", "#c62828", "#6a3d9a", "#00838f", "#8d6e63", "#ad1457")
CHART_W, CHART_H = 900, 360
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 76, 16, 34, 96
MAX_BAR_W = 64
MAX_X_LABELS = 16


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: tuple[float | None, ...]  # one per category; None: no figure


DECIMAL_STEPS = (1.0, 2.0, 2.5, 5.0)
DURATION_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
TICKS = 4  # gridlines above zero


def short_label(name: str, most: int = 16) -> str:
    """A long category cut in the middle: the ends tell paths and names apart ("welco…> support")."""
    if len(name) <= most:
        return name
    tail = most * 2 // 3
    return name[: most - tail - 1] + "…" + name[-tail:]


def plain_number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0")


def nice_step(highest: float, *, whole: bool = False, durations: bool = False) -> float:
    """A round step so that ``TICKS`` steps reach ``highest``: 1, 2, 2.5 or 5 × 10^k, whole numbers
    for counts, and clock-friendly steps (15 s, 1 min, 5 min, 1 h, …) for durations."""
    wanted = max(highest, 0.0) / TICKS
    if durations:
        return float(next((s for s in DURATION_STEPS if s >= wanted), math.ceil(wanted / 86400) * 86400))
    if wanted <= 0:
        return 1.0 if whole else 0.25
    exponent = math.floor(math.log10(wanted))
    for multiple in (*DECIMAL_STEPS, 10.0):
        step = multiple * 10.0**exponent
        if step >= wanted * (1 - 1e-9) and (not whole or float(step).is_integer()):
            return step
    return 10.0 ** (exponent + 1)


def _frame(title: str, categories: Sequence[str], step: float, fmt: Callable[[float], str]) -> list[str]:
    plot_h = CHART_H - PAD_TOP - PAD_BOTTOM
    base = CHART_H - PAD_BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" viewBox="0 0 {CHART_W} {CHART_H}" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{PAD_LEFT}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for i in range(TICKS + 1):
        value = step * i
        y = base - plot_h * i / TICKS
        parts.append(
            f'<line x1="{PAD_LEFT}" y1="{y:.1f}" x2="{CHART_W - PAD_RIGHT}" y2="{y:.1f}" '
            f'stroke="{"#888" if i == 0 else "#e3e3e3"}"/>'
        )
        parts.append(
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#444">'
            f"{escape(fmt(value))}</text>"
        )
    parts.append(f'<line x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{base}" stroke="#888"/>')
    slot = (CHART_W - PAD_LEFT - PAD_RIGHT) / max(len(categories), 1)
    every = max(1, math.ceil(len(categories) / MAX_X_LABELS))
    most = min(20, max(12, int(slot * every / 4)))  # longer where there is room, within the margin
    labels = [short_label(name, most) for name in categories]
    if len(set(labels)) < len(set(categories)):  # paths alike at both ends: their ends tell them apart
        labels = [name if len(name) <= most else "…" + name[-(most - 1) :] for name in categories]
    for i, text in enumerate(labels):
        if i % every:
            continue
        x = PAD_LEFT + slot * (i + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{base + 14}" font-size="11" fill="#444" text-anchor="end" '
            f'transform="rotate(-30 {x:.1f} {base + 14})">{escape(text)}</text>'
        )
    return parts


def _legend(series: Sequence[Series]) -> list[str]:
    parts = []
    x = PAD_LEFT
    for i, one in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        label = one.label if len(one.label) <= 24 else one.label[:23] + "…"
        parts.append(f'<rect x="{x}" y="{CHART_H - 14}" width="12" height="12" fill="{color}"/>')
        parts.append(f'<text x="{x + 16}" y="{CHART_H - 4}" font-size="12">{escape(label)}</text>')
        x += 28 + 8 * len(label) + (6 * sum(1 for ch in label if ord(ch) > 0x2E80))
    return parts


def _empty(title: str, message: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" viewBox="0 0 {CHART_W} 80" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<text x="{CHART_W / 2}" y="44" text-anchor="middle" font-size="14" fill="#666">'
        f"{escape(message)}</text></svg>"
    )


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = False,
    fmt: Callable[[float], str] = plain_number,
    whole: bool = False,
    durations: bool = False,
    empty: str = "—",
) -> str:
    """Grouped (or stacked) bars per category, a value axis with five round ticks, and a legend."""
    if not categories or not series:
        return _empty(title, empty)
    if stacked:
        highest = max(sum(max(s.values[c] or 0.0, 0.0) for s in series) for c in range(len(categories)))
    else:
        highest = max((v or 0.0) for s in series for v in s.values)
    step = nice_step(highest, whole=whole, durations=durations)
    top = step * TICKS
    parts = _frame(title, categories, step, fmt)
    plot_h = CHART_H - PAD_TOP - PAD_BOTTOM
    base = CHART_H - PAD_BOTTOM
    slot = (CHART_W - PAD_LEFT - PAD_RIGHT) / len(categories)
    bar_w = min(slot * 0.8 / (1 if stacked else len(series)), MAX_BAR_W)
    group_w = bar_w * (1 if stacked else len(series))
    for c, category in enumerate(categories):
        left = PAD_LEFT + slot * c + (slot - group_w) / 2
        stack = 0.0
        for s, one in enumerate(series):
            value = max(one.values[c] or 0.0, 0.0)
            h = plot_h * value / top
            if stacked:
                x, y = left, base - plot_h * stack / top - h
                stack += value
            else:
                x, y = left + bar_w * s, base - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 0.5):.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(category)} · {escape(one.label)}: '
                f"{escape(fmt(value))}</title></rect>"
            )
    parts += _legend(series)
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Callable[[float], str] = plain_number,
    whole: bool = False,
    durations: bool = False,
    empty: str = "—",
) -> str:
    """One line per series across the categories, with a dot (and its figure as a tooltip) per point."""
    if not categories or not series:
        return _empty(title, empty)
    step = nice_step(max((v or 0.0) for s in series for v in s.values), whole=whole, durations=durations)
    top = step * TICKS
    parts = _frame(title, categories, step, fmt)
    plot_h = CHART_H - PAD_TOP - PAD_BOTTOM
    base = CHART_H - PAD_BOTTOM
    slot = (CHART_W - PAD_LEFT - PAD_RIGHT) / len(categories)
    for s, one in enumerate(series):
        color = PALETTE[s % len(PALETTE)]
        points = [
            (PAD_LEFT + slot * (c + 0.5), base - plot_h * max(v, 0.0) / top, c, v)
            for c, v in enumerate(one.values)
            if v is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        radius = 3 if len(categories) <= 100 else 1.5
        for x, y, c, v in points:
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{color}"><title>'
                f"{escape(categories[c])} · {escape(one.label)}: {escape(fmt(v))}</title></circle>"
            )
    parts += _legend(series)
    parts.append("</svg>")
    return "".join(parts)
