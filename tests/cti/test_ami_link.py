"""The AMI link against a loopback AMI server replaying the recorded transcripts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from panoramisk.message import Message as PanoramiskMessage

from cti.ami_link import AmiLink, AmiProtocol
from cti.ami_protocol import AmiMessage, first
from cti.errors import AmiActionFailed, AmiTimeout, SwitchUnavailable
from tests.cti.ami_server import AmiServer, answers_in, encode, events_in, link_config, load_transcript

WAIT_S = 5.0


class Recorder:
    """The link's callbacks, recorded, with a way to await what the test expects next."""

    def __init__(self) -> None:
        self.events: list[AmiMessage] = []
        self.connected: list[str] = []
        self.disconnected: list[str] = []
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self.links: list[AmiLink] = []

    def on_events(self, events: list[AmiMessage]) -> None:
        self.events.extend(events)
        self._changed()

    async def on_connected(self, version: str) -> None:
        self.connected.append(version)
        self._changed()

    def on_disconnected(self, reason: str) -> None:
        self.disconnected.append(reason)
        self._changed()

    def _changed(self) -> None:
        for predicate, future in self._waiters:
            if not future.done() and predicate():
                future.set_result(None)

    async def until(self, predicate: Callable[[], bool]) -> None:
        if predicate():
            return
        waiter = (predicate, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(WAIT_S):
                await waiter[1]
        finally:
            self._waiters.remove(waiter)


@pytest.fixture
async def server() -> AsyncIterator[AmiServer]:
    async with AmiServer() as running:
        yield running


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    recorder = Recorder()
    yield recorder
    for link in recorder.links:  # stopped even when the test failed half-way
        await link.stop()


async def started_link(server: AmiServer, recorder: Recorder, **overrides: object) -> AmiLink:
    link = AmiLink(
        link_config(server.port, **overrides),
        on_events=recorder.on_events,
        on_connected=recorder.on_connected,
        on_disconnected=recorder.on_disconnected,
        jitter=lambda: 1.0,
    )
    recorder.links.append(link)
    await link.start()
    await recorder.until(lambda: len(recorder.connected) >= 1)
    return link


async def test_link_logs_in_and_hands_over_events_in_order(
    server: AmiServer, recorder: Recorder, transcripts: Path
) -> None:
    link = await started_link(server, recorder)
    login = server.received_so_far("Login")[0]
    assert (login["Username"], login["Events"]) == ("hotline", "on")
    assert recorder.connected == ["11.0.0"]
    events = events_in(load_transcript(transcripts / "01-inbound-answered/01.ami"))
    await server.push(*events)
    await recorder.until(lambda: len(recorder.events) >= len(events) + 1)
    assert recorder.events[0]["Event"] == "FullyBooted"
    assert recorder.events[1:] == events
    await link.stop()


async def test_a_stream_split_at_every_byte_boundary_gives_the_same_messages(transcripts: Path) -> None:
    stream = (transcripts / "09-ami-reconnect/09-reconnect.ami").read_bytes()[:2400]
    received: list[AmiMessage] = []
    link = AmiLink(link_config(1), on_events=received.extend)
    whole = AmiProtocol(link)
    whole.connection_made(_NullTransport())
    whole.data_received(stream)
    expected = list(received)
    assert len(expected) >= 4
    for cut in range(1, len(stream)):
        received.clear()
        protocol = AmiProtocol(link)
        protocol.connection_made(_NullTransport())
        protocol.data_received(stream[:cut])
        protocol.data_received(stream[cut:])
        assert received == expected, f"split at byte {cut}"


@settings(max_examples=200, deadline=None)
@given(garbage=st.binary(max_size=300), cut=st.integers(min_value=0, max_value=400))
async def test_garbage_on_the_wire_never_breaks_the_link_and_the_next_event_comes_through(
    garbage: bytes, cut: int
) -> None:
    received: list[AmiMessage] = []
    link = AmiLink(link_config(1), on_events=received.extend)
    protocol = AmiProtocol(link)
    protocol.connection_made(_NullTransport())
    good = encode({"Event": "Hangup", "Channel": "PJSIP/1001-00000001", "Cause": "16"})
    stream = b"Asterisk Call Manager/11.0.0\r\n" + garbage + b"\r\n\r\n" + good
    protocol.data_received(stream[:cut])
    protocol.data_received(stream[cut:])
    assert received[-1] == {"Event": "Hangup", "Channel": "PJSIP/1001-00000001", "Cause": "16"}


async def test_a_list_answer_written_one_byte_at_a_time_is_gathered_whole(
    recorder: Recorder, transcripts: Path
) -> None:
    recorded = load_transcript(transcripts / "15-resync-waiting/15-resync.ami")
    async with AmiServer(write_size=1) as server:
        server.answer("QueueStatus", answers_in(recorded, "queuestatus-203"))
        link = await started_link(server, recorder)
        result = await link.send_action("QueueStatus")
        await link.stop()
    assert [item["Event"] for item in result.items] == [
        "QueueParams",
        "QueueEntry",
        "QueueEntry",
        "QueueParams",
    ]
    assert [item["Position"] for item in result.items if item["Event"] == "QueueEntry"] == ["1", "2"]
    assert result.completion is not None and result.completion["ListItems"] == "4"
    assert all(item["ActionID"] == result.action_id for item in result.items)


async def test_an_empty_last_header_is_kept_where_stock_panoramisk_drops_it(
    server: AmiServer, recorder: Recorder, transcripts: Path
) -> None:
    answer = answers_in(load_transcript(transcripts / "08-misc-actions/08.ami"), "getvar-203")[0]
    assert list(answer)[-1] == "Value"  # the capture ends the answer with "Value: "
    stock = PanoramiskMessage.from_line(encode(answer).decode().strip())
    assert "Value" not in stock
    server.answer("Getvar", [answer])
    link = await started_link(server, recorder)
    result = await link.send_action("Getvar", {"Variable": "GLOBAL(NOSUCH)"})
    assert result.response["Value"] == ""


async def test_list_items_go_to_the_action_not_to_the_event_handler(
    server: AmiServer, recorder: Recorder, transcripts: Path
) -> None:
    recorded = load_transcript(transcripts / "09-ami-reconnect/09-reconnect.ami")
    server.answer("CoreShowChannels", answers_in(recorded, "coreshowchannels-202"))
    link = await started_link(server, recorder)
    result = await link.send_action("CoreShowChannels")
    assert [first(item, "Linkedid") for item in result.items] == ["1795415672.9", "1795415672.9"]
    assert all(event["Event"] != "CoreShowChannel" for event in recorder.events)
    await link.stop()


async def test_an_empty_list_completes_with_no_items(
    server: AmiServer, recorder: Recorder, transcripts: Path
) -> None:
    recorded = load_transcript(transcripts / "08-misc-actions/08.ami")
    server.answer("CoreShowChannels", answers_in(recorded, "coreshowchannels-202"))
    server.answer("QueueStatus", answers_in(recorded, "queuestatus-207"))
    link = await started_link(server, recorder)
    channels = await link.send_action("CoreShowChannels")
    queues = await link.send_action("QueueStatus", {"Queue": "nosuchqueue"})
    assert (channels.items, channels.completion and channels.completion["ListItems"]) == ((), "0")
    assert (queues.items, queues.message) == ((), "Queue status will follow")
    await link.stop()


@pytest.mark.parametrize(
    ("action", "recorded_id", "message"),
    [
        ("NoSuchAction", "nosuchaction-206", "Invalid/unknown command: NoSuchAction."),
        ("Originate", "originate-206", "Channel not specified"),
        ("Hangup", "hangup-206", "No such channel"),
    ],
)
async def test_an_error_response_raises_action_failed_with_asterisks_message(
    server: AmiServer, recorder: Recorder, transcripts: Path, action: str, recorded_id: str, message: str
) -> None:
    server.answer(action, answers_in(load_transcript(transcripts / "08-misc-actions/08.ami"), recorded_id))
    link = await started_link(server, recorder)
    with pytest.raises(AmiActionFailed) as failure:
        await link.send_action(action)
    assert failure.value.action == action
    assert failure.value.message.startswith(message)
    assert link._pending == {}
    await link.stop()


async def test_an_action_never_answered_times_out_and_nothing_stays_pending(
    server: AmiServer, recorder: Recorder
) -> None:
    server.silence("QueueSummary")
    link = await started_link(server, recorder)
    with pytest.raises(AmiTimeout) as timeout:
        await link.send_action("QueueSummary", timeout_s=0.05)
    assert (timeout.value.action, timeout.value.waiting_for) == ("QueueSummary", "response")
    assert link._pending == {}
    # Its answer arriving late is not mistaken for anything else, and the link still works.
    late = {"Event": "QueueSummaryComplete", "ActionID": timeout.value.action_id, "EventList": "Complete"}
    await server.push(late, {"Event": "Marker"})
    await recorder.until(lambda: any(event["Event"] == "Marker" for event in recorder.events))
    assert all(event["Event"] != "QueueSummaryComplete" for event in recorder.events)
    assert (await link.send_action("Ping")).value("Ping") == "Pong"
    await link.stop()


async def test_a_list_that_never_completes_times_out_waiting_for_its_end(
    server: AmiServer, recorder: Recorder
) -> None:
    server.answer("Status", [{"Response": "Success", "ActionID": "", "EventList": "start"}])
    link = await started_link(server, recorder)
    with pytest.raises(AmiTimeout) as timeout:
        await link.send_action("Status", timeout_s=0.05)
    assert timeout.value.waiting_for == "end of the event list"
    assert link._pending == {}
    await link.stop()


async def test_a_server_that_stops_answering_ping_is_dropped_within_the_liveness_window(
    server: AmiServer, recorder: Recorder
) -> None:
    link = await started_link(server, recorder, ping_interval_s=0.05, ping_timeout_s=0.1)
    await server.received("Ping")  # answered: the link stays up
    server.silence("Ping")
    started = asyncio.get_running_loop().time()
    async with asyncio.timeout(1.0):  # interval + timeout is 0.15 s; a dead check never ends
        await recorder.until(lambda: len(recorder.disconnected) >= 1)
    assert asyncio.get_running_loop().time() - started >= 0.1
    server.unsilence("Ping")
    await recorder.until(lambda: len(recorder.connected) >= 2)
    assert server.logins == 2
    await link.stop()


async def test_pings_are_not_held_against_a_session_blocked_by_a_sync_action(
    server: AmiServer, recorder: Recorder
) -> None:
    link = await started_link(server, recorder, ping_interval_s=0.02, ping_timeout_s=0.05)
    server.silence("Ping")  # a session busy with a sync Originate answers nothing else
    server.silence("Originate")
    with pytest.raises(AmiTimeout):
        await link.send_action("Originate", {"Async": "false"}, timeout_s=0.3, blocks_session=True)
    assert recorder.disconnected == []
    await recorder.until(lambda: len(recorder.disconnected) == 1)  # after it, Pings count again
    await link.stop()


async def test_a_connection_dropped_mid_message_fails_the_waiting_action_and_reconnects(
    server: AmiServer, recorder: Recorder
) -> None:
    server.silence("QueueStatus")
    link = await started_link(server, recorder)
    waiting = asyncio.create_task(link.send_action("QueueStatus"))
    await server.received("QueueStatus")
    await server.push_bytes(encode({"Event": "Newchannel", "Channel": "PJSIP/trunk-1"})[:25])
    await server.drop()
    with pytest.raises(SwitchUnavailable) as lost:
        await waiting
    assert lost.value.sent
    await recorder.until(lambda: len(recorder.connected) >= 2)
    assert len(recorder.disconnected) == 1
    await server.push({"Event": "Newchannel", "Channel": "PJSIP/trunk-2"})
    await recorder.until(lambda: any(e.get("Channel") == "PJSIP/trunk-2" for e in recorder.events))
    # The half message of the old connection never surfaces.
    assert [e["Channel"] for e in recorder.events if e["Event"] == "Newchannel"] == ["PJSIP/trunk-2"]
    await link.stop()


async def test_an_action_while_the_link_is_down_raises_switch_unavailable_without_sending() -> None:
    link = AmiLink(link_config(1), on_events=lambda events: None)
    with pytest.raises(SwitchUnavailable) as down:
        await link.send_action("Ping")
    assert not down.value.sent


async def test_malformed_input_is_logged_with_its_offset_and_the_next_message_comes_through(
    server: AmiServer, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    link = await started_link(server, recorder)
    await server.push_bytes(b"this is not a header\r\nnor this\r\n\r\n")
    await server.push({"Event": "Marker"})
    await recorder.until(lambda: any(event["Event"] == "Marker" for event in recorder.events))
    bad = [record for record in caplog.records if record.getMessage() == "ami_malformed_input"]
    assert bad and all(isinstance(record.kv["offset"], int) and record.kv["offset"] > 0 for record in bad)  # type: ignore[attr-defined]
    await link.stop()


class LogWatch(logging.Handler):
    """Collects one logger's records and wakes a waiting test when enough have come."""

    def __init__(self, event: str, count: int) -> None:
        super().__init__()
        self.event, self.count = event, count
        self.records: list[logging.LogRecord] = []
        self.enough = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == self.event:
            self.records.append(record)
            if len(self.records) >= self.count:
                self.enough.set()


@contextlib.contextmanager
def watch_link_logs(event: str, count: int) -> Iterator[LogWatch]:
    watch = LogWatch(event, count)
    logger = logging.getLogger("cti.ami_link")
    logger.addHandler(watch)
    try:
        yield watch
    finally:
        logger.removeHandler(watch)


async def test_an_unreachable_asterisk_logs_one_clear_line_per_attempt_and_backs_off() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed when the block ends: nobody listens there
    with watch_link_logs("ami_unreachable", 4) as watch:
        link = AmiLink(link_config(port), on_events=lambda events: None, jitter=lambda: 1.0)
        await link.start()
        async with asyncio.timeout(WAIT_S):
            await watch.enough.wait()
        await link.stop()
    first_four = watch.records[:4]
    assert all(record.exc_info is None for record in first_four)
    fields = [record.kv for record in first_four]  # type: ignore[attr-defined]
    assert {(f["host"], f["port"]) for f in fields} == {("127.0.0.1", port)}
    assert [f["retry_in_s"] for f in fields] == [0.01, 0.02, 0.04, 0.05]
    assert all(f["error"] for f in fields)


async def test_a_refused_login_is_logged_clearly_and_retried_with_backoff(transcripts: Path) -> None:
    refusal = load_transcript(transcripts / "08-misc-actions/08-badlogin.ami")[0]
    assert refusal["Message"] == "Authentication failed"
    recorder = Recorder()
    with watch_link_logs("ami_login_refused", 3) as watch:
        async with AmiServer(secret="another-secret") as server:
            link = AmiLink(link_config(server.port), on_events=recorder.on_events, jitter=lambda: 1.0)
            await link.start()
            async with asyncio.timeout(WAIT_S):
                await watch.enough.wait()
            await link.stop()
    fields = [record.kv for record in watch.records[:3]]  # type: ignore[attr-defined]
    assert [f["retry_in_s"] for f in fields] == [0.01, 0.02, 0.04]
    assert {f["message"] for f in fields} == {"Authentication failed"}
    assert all("secret" not in key for f in fields for key in f)
    assert not link.is_connected and recorder.events == []


async def test_a_port_that_does_not_speak_ami_is_reported_as_such_and_retried() -> None:
    async def not_asterisk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(not_asterisk, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with watch_link_logs("ami_login_failed", 2) as watch:
        link = AmiLink(link_config(port), on_events=lambda events: None, jitter=lambda: 1.0)
        await link.start()
        async with asyncio.timeout(WAIT_S):
            await watch.enough.wait()
        await link.stop()
    server.close()
    await server.wait_closed()
    errors = [record.kv["error"] for record in watch.records]  # type: ignore[attr-defined]
    assert all("sent no AMI banner" in error and f":{port}" in error for error in errors)


async def test_stop_fails_waiting_actions_and_closes_the_connection(
    server: AmiServer, recorder: Recorder
) -> None:
    server.silence("QueueSummary")
    link = await started_link(server, recorder)
    waiting = asyncio.create_task(link.send_action("QueueSummary"))
    await server.received("QueueSummary")
    await link.stop()
    with pytest.raises(SwitchUnavailable):
        await waiting
    assert not link.is_connected
    assert recorder.disconnected == ["link stopped"]


class _NullTransport(asyncio.Transport):
    def write(self, data: bytes | bytearray | memoryview) -> None:
        pass

    def abort(self) -> None:
        pass

    def is_closing(self) -> bool:
        return False
