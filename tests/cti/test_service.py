"""The CTI service: link → tracker → bus, resync after every (re)connect, ordered start and stop."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cti.ami_link import AmiLinkConfig
from cti.ami_protocol import AmiMessage
from cti.bus import EventBus, Subscription
from cti.events import (
    CallEnded,
    EndCause,
    SwitchConnected,
    SwitchDisconnected,
    SwitchEvent,
    SwitchResynced,
)
from cti.service import CtiService
from cti.snapshot import SwitchSnapshot
from cti.tracker import CallTracker
from hotline.settings import AmiSettings
from tests.cti.ami_server import AmiServer, answers_in, encode, events_in, link_config, load_transcript

WAIT_S = 5.0
AT = datetime(2026, 11, 23, 6, 34, tzinfo=UTC)

RESYNC_LISTS = {
    "CoreShowChannels": "CoreShowChannelsComplete",
    "QueueStatus": "QueueStatusComplete",
    "BridgeList": "BridgeListComplete",
}


def empty_list(complete_event: str) -> list[AmiMessage]:
    """What Asterisk answers a list action with nothing to list (transcript 08)."""
    return [
        {"Response": "Success", "ActionID": "", "EventList": "start", "Message": "Items will follow"},
        {"Event": complete_event, "ActionID": "", "EventList": "Complete", "ListItems": "0"},
    ]


def answer_resync_with_empty_lists(server: AmiServer, *, once: bool) -> None:
    for action, complete in RESYNC_LISTS.items():
        server.answer(action, empty_list(complete), once=once)


async def next_of(subscription: Subscription, kind: type) -> SwitchEvent:
    async with asyncio.timeout(WAIT_S):
        while True:
            event = await subscription.get()
            if isinstance(event, kind):
                return event


@pytest.fixture
async def server() -> AsyncIterator[AmiServer]:
    async with AmiServer() as running:
        yield running


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
async def owned() -> AsyncIterator[list[CtiService]]:
    """Services a test started; stopped at the end even when the test failed half-way."""
    services: list[CtiService] = []
    yield services
    for service in services:
        await service.stop()


async def started(service: CtiService, subscription: Subscription) -> SwitchResynced:
    await service.start()
    resynced = await next_of(subscription, SwitchResynced)
    assert isinstance(resynced, SwitchResynced)
    return resynced


async def test_connecting_publishes_connected_then_the_resync_with_resynced_last(
    server: AmiServer, bus: EventBus, transcripts: Path, owned: list[CtiService]
) -> None:
    recorded = load_transcript(transcripts / "09-ami-reconnect/09-reconnect.ami")
    for action, action_id in [
        ("CoreShowChannels", "coreshowchannels-202"),
        ("QueueStatus", "queuestatus-202"),
        ("BridgeList", "bridgelist-203"),
    ]:
        server.answer(action, answers_in(recorded, action_id))
    everything = bus.subscribe("everything")
    progress = bus.subscribe("progress")
    service = CtiService(link_config(server.port), bus, CallTracker(clock=lambda: AT), clock=lambda: AT)
    owned.append(service)
    await service.start()
    await next_of(progress, SwitchResynced)
    await service.stop()
    published = [everything.get_nowait() for _ in range(everything.pending())]
    kinds = [type(event) for event in published]
    assert kinds[0] is SwitchConnected
    assert published[0] == SwitchConnected(at=AT, version="11.0.0")
    assert kinds[-1] is SwitchDisconnected
    resynced = [event for event in published if isinstance(event, SwitchResynced)]
    assert len(resynced) == 1 and resynced[0].calls == ("1795415672.9",)
    assert not any(isinstance(event, CallEnded) for event in published)


async def test_a_call_still_up_after_a_reconnect_is_kept_and_ends_normally_later(
    server: AmiServer, bus: EventBus, transcripts: Path, owned: list[CtiService]
) -> None:
    before = events_in(load_transcript(transcripts / "09-ami-reconnect/09.ami"))
    after = load_transcript(transcripts / "09-ami-reconnect/09-reconnect.ami")
    answer_resync_with_empty_lists(server, once=True)
    for action, action_id in [
        ("CoreShowChannels", "coreshowchannels-202"),
        ("QueueStatus", "queuestatus-202"),
        ("BridgeList", "bridgelist-203"),
    ]:
        server.answer(action, answers_in(after, action_id))
    events = bus.subscribe("test")
    tracker = CallTracker(clock=lambda: AT)
    service = CtiService(link_config(server.port), bus, tracker)
    owned.append(service)
    await started(service, events)
    await server.push(*before)
    await server.push_bytes(encode(before[-1])[:40])  # the socket dies in the middle of a message
    await server.drop()
    await next_of(events, SwitchDisconnected)
    resynced = await next_of(events, SwitchResynced)
    assert resynced.calls == ("1795415672.9",)  # type: ignore[attr-defined]
    assert tracker.open_call_ids() == {"1795415672.9"}
    await server.push(*events_in(after))
    ended = await next_of(events, CallEnded)
    assert ended.call_id == "1795415672.9" and ended.cause is EndCause.NORMAL  # type: ignore[attr-defined]
    await service.stop()


async def test_a_call_that_ended_while_the_link_was_down_ends_lost_during_disconnect(
    server: AmiServer, bus: EventBus, transcripts: Path, owned: list[CtiService]
) -> None:
    story = events_in(load_transcript(transcripts / "15-resync-waiting/15.ami"))
    both_waiting = story[: next(i for i, e in enumerate(story) if e["Event"] == "QueueCallerAbandon")]
    resync = load_transcript(transcripts / "15-resync-waiting/15-resync.ami")
    gone = "PJSIP/trunk-00000002"  # this caller hangs up while the link is down

    def without_gone(messages: list[AmiMessage]) -> list[AmiMessage]:
        kept = [message for message in messages if message.get("Channel") != gone]
        complete = kept[-1]
        items = len(kept) - 2
        return [*kept[:-1], {**complete, "ListItems": str(items)}]

    answer_resync_with_empty_lists(server, once=True)
    server.answer("CoreShowChannels", without_gone(answers_in(resync, "coreshowchannels-203")))
    server.answer("QueueStatus", without_gone(answers_in(resync, "queuestatus-203")))
    server.answer("BridgeList", empty_list("BridgeListComplete"))
    events = bus.subscribe("test")
    tracker = CallTracker(clock=lambda: AT)
    service = CtiService(link_config(server.port), bus, tracker)
    owned.append(service)
    await started(service, events)
    await server.push(*both_waiting)
    await server.push_bytes(b"Event: QueueCallerAbandon\r\nChannel: PJSIP/trunk-000")
    await server.drop()
    await next_of(events, SwitchDisconnected)
    ended = await next_of(events, CallEnded)
    assert isinstance(ended, CallEnded)
    assert (ended.call_id, ended.cause) == ("1795416748.2", EndCause.LOST_DURING_DISCONNECT)
    resynced = await next_of(events, SwitchResynced)
    assert resynced.calls == ("1795416749.3",)  # type: ignore[attr-defined]
    assert tracker.open_call_ids() == {"1795416749.3"}
    await service.stop()


class RecordingTracker:
    """A tracker that records what it was asked, in order, and fails on a poisoned event."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.marker_fed = asyncio.Event()  # set when a ``Marker`` event has been fed

    def feed(self, message: AmiMessage) -> list[SwitchEvent]:
        if message.get("Event") == "Poison":
            raise ValueError("cannot digest this")
        self.calls.append(f"feed {message['Event']}")
        if message["Event"] == "Marker":
            self.marker_fed.set()
        return []

    async def until_marker_fed(self) -> None:
        async with asyncio.timeout(WAIT_S):
            await self.marker_fed.wait()

    def resync(self, snapshot: SwitchSnapshot) -> list[SwitchEvent]:
        self.calls.append(f"resync {len(snapshot.channels)} channels")
        return [SwitchResynced(at=snapshot.at)]

    def open_call_ids(self) -> set[str]:
        return set()


