"""Callers who type: a menu choice, later a ticket number, digit after digit."""

from __future__ import annotations

import asyncio

from cti.ami_protocol import first
from cti.simulator import CallerScript
from tests.simulator.helpers import rig
from tests.simulator.test_fastagi_client import agi_server, read_environment


def test_the_digits_of_a_group_follow_each_other_as_a_person_types() -> None:
    script = CallerScript(presses=((1.0, "12"), (5.0, "3")))
    assert script.digit_times() == [(1.0, "1"), (1.25, "2"), (5.0, "3")]


def test_digits_and_digits_after_s_are_the_one_group_when_there_are_no_presses() -> None:
    assert CallerScript(digits="7", digits_after_s=2.0).digit_times() == [(2.0, "7")]
    assert CallerScript(digits="").digit_times() == []
    # presses replace the one group: the default digit is not pressed as well.
    assert CallerScript(presses=((4.0, "9"),)).digit_times() == [(4.0, "9")]


async def test_a_ticket_number_typed_after_a_menu_choice_reaches_one_get_data_whole() -> None:
    replies: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_environment(reader)
        for command in ("GET DATA menu 3000 1", "GET DATA ticket 3000 12"):
            writer.write(f"{command}\n".encode())
            replies.append((await reader.readline()).decode().strip())
        writer.close()

    server, url = await agi_server(handler)
    async with rig(agi_url=url) as r:
        script = CallerScript(presses=((1.0, "1"), (4.0, "261123000042")), hangup_after_s=20.0)
        call = r.sim.place_call(script)
        await call.done
        assert replies == ["200 result=1", "200 result=261123000042"]
    server.close()


async def test_hash_ends_a_get_data_early_and_is_not_part_of_the_digits() -> None:
    replies: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_environment(reader)
        writer.write(b"GET DATA ticket 8000 12\n")
        replies.append((await reader.readline()).decode().strip())
        writer.close()

    server, url = await agi_server(handler)
    async with rig(agi_url=url) as r:
        call = r.sim.place_call(CallerScript(presses=((0.5, "4711#"),), hangup_after_s=30.0))
        asked_at = r.clock.time()
        await call.done
        assert replies == ["200 result=4711"]
        # Ended by the hash (0.5 s + 4 gaps), not by the 8 s timeout after the last digit.
        assert call.queued is not None and call.queued - asked_at < 3.0
    server.close()


async def test_digits_pressed_while_nothing_reads_them_show_on_ami_and_are_dropped() -> None:
    replies: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_environment(reader)
        # A prompt that takes no digits plays while the caller types; the GET DATA comes after.
        for command in ('STREAM FILE greeting ""', "GET DATA menu 1000 2"):
            writer.write(f"{command}\n".encode())
            replies.append((await reader.readline()).decode().strip())
        writer.close()

    server, url = await agi_server(handler)
    async with rig(agi_url=url) as r:
        call = r.sim.place_call(CallerScript(presses=((0.5, "12"),), hangup_after_s=10.0))
        await call.done
        assert replies == ["200 result=0 endpos=12000", "200 result= (timeout)"]
        await r.ami.sync()
        assert [first(m, "Digit") for m in r.ami.events("DTMFEnd")] == ["1", "2"]
    server.close()
