"""Charts drawn on the server as SVG: no chart library in the browser."""

from __future__ import annotations

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
        h = round(HEIGHT * queue.service_level)
        color = "#2e7d32" if queue.service_level >= 0.8 else "#c62828"
        parts.append(
            f'<rect x="{x}" y="{HEIGHT + 10 - h}" width="{BAR_W}" height="{h}" fill="{color}">'
            f"<title>{escape(queue.queue)}: {queue.service_level:.0%}</title></rect>"
        )
        parts.append(
            f'<text x="{x + BAR_W / 2}" y="{HEIGHT + 8 - h}" text-anchor="middle" font-size="12">'
            f"{queue.service_level:.0%} · {queue.waiting}</text>"
        )
        parts.append(
            f'<text x="{x + BAR_W / 2}" y="{HEIGHT + 28}" text-anchor="middle" font-size="12">'
            f"{escape(queue.queue)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
