"""Small fakes for the IVR tests: the CRM as the IVR sees it, menus written to disk."""

from __future__ import annotations

import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr.crm_port import CallerRecord, OrderProgress, TicketStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")
REPO_MENUS = Path(__file__).parents[2] / "ivr" / "menus"

# The script of the transcripts' dialplan, as a menu: greeting, one digit, 2 → sales, else support.
TRANSCRIPT_MENU = """
languages: [en]
fallback_queue: support
start: welcome
prompts:
  welcome: {en: Welcome.}
  menu: {en: For sales press 2, for support press 1.}
nodes:
  welcome: {kind: play, prompt: welcome, next: menu}
  menu:
    kind: menu
    prompt: menu
    choices: {"1": support, "2": sales}
    timeout_s: 5
    retries: 0
    on_fail: support
  support: {kind: queue, queue: support, skill: support}
  sales: {kind: queue, queue: sales, skill: sales}
"""


class FakeCustomers:
    """The CRM as the IVR sees it: a few callers, tickets and orders; can fail on demand."""

    def __init__(self) -> None:
        self.callers: dict[str, CallerRecord] = {}
        self.tickets: dict[str, TicketStatus] = {}
        self.orders: dict[str, OrderProgress] = {}
        self.failure: Exception | None = None
        self.asked: list[tuple[str, str]] = []

    async def find_caller(self, number: str) -> CallerRecord | None:
        self.asked.append(("caller", number))
        if self.failure is not None:
            raise self.failure
        return self.callers.get(number)

    async def ticket_status(self, ticket_number: str) -> TicketStatus | None:
        self.asked.append(("ticket", ticket_number))
        if self.failure is not None:
            raise self.failure
        return self.tickets.get(ticket_number)

    async def order_progress(self, order_number: str) -> OrderProgress | None:
        self.asked.append(("order", order_number))
        if self.failure is not None:
            raise self.failure
        return self.orders.get(order_number)


def write_menu(directory: Path, number: str, text: str) -> Path:
    path = directory / f"{number}.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path
