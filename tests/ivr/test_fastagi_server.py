"""The FastAGI server over real sockets, with a client that plays Asterisk's part."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from cti.bus import EventBus, Subscription
from hotline.settings import load_settings
from ivr.crm_port import CallerRecord, TicketStatus
from ivr.errors import LookupUnavailable
from ivr.events import CallbackRequested, IvrCompleted, IvrOutcome, PathEntry
from ivr.fastagi_server import IvrServer
from ivr.prompts import PromptPaths
from ivr.registry import MenuRegistry
from tests.ivr.asterisk import AsteriskScript, environment
from tests.ivr.fakes import REPO_MENUS, FakeCustomers

WELCOME = 'STREAM FILE /var/lib/hotline/prompts/4008123456/en/welcome ""'
ANSWERED = [
    "01-inbound-answered/01.agi",
    "02-abandoned/02.agi",
    "09-ami-reconnect/09.agi",
    "11-hold/11.agi",
    "13-recording-control/13.agi",
]


@pytest.fixture
def completed(bus: EventBus) -> Subscription:
    return bus.subscribe("test", IvrCompleted, CallbackRequested)


async def next_event(subscription: Subscription) -> Any:
    async with asyncio.timeout(5):
        return await subscription.get()


@pytest.fixture
async def make_server(
    bus: EventBus, customers: FakeCustomers, clock: Callable[[], datetime]
) -> AsyncIterator[Callable[..., Any]]:
    started: list[IvrServer] = []

    async def make(menus: Path, **options: Any) -> IvrServer:
        registry = MenuRegistry(menus)
        registry.load()
        settings = {
            "registry": registry,
            "bus": bus,
            "customers": customers,
            "prompts": PromptPaths("/var/lib/hotline/prompts"),
            "command_timeout_s": 2.0,
            "port": 0,
            "clock": clock,
        }
        server = IvrServer(**{**settings, **options})
        await server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        await server.stop(grace_s=1.0)


@pytest.mark.parametrize("name", ANSWERED)
async def test_a_captured_call_runs_the_menu_and_leaves_it_queued(
    transcripts: Path, name: str, ivr_server: IvrServer, completed: Subscription
) -> None:
    asterisk = AsteriskScript.from_transcript(transcripts / name)
    commands = await asterisk.call(ivr_server.port)
    assert commands == [
        "SET VARIABLE HOTLINE_QUEUE support",
        "GET VARIABLE CHANNEL(linkedid)",
        WELCOME,
        "GET DATA /var/lib/hotline/prompts/4008123456/en/menu 5000 1",
        "SET VARIABLE HOTLINE_QUEUE support",
        "SET VARIABLE HOTLINE_SKILL support",
        "SET VARIABLE QUEUE_PRIO 0",
    ]
    event = await next_event(completed)
    assert isinstance(event, IvrCompleted)
    assert event.call_id == asterisk.variables["CHANNEL(linkedid)"]
    assert event.outcome is IvrOutcome.QUEUED
    assert (event.queue, event.skill, event.priority, event.dialed) == ("support", "support", 0, "4008123456")
    assert event.path == (
        PathEntry("welcome", "play"),
        PathEntry("menu", "menu", "1"),
        PathEntry("support", "queue", "", "support"),
    )


async def test_two_callers_at_once_each_get_their_own_session(
    transcripts: Path, ivr_server: IvrServer, completed: Subscription
) -> None:
    path = transcripts / "15-resync-waiting/15.agi"
    callers = [AsteriskScript.from_transcript(path, connection) for connection in (0, 1)]
    await asyncio.gather(*(caller.call(ivr_server.port) for caller in callers))
    events = [await next_event(completed), await next_event(completed)]
    assert {event.call_id for event in events} == {"1795416748.2", "1795416749.3"}
    assert {event.channel for event in events} == {"PJSIP/trunk-00000002", "PJSIP/trunk-00000003"}


async def test_a_caller_who_hangs_up_during_the_greeting_ends_the_session_cleanly(
    transcripts: Path, ivr_server: IvrServer, completed: Subscription
) -> None:
    asterisk = AsteriskScript.from_transcript(transcripts / "06-hangup-in-ivr/06.agi")
    commands = await asterisk.call(ivr_server.port)
    # After "200 result=-1" and "HANGUP", at most the next command goes out before Hotline
    # reads the HANGUP line and closes; nothing after it.
    assert commands[:3] == ["SET VARIABLE HOTLINE_QUEUE support", "GET VARIABLE CHANNEL(linkedid)", WELCOME]
    assert len(commands) <= 4
    event = await next_event(completed)
    assert event.outcome is IvrOutcome.CALLER_HUNG_UP
    assert event.path == (PathEntry("welcome", "play"),)
    assert event.call_id == "1795415641.4"


async def test_a_garbage_reply_ends_the_session_with_the_fallback_queue_already_set(
    ivr_server: IvrServer, completed: Subscription
) -> None:
    asterisk = AsteriskScript(environment(), garbage_on="GET DATA")
    commands = await asterisk.call(ivr_server.port)
    assert commands[0] == "SET VARIABLE HOTLINE_QUEUE support"
    assert commands[-1].startswith("GET DATA")
    event = await next_event(completed)
    assert (event.outcome, event.queue) == (IvrOutcome.FAILED, "support")


async def test_a_stalled_asterisk_is_given_up_on_after_the_command_timeout(
    menus_dir: Path, make_server: Callable[..., Any], completed: Subscription
) -> None:
    server = await make_server(menus_dir, command_timeout_s=0.2)
    asterisk = AsteriskScript(environment(), stall_on="STREAM FILE")
    commands = await asterisk.call(server.port)  # returns because Hotline closes the socket
    assert commands[-1] == 'STREAM FILE /var/lib/hotline/prompts/4008123456/en/welcome ""'
    event = await next_event(completed)
    assert (event.outcome, event.queue) == (IvrOutcome.STALLED, "support")


async def test_a_connection_that_never_sends_its_environment_is_closed(
    menus_dir: Path, make_server: Callable[..., Any]
) -> None:
    server = await make_server(menus_dir, command_timeout_s=0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"agi_network: yes\n")
    async with asyncio.timeout(5):
        assert await reader.read() == b""
    writer.close()


@pytest.mark.parametrize(
    "opening",
    [b"agi_network: yes\nagi_network_scr", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"\xff\xfe\x00\n\n"],
)
async def test_a_cut_or_foreign_opening_is_closed_without_a_command(
    ivr_server: IvrServer, opening: bytes
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", ivr_server.port)
    writer.write(opening)
    writer.write_eof()
    async with asyncio.timeout(5):
        assert await reader.read() == b""
    writer.close()


async def test_when_the_ivr_fails_mid_session_the_dialplan_still_has_the_fallback_queue(
    ivr_server: IvrServer, customers: FakeCustomers, completed: Subscription
) -> None:
    customers.failure = RuntimeError("the CRM adapter has a bug")
    asterisk = AsteriskScript(environment())
    commands = await asterisk.call(ivr_server.port)
    assert commands == ["SET VARIABLE HOTLINE_QUEUE support", "GET VARIABLE CHANNEL(linkedid)"]
    assert asterisk.set_variables == {"HOTLINE_QUEUE": "support"}
    event = await next_event(completed)
    assert (event.outcome, event.queue) == (IvrOutcome.FAILED, "support")


async def test_an_unavailable_crm_does_not_stop_the_menu(
    ivr_server: IvrServer, customers: FakeCustomers, completed: Subscription
) -> None:
    customers.failure = LookupUnavailable("database restarting")
    await AsteriskScript(environment(), digits=["2"]).call(ivr_server.port)
    event = await next_event(completed)
    assert (event.outcome, event.queue, event.customer_id) == (IvrOutcome.QUEUED, "sales", None)


async def test_a_crm_that_does_not_answer_in_time_counts_as_unavailable(
    menus_dir: Path, make_server: Callable[..., Any], customers: FakeCustomers, completed: Subscription
) -> None:
    server = await make_server(menus_dir, command_timeout_s=0.2, lookup_timeout_s=0.1)
    never = asyncio.Event()

    async def find_caller(number: str) -> None:
        await never.wait()

    customers.find_caller = find_caller  # type: ignore[method-assign]
    await AsteriskScript(environment(), digits=["2"]).call(server.port)
    event = await next_event(completed)
    assert (event.outcome, event.queue, event.customer_id) == (IvrOutcome.QUEUED, "sales", None)


async def test_a_number_without_a_menu_goes_to_the_default_queue(
    ivr_server: IvrServer, completed: Subscription
) -> None:
    commands = await AsteriskScript(environment(dialed="4008999999")).call(ivr_server.port)
    assert commands == ["SET VARIABLE HOTLINE_QUEUE support"]
    event = await next_event(completed)
    assert (event.outcome, event.dialed) == (IvrOutcome.NO_MENU, "4008999999")


async def test_the_call_id_is_the_linkedid_of_the_call(
    ivr_server: IvrServer, completed: Subscription
) -> None:
    asterisk = AsteriskScript(environment(uniqueid="1795416380.156"), digits=["1"])
    asterisk.variables["CHANNEL(linkedid)"] = "1795416380.155"
    await asterisk.call(ivr_server.port)
    assert (await next_event(completed)).call_id == "1795416380.155"


async def test_the_hotline_menu_looks_up_a_ticket_and_publishes_the_path(
    tmp_path: Path, make_server: Callable[..., Any], customers: FakeCustomers, completed: Subscription
) -> None:
    menus = tmp_path / "hotline"
    menus.mkdir()
    (menus / "4008123456.yaml").write_bytes((REPO_MENUS / "4008123456.yaml").read_bytes())
    server = await make_server(menus)
    customers.callers["13800131000"] = CallerRecord("C-7", "Chen Jing", segment="retail")
    customers.tickets["20261123"] = TicketStatus("20261123", "resolved")
    asterisk = AsteriskScript(environment(), digits=["", "1", "20261123", "0"])
    commands = await asterisk.call(server.port)
    assert "SAY DIGITS" not in " ".join(commands)  # Mandarin: digits are our prompts
    assert 'STREAM FILE /var/lib/hotline/prompts/4008123456/zh/ticket-resolved ""' in commands
    assert ("ticket", "20261123") in customers.asked
    event = await next_event(completed)
    assert event.customer_id == "C-7"
    assert event.language == "zh"
    assert PathEntry("ticket_lookup", "lookup", "20261123", "resolved") in event.path
    assert asterisk.set_variables["QUEUE_PRIO"] == "0"


async def test_a_callback_request_is_published_for_the_acd(
    tmp_path: Path, make_server: Callable[..., Any], completed: Subscription
) -> None:
    menus = tmp_path / "hotline"
    menus.mkdir()
    (menus / "4008123456.yaml").write_bytes((REPO_MENUS / "4008123456.yaml").read_bytes())
    server = await make_server(menus)
    asterisk = AsteriskScript(environment(), digits=["", "4"])
    commands = await asterisk.call(server.port)
    assert commands[-1] == "HANGUP"
    done = await next_event(completed)
    callback = await next_event(completed)
    assert done.outcome is IvrOutcome.CALLBACK
    assert isinstance(callback, CallbackRequested)
    assert (callback.number, callback.queue, callback.call_id) == ("13800131000", "support", done.call_id)


async def test_stopping_the_server_cuts_a_stalled_session_short(
    menus_dir: Path, make_server: Callable[..., Any], completed: Subscription
) -> None:
    server = await make_server(menus_dir, command_timeout_s=60.0)
    asterisk = AsteriskScript(environment(), stall_on="STREAM FILE")
    call = asyncio.create_task(asterisk.call(server.port))
    async with asyncio.timeout(5):
        await asterisk.stalled.wait()
    await server.stop(grace_s=0.05)
    commands = await call
    assert commands[-1].startswith("STREAM FILE")
    assert (await next_event(completed)).queue == "support"


async def test_the_server_is_built_from_the_settings_with_absolute_prompt_paths(
    menus_dir: Path, bus: EventBus, customers: FakeCustomers, tmp_path: Path, completed: Subscription
) -> None:
    settings = load_settings(
        environ={
            "HOTLINE_AGI_PORT": "0",
            "HOTLINE_AGI_PROMPTS_DIR": "var/prompts",
            "HOTLINE_DATA_DIR": str(tmp_path / "data"),
            "HOTLINE_AGI_COMMAND_TIMEOUT_S": "3",
        }
    )
    registry = MenuRegistry(menus_dir)
    registry.load()
    server = IvrServer.from_settings(settings, registry=registry, bus=bus, customers=customers)
    await server.start()
    try:
        commands = await AsteriskScript(environment(), digits=["1"]).call(server.port)
    finally:
        await server.stop()
    welcome = commands[2].split()[2]
    assert Path(welcome).is_absolute()
    assert welcome.endswith("var/prompts/4008123456/en/welcome")
    assert (await next_event(completed)).outcome is IvrOutcome.QUEUED
