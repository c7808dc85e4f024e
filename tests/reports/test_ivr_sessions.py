"""IVR sessions for reports: the IVR's IvrCompleted, with its start, becomes an IvrSessionFact."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cti.bus import EventBus
from hotline.adapters import ivr_session_fact
from ivr.events import IvrCompleted, IvrOutcome, PathEntry
from ivr.fastagi_server import IvrServer
from ivr.prompts import PromptPaths
from ivr.registry import MenuRegistry
from tests.ivr.asterisk import AsteriskScript
from tests.ivr.fakes import TRANSCRIPT_MENU, FakeCustomers

T0 = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


def completed(
    outcome: IvrOutcome, *path: PathEntry, queue: str = "", customer: str | None = "42"
) -> IvrCompleted:
    return IvrCompleted(
        at=T0 + timedelta(seconds=40),
        call_id="c1",
        channel="PJSIP/trunk-1",
        caller="13800131000",
        dialed="4008123456",
        path=path,
        queue=queue,
        skill="",
        priority=0,
        language="zh",
        customer_id=customer,
        outcome=outcome,
        started_at=T0,
    )


TICKET_FOUND = (
    PathEntry("welcome", "play"),
    PathEntry("main", "menu", "2"),
    PathEntry("ticket", "lookup", "261123000042", "resolved"),
    PathEntry("bye", "hangup"),
)


def test_a_lookup_that_found_the_ticket_and_ended_the_call_is_self_service() -> None:
    (fact,) = ivr_session_fact(completed(IvrOutcome.HUNG_UP, *TICKET_FOUND))
    assert (fact.started_at, fact.ended_at, fact.path, fact.exit_node) == (
        T0,
        T0 + timedelta(seconds=40),
        "welcome > main > ticket > bye",
        "bye",
    )
    assert (fact.self_service, fact.outcome, fact.customer_id, fact.queue) == (True, "hung-up", 42, "")


def test_no_self_service_when_the_lookup_missed_or_the_caller_went_on_to_a_queue() -> None:
    missed = (PathEntry("ticket", "lookup", "1", "not-found"), PathEntry("bye", "hangup"))
    assert ivr_session_fact(completed(IvrOutcome.CALLER_HUNG_UP, *missed))[0].self_service is False
    queued = completed(IvrOutcome.QUEUED, *TICKET_FOUND[:3], PathEntry("agent", "queue"), queue="support")
    (fact,) = ivr_session_fact(queued)
    assert (fact.self_service, fact.queue, fact.exit_node) == (False, "support", "agent")
    assert ivr_session_fact(completed(IvrOutcome.NO_MENU, customer=None))[0].nodes == ()


async def test_the_ivr_server_says_when_the_session_started(transcripts: Path, tmp_path: Path) -> None:
    menus = tmp_path / "menus"
    menus.mkdir()
    (menus / "4008123456.yaml").write_text(TRANSCRIPT_MENU, encoding="utf-8")
    registry = MenuRegistry(menus)
    registry.load()
    ticks = iter(T0 + timedelta(seconds=s) for s in range(100))
    bus = EventBus()
    subscription = bus.subscribe("test", IvrCompleted)
    server = IvrServer(
        registry=registry,
        bus=bus,
        customers=FakeCustomers(),
        prompts=PromptPaths("/var/lib/hotline/prompts"),
        command_timeout_s=2.0,
        lookup_timeout_s=1.0,
        port=0,
        clock=lambda: next(ticks),
    )
    await server.start()
    try:
        await AsteriskScript.from_transcript(transcripts / "01-inbound-answered/01.agi").call(server.port)
        async with asyncio.timeout(5):
            event = await subscription.get()
    finally:
        await server.stop(grace_s=1.0)
    (fact,) = ivr_session_fact(event)
    assert fact.started_at == T0 and fact.ended_at > fact.started_at
    assert (fact.path, fact.outcome, fact.queue, fact.self_service) == (
        "welcome > menu > support",
        "queued",
        "support",
        False,
    )
