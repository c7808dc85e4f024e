"""The live work kept across restarts: thresholds, waiting callbacks, unsaved wrap-ups."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from crm.db import Database
from crm.kinds import Channel
from crm.reporting.facts import LegOutcome, QueueLegFact, record_facts
from crm.restart_state import PendingWrapup, RecentLeg, RestartState, SavedCallback

AT = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


@contextlib.asynccontextmanager
async def reopened(db: Database) -> AsyncIterator[RestartState]:
    """The store as a new process sees it: a new connection pool on the same database."""
    await db.dispose()
    fresh = Database(db.url)
    try:
        yield RestartState(fresh)
    finally:
        await fresh.dispose()


async def test_a_groups_threshold_is_read_back_as_last_saved(db: Database) -> None:
    state = RestartState(db)
    await state.save_marketing_policy("default", {"queues": ["support"], "max_agents": 2})
    await state.save_marketing_policy("default", {"queues": ["support"], "max_agents": 3})
    await state.save_marketing_policy("vip", {"queues": ["vip"], "max_percent": 25.0})
    async with reopened(db) as again:
        assert await again.marketing_policies() == {
            "default": {"queues": ["support"], "max_agents": 3},
            "vip": {"queues": ["vip"], "max_percent": 25.0},
        }


async def test_waiting_callbacks_come_back_in_request_order_without_those_made(db: Database) -> None:
    state = RestartState(db)
    first = SavedCallback("cb-1", 1, "13800138000", "support", AT, skill="support", source="ivr")
    second = SavedCallback("cb-2", 2, "13900139000", "sales", AT - timedelta(minutes=5), priority=1)
    third = SavedCallback("cb-3", 3, "13700137000", "support", AT)
    await state.save_callbacks([second, first, third], [])
    retried = SavedCallback(
        "cb-2", 2, "13900139000", "sales", AT - timedelta(minutes=5), priority=1, attempts=1, retry_at=AT
    )
    await state.save_callbacks([retried], ["cb-3"])
    async with reopened(db) as again:
        assert await again.waiting_callbacks() == [first, retried]


async def test_a_wrap_up_is_kept_until_dropped(db: Database) -> None:
    state = RestartState(db)
    older = PendingWrapup(
        "agent1001", "call-1", 7, "13800138000", (3,), True, Channel.CALL_IN, AT, {"queue": "support"}
    )
    newer = PendingWrapup(
        "agent1001", "call-2", None, "", (), False, Channel.CALL_OUT, AT + timedelta(minutes=1)
    )
    other = PendingWrapup(
        "agent1002", "call-3", None, "", (), False, Channel.CALL_IN, AT + timedelta(minutes=2)
    )
    for wrapup in (newer, other, older):
        await state.keep_wrapup(wrapup)
    await state.drop_wrapup("agent1002", "call-3")
    async with reopened(db) as again:
        assert await again.pending_wrapups() == [older, newer]


async def test_the_queue_legs_since_a_time_come_back_oldest_first_for_the_wallboard(db: Database) -> None:
    legs = [
        QueueLegFact(
            "c0", "support", AT - timedelta(hours=1), AT - timedelta(minutes=59), LegOutcome.ANSWERED
        ),
        QueueLegFact(
            "c2",
            "sales",
            AT + timedelta(minutes=2),
            AT + timedelta(minutes=3),
            LegOutcome.ABANDONED,
            wait_s=60.0,
        ),
        QueueLegFact(
            "c1",
            "support",
            AT,
            AT + timedelta(seconds=90),
            LegOutcome.ANSWERED,
            wait_s=8.0,
            talk_s=80.0,
            wrap_s=2.0,
        ),
    ]
    await record_facts(db, legs, tz=UTC)
    async with reopened(db) as again:
        recent = await again.recent_queue_legs(AT - timedelta(minutes=30))
    assert recent == [
        RecentLeg("c1", "support", AT, "answered", 8.0, 80.0, 2.0),
        RecentLeg("c2", "sales", AT + timedelta(minutes=2), "abandoned", 60.0, 0.0, 0.0),
    ]
