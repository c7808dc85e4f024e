"""Messages left and callback steps, from the bus into the CRM, once per call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from acd.events import CallbackFailed, CallbackScheduled, CallbackSource, CallbackStarted
from crm import callback_log, messages
from crm.callback_log import CallbackStep
from crm.db import Database
from crm.messages import MessageStatus
from crm.migrate import upgrade
from cti.bus import EventBus
from cti.events import MessageLeft
from hotline.back_office_feed import BackOfficeFeed, message_of
from recording.message_files import MessageFiles

AT = datetime(2026, 12, 7, 13, 5, tzinfo=UTC)
MONITOR = "/var/spool/asterisk/monitor"


@pytest.fixture
def files(tmp_path: Path) -> MessageFiles:
    return MessageFiles(spool_dir=tmp_path / "spool")


@pytest.fixture
async def db(tmp_path: Path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}")
    await upgrade(database)
    yield database
    await database.dispose()


def test_a_message_from_the_dialplan_is_kept_relative_to_the_spool(files: MessageFiles):
    event = MessageLeft(
        at=AT,
        call_id="1733.7",
        caller="13800138000",
        queue="support",
        file=f"{MONITOR}/messages/2026/12/07/1733.7/1733.8.wav",
        status="SILENCE",
    )
    message = message_of(event, files)
    assert message.file == "spool/messages/2026/12/07/1733.7/1733.8.wav"
    assert (message.caller, message.queue, message.record_status) == ("13800138000", "support", "SILENCE")


def test_a_file_outside_the_spool_keeps_the_message_without_its_file(files: MessageFiles):
    event = MessageLeft(at=AT, call_id="9.9", caller="138", queue="", file="/etc/passwd", status="HANGUP")
    message = message_of(event, files)
    assert message.file == "" and message.caller == "138"


async def test_a_message_is_stored_once_per_call(db: Database, files: MessageFiles):
    bus = EventBus()
    feed = BackOfficeFeed(bus, db, files)
    await feed.start()
    try:
        left = MessageLeft(
            at=AT,
            call_id="1733.7",
            caller="13800138000",
            queue="support",
            file=f"{MONITOR}/m/a.wav",
            status="DTMF",
        )
        bus.publish(left)
        bus.publish(left)  # the same event again (a resync): still one message
        await feed.drained()
    finally:
        await feed.stop()
    stored = await messages.list_messages(db)
    assert [m.call_id for m in stored] == ["1733.7"]
    assert all(m.status is MessageStatus.NEW for m in stored)


async def test_callback_events_become_the_callbacks_history(db: Database, files: MessageFiles):
    bus = EventBus()
    feed = BackOfficeFeed(bus, db, files)
    await feed.start()
    bus.publish(
        CallbackScheduled(AT, "cb-1", "13800138000", "support", "support", 0, AT, CallbackSource.IVR, "1.1")
    )
    bus.publish(CallbackStarted(AT, "cb-1", "13800138000", "support", "agent1001", 1))
    bus.publish(
        CallbackFailed(
            AT,
            "cb-1",
            "13800138000",
            "support",
            "agent1001",
            1,
            "no answer",
            retry_at=AT + timedelta(minutes=5),
        )
    )
    bus.publish(CallbackStarted(AT, "cb-1", "13800138000", "support", "agent1002", 2))
    bus.publish(CallbackFailed(AT, "cb-1", "13800138000", "support", "agent1002", 2, "busy"))
    await feed.stop()  # what was queued is written before it stops
    steps = [e.step for e in reversed(await callback_log.recent(db))]
    assert steps == [
        CallbackStep.SCHEDULED,
        CallbackStep.STARTED,
        CallbackStep.FAILED,
        CallbackStep.STARTED,
        CallbackStep.GAVE_UP,
    ]
    mine = await callback_log.recent(db, agent="agent1002")
    assert {e.callback_id for e in mine} == {"cb-1"}
