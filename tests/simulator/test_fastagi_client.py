"""The simulator's FastAGI side against servers that misbehave."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from cti.ami_protocol import first
from cti.simulator import CallerScript
from tests.simulator.helpers import rig

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def agi_server(handler: Handler) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, f"agi://127.0.0.1:{server.sockets[0].getsockname()[1]}/ivr"


async def read_environment(reader: asyncio.StreamReader) -> dict[str, str]:
    env = {}
    while line := (await reader.readline()).decode().rstrip("\n"):
        key, _, value = line.partition(": ")
        env[key] = value
    return env


async def test_the_environment_block_names_the_channel_and_ends_with_an_empty_line() -> None:
    seen: dict[str, str] = {}

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.update(await read_environment(reader))
        writer.close()

    server, url = await agi_server(handler)
    async with rig(agi_url=url) as r:
        call = r.sim.place_call(CallerScript(caller="13900000000", hangup_after_s=2.0))
        await call.done
        assert seen["agi_request"] == url
        assert seen["agi_network_script"] == "ivr"
        assert seen["agi_callerid"] == "13900000000"
        assert seen["agi_uniqueid"] == call.uniqueid
        assert seen["agi_priority"] == "4"
        assert call.agi_status == "SUCCESS"
    server.close()


async def test_get_data_returns_the_digits_pressed_and_an_empty_result_on_timeout() -> None:
    replies: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_environment(reader)
        for command in ("GET DATA menu 3000 1", "GET DATA menu 3000 1"):
            writer.write(f"{command}\n".encode())
            replies.append((await reader.readline()).decode().strip())
        writer.close()

    server, url = await agi_server(handler)
    async with rig(agi_url=url) as r:
        call = r.sim.place_call(CallerScript(digits="2", digits_after_s=1.0, hangup_after_s=30.0))
        await r.clock.sleep(12.0)
        assert replies == ["200 result=2", "200 result= (timeout)"]
        await call.done
    server.close()


async def test_say_digits_and_say_number_are_spoken_and_answer_as_asterisk_does() -> None:
    # The IVR reads a ticket's number back with SAY DIGITS (ivr/steps.py); res_agi answers
    # "200 result=0", or the code of an escape digit that cut it short.
    replies: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_environment(reader)
        for command in ('SAY DIGITS 261205000023 ""', 'SAY NUMBER 42 ""', 'SAY DIGITS 2612050 "#"'):
            writer.write(f"{command}\n".encode())
            replies.append((await reader.readline()).decode().strip())
        writer.close()

    server, url = await agi_server(handler)
    async with rig(agi_url=url) as r:
        call = r.sim.place_call(CallerScript(digits="#", digits_after_s=10.0, hangup_after_s=30.0))
        await r.clock.sleep(15.0)
        assert replies == ["200 result=0", "200 result=0", f"200 result={ord('#')}"]
        await call.done
    server.close()


async def test_a_hangup_during_a_command_answers_minus_one_then_hangup() -> None:
    lines: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_environment(reader)
        writer.write(b'STREAM FILE long-prompt ""\n')
        lines.append((await reader.readline()).decode().strip())
        lines.append((await reader.readline()).decode().strip())
        writer.close()

    server, url = await agi_server(handler)
    async with rig(agi_url=url) as r:
        r.sim.prompt_lengths["long-prompt"] = 10.0
        call = r.sim.place_call(CallerScript(digits="", hangup_after_s=0.5))
        await call.done
        assert lines == ["200 result=-1 endpos=4000", "HANGUP"]
        assert call.agi_status == "HANGUP"
        await r.ami.sync()
        statuses = [first(m, "Value") for m in r.ami.events("VarSet") if first(m, "Variable") == "AGISTATUS"]
        assert statuses == ["HANGUP"]
    server.close()


async def test_garbage_from_the_server_is_answered_510_and_the_call_goes_on() -> None:
    replies: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_environment(reader)
        writer.write(b"\xff\xfe NOT A COMMAND\n")
        replies.append((await reader.readline()).decode().strip())
        writer.write(b"SET VARIABLE HOTLINE_QUEUE sales\n")
        replies.append((await reader.readline()).decode().strip())
        writer.close()

    server, url = await agi_server(handler)
    async with rig(agi_url=url) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=5.0))
        await call.done
        assert replies == ["510 Invalid or unknown command", "200 result=1"]
        assert call.queue == "sales"
    server.close()


async def test_an_unreachable_fastagi_server_sends_the_call_to_the_queue() -> None:
    async with rig() as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=5.0))
        await call.done
        assert call.agi_status == "FAILURE"
        assert call.queued is not None and call.abandoned