async def test_events_arriving_during_the_resync_are_fed_after_it(
    server: AmiServer, bus: EventBus, owned: list[CtiService]
) -> None:
    hangup = {"Event": "Hangup", "Channel": "PJSIP/trunk-00000008", "Uniqueid": "1795415672.9"}
    channel = {"Event": "CoreShowChannel", "ActionID": "", "Channel": "PJSIP/trunk-00000008"}
    listing = empty_list("CoreShowChannelsComplete")
    server.answer("CoreShowChannels", [hangup, listing[0], channel, listing[1]])
    server.answer("QueueStatus", empty_list("QueueStatusComplete"))
    server.answer("BridgeList", empty_list("BridgeListComplete"))
    tracker = RecordingTracker()
    events = bus.subscribe("test")
    service = CtiService(link_config(server.port), bus, tracker)
    owned.append(service)
    await started(service, events)
    await server.push({"Event": "Marker"})
    await tracker.until_marker_fed()
    await service.stop()
    assert tracker.calls[:3] == ["feed FullyBooted", "resync 1 channels", "feed Hangup"]


async def test_a_message_the_tracker_cannot_take_is_logged_and_the_stream_goes_on(
    server: AmiServer, bus: EventBus, caplog: pytest.LogCaptureFixture, owned: list[CtiService]
) -> None:
    answer_resync_with_empty_lists(server, once=False)
    tracker = RecordingTracker()
    events = bus.subscribe("test")
    service = CtiService(link_config(server.port), bus, tracker)
    owned.append(service)
    await started(service, events)
    await server.push({"Event": "Poison"}, {"Event": "Marker"})
    await tracker.until_marker_fed()
    await service.stop()
    failures = [record for record in caplog.records if record.getMessage() == "tracker_failed"]
    assert len(failures) == 1 and failures[0].kv == {"ami_event": "Poison"}  # type: ignore[attr-defined]


