"""The fixes to panoramisk's FastAGI application, each shown against the stock behaviour."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from panoramisk import fast_agi

from ivr.agi_application import AgiRequest, FastAgiApplication
from ivr.errors import AgiCommandRejected, AgiHangup, AgiProtocolError, AgiTimeout

ENVIRONMENT = b"agi_network: yes\nagi_network_script: test\nagi_uniqueid: 1.1\n\n"


@pytest.fixture
async def agi_app() -> AsyncIterator[tuple[FastAgiApplication, int, list[Any]]]:
    app = FastAgiApplication(command_timeout_s=0.5)
    app.start()
    outcomes: list[Any] = []
    server = await asyncio.start_server(app.handler, "127.0.0.1", 0)
    yield app, server.sockets[0].getsockname()[1], outcomes
    server.close()
    await server.wait_closed()
    await app.close()


async def converse(port: int, replies: bytes, environment: bytes = ENVIRONMENT) -> bytes:
    """Send the environment and the reply bytes; everything Hotline wrote until it closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(environment + replies)
    writer.write_eof()
    async with asyncio.timeout(5):
        written = await reader.read()
    writer.close()
    return written


def route(outcomes: list[Any], *commands: str) -> Callable[[AgiRequest], Awaitable[None]]:
    async def run(request: AgiRequest) -> None:
        for command in commands:
            try:
                outcomes.append(await request.send_command(command))
            except Exception as exc:
                outcomes.append(exc)
                return

    return run


def test_stock_panoramisk_cannot_route_a_plain_function_on_python_3_11() -> None:
    stock = fast_agi.Application(loop=asyncio.new_event_loop())
    with pytest.raises(AttributeError, match="coroutine"):
        stock.add_route("ivr", lambda request: None)


async def test_a_plain_function_can_be_a_route(agi_app: tuple[FastAgiApplication, int, list[Any]]) -> None:
    app, port, outcomes = agi_app
    app.add_route("test", lambda request: outcomes.append(request.headers["agi_uniqueid"]))
    await converse(port, b"")
    assert outcomes == ["1.1"]


async def test_a_trying_line_is_skipped_for_the_real_reply(
    agi_app: tuple[FastAgiApplication, int, list[Any]],
) -> None:
    app, port, outcomes = agi_app
    app.add_route("test", route(outcomes, "EXEC Playback x"))
    await converse(port, b"100 result=0 Trying...\n200 result=0\n")
    assert outcomes[0].result == "0"


async def test_a_usage_error_is_read_to_its_end_so_the_next_reply_stays_in_step(
    agi_app: tuple[FastAgiApplication, int, list[Any]],
) -> None:
    app, port, outcomes = agi_app

    async def run(request: AgiRequest) -> None:
        with pytest.raises(AgiCommandRejected, match="Usage: GET DATA"):
            await request.send_command("GET DATA")
        outcomes.append(await request.send_command("GET VARIABLE X"))

    app.add_route("test", run)
    usage = (
        b"520-Invalid command syntax.  Proper usage follows:\n"
        b"Usage: GET DATA <file>\nmore\n520 End of proper usage.\n"
    )
    await converse(port, usage + b"200 result=1 (value)\n")
    assert outcomes[0].data == "value"


async def test_hangup_dead_channel_and_eof_are_all_a_hang_up(
    agi_app: tuple[FastAgiApplication, int, list[Any]],
) -> None:
    app, port, outcomes = agi_app
    app.add_route("test", route(outcomes, 'STREAM FILE x ""', "GET DATA y 5000 1"))
    await converse(port, b"200 result=-1 endpos=4160\nHANGUP\n")
    assert outcomes[0].failed
    assert isinstance(outcomes[1], AgiHangup)
    outcomes.clear()
    await converse(port, b"511 Command Not Permitted on a dead channel or intercepted channel\n")
    assert isinstance(outcomes[0], AgiHangup)
    outcomes.clear()
    await converse(port, b"200 resu")
    assert isinstance(outcomes[0], AgiHangup)


async def test_no_reply_within_the_command_timeout_raises_a_timeout(
    agi_app: tuple[FastAgiApplication, int, list[Any]],
) -> None:
    app, port, outcomes = agi_app
    app.add_route("test", route(outcomes, "ANSWER"))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(ENVIRONMENT)
    async with asyncio.timeout(5):
        assert await reader.read() == b"ANSWER\n"  # then Hotline gives up and closes
    writer.close()
    assert isinstance(outcomes[0], AgiTimeout)


async def test_garbage_is_a_protocol_error(agi_app: tuple[FastAgiApplication, int, list[Any]]) -> None:
    app, port, outcomes = agi_app
    app.add_route("test", route(outcomes, "ANSWER"))
    await converse(port, b"\x00\xff\xfe garbage\n")
    assert isinstance(outcomes[0], AgiProtocolError)


async def test_nothing_after_the_empty_line_is_taken_as_environment(
    agi_app: tuple[FastAgiApplication, int, list[Any]],
) -> None:
    app, port, outcomes = agi_app
    app.add_route("test", route(outcomes, "ANSWER"))
    # Stock panoramisk reads 100-byte chunks and keeps whatever followed the empty line in
    # its header buffer, so a reply that arrives with the environment is lost.
    await converse(port, b"200 result=0\n")
    assert outcomes[0].result == "0"


async def test_an_unknown_route_closes_the_connection(
    agi_app: tuple[FastAgiApplication, int, list[Any]],
) -> None:
    _, port, _ = agi_app
    assert await converse(port, b"") == b""


async def test_sessions_over_the_limit_are_closed_at_once_so_the_dialplan_falls_back() -> None:
    app = FastAgiApplication(command_timeout_s=0.5, max_sessions=0)
    app.add_route("test", lambda request: None)
    server = await asyncio.start_server(app.handler, "127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        async with asyncio.timeout(5):
            assert await reader.read() == b""  # closed before Asterisk even sent its environment
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