async def test_a_failed_resync_drops_the_connection_and_the_next_one_resyncs(
    server: AmiServer, bus: EventBus, owned: list[CtiService]
) -> None:
    refused = [{"Response": "Error", "ActionID": "", "Message": "Permission denied"}]
    server.answer("CoreShowChannels", refused, once=True)
    answer_resync_with_empty_lists(server, once=False)
    events = bus.subscribe("test")
    service = CtiService(link_config(server.port), bus, RecordingTracker())
    owned.append(service)
    await service.start()
    kinds = [type(await next_of(events, SwitchEvent)) for _ in range(4)]
    await service.stop()
    assert kinds == [SwitchConnected, SwitchDisconnected, SwitchConnected, SwitchResynced]
    assert server.logins == 2


async def test_stop_closes_the_link_publishes_disconnected_and_feeds_nothing_more(
    server: AmiServer, bus: EventBus, owned: list[CtiService]
) -> None:
    answer_resync_with_empty_lists(server, once=False)
    tracker = RecordingTracker()
    events = bus.subscribe("test")
    service = CtiService(link_config(server.port), bus, tracker)
    owned.append(service)
    await started(service, events)
    await service.stop()
    assert isinstance(await next_of(events, SwitchDisconnected), SwitchDisconnected)
    fed = list(tracker.calls)
    await server.push({"Event": "Newchannel"})
    assert tracker.calls == fed
    assert not service.link.is_connected
    await service.stop()  # stopping twice is harmless


def test_the_ami_settings_section_configures_the_link_field_for_field() -> None:
    settings = AmiSettings(host="pbx.example", port=5039, secret="s", ping_interval_s=2.0)
    shared = {f.name for f in dataclasses.fields(AmiLinkConfig)}
    config = AmiLinkConfig(**{k: v for k, v in dataclasses.asdict(settings).items() if k in shared})
    assert (config.host, config.port, config.ping_interval_s) == ("pbx.example", 5039, 2.0)
    assert shared <= {f.name for f in dataclasses.fields(AmiSettings)}


async def test_without_a_configured_host_the_service_starts_idle_and_says_so(
    bus: EventBus, caplog: pytest.LogCaptureFixture, owned: list[CtiService]
) -> None:
    caplog.set_level(logging.WARNING)
    service = CtiService(link_config(0, host=""), bus, RecordingTracker())
    owned.append(service)
    await service.start()
    await service.stop()
    assert [record.getMessage() for record in caplog.records] == ["ami_not_configured"]
