"""Asterisk's side of FastAGI: connect to ``agi://host:port/script``, send the agi_* environment,
run each command the server sends, and answer ``200 result=…`` the way res_agi does."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cti.simulator.legs import Leg, first_of

if TYPE_CHECKING:
    from cti.simulator.core import SwitchSimulator

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2.0
# A command that never gets a reply does not hold a simulated channel forever.
READ_TIMEOUT_S = 30.0
MAX_LINE = 8192
SAMPLE_RATE = 8000
SAY_DIGIT_S = 0.6  # SAY DIGITS / SAY NUMBER play about one sound file of this length a digit


class AgiHangup(Exception):
    """The caller hung up while a command ran."""


async def run_agi(
    sim: SwitchSimulator, leg: Leg, url: str, *, args: tuple[str, ...] = (), dead: bool = False
) -> str:
    """Run the AGI application; returns AGISTATUS: SUCCESS, FAILURE or HANGUP. ``args`` are
    AGI()'s arguments after the URL (agi_arg_1…); ``dead``: run from an h extension on a channel
    already hung up, where only commands that need no audio are permitted (res_agi's dead AGI)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 4573
    try:
        with sim.clock.busy():
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                reader, writer = await asyncio.open_connection(host, port, limit=MAX_LINE)
    except (OSError, TimeoutError) as exc:
        # Said once per simulator: with Hotline's IVR down every call takes this path.
        sim.agi_failures += 1
        level = logging.WARNING if sim.agi_failures == 1 else logging.DEBUG
        log.log(level, "fastagi_unreachable", extra={"kv": {"url": url, "error": type(exc).__name__}})
        return "FAILURE"
    try:
        writer.write(_environment(sim, leg, url, parts.path.lstrip("/"), args))
        return await _conversation(sim, leg, reader, writer, dead)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def run_agi_within(
    sim: SwitchSimulator, leg: Leg, url: str, limit_s: float, *, args: tuple[str, ...] = ()
) -> str:
    """AGI(), ended by TIMEOUT(absolute) if it runs past ``limit_s``: returns STALLED then."""
    agi = asyncio.ensure_future(run_agi(sim, leg, url, args=args))
    limit = sim.clock.timer(limit_s)
    try:
        await first_of(agi, limit)
    finally:
        limit.cancel()
        if not agi.done():
            agi.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await agi
    return "STALLED" if agi.cancelled() else agi.result()


def _environment(sim: SwitchSimulator, leg: Leg, url: str, script: str, args: tuple[str, ...]) -> bytes:
    channel = leg.channel
    env = [
        ("agi_network", "yes"),
        ("agi_network_script", script),
        ("agi_request", url),
        ("agi_channel", channel.name),
        ("agi_language", channel.language),
        ("agi_type", channel.name.partition("/")[0]),
        ("agi_uniqueid", channel.uniqueid),
        ("agi_version", "22.10.1"),
        ("agi_callerid", channel.caller_num or "unknown"),
        ("agi_calleridname", channel.caller_name or "unknown"),
        ("agi_callingpres", "0"),
        ("agi_callingani2", "0"),
        ("agi_callington", "0"),
        ("agi_callingtns", "0"),
        # CALLERID(dnid): the number the caller dialed, kept wherever the channel goes next.
        ("agi_dnid", channel.variables.get("CALLERID(dnid)", channel.exten)),
        ("agi_rdnis", "unknown"),
        ("agi_context", channel.context),
        ("agi_extension", channel.exten),
        ("agi_priority", str(channel.priority)),
        ("agi_enhanced", "0.0"),
        ("agi_accountcode", channel.account_code),
        ("agi_threadid", sim.numbering.command_id()),
        *((f"agi_arg_{index}", arg) for index, arg in enumerate(args, 1)),
    ]
    return ("".join(f"{k}: {v}\n" for k, v in env) + "\n").encode()


async def _read_line(sim: SwitchSimulator, reader: asyncio.StreamReader) -> str | None:
    with sim.clock.busy():
        try:
            async with asyncio.timeout(READ_TIMEOUT_S):
                line = await reader.readline()
        except (TimeoutError, ValueError, OSError):
            return None
    if not line:
        return None
    return line.decode("utf-8", "replace").rstrip("\r\n")


async def _conversation(
    sim: SwitchSimulator,
    leg: Leg,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    dead: bool = False,
) -> str:
    channel = leg.channel
    while True:
        if leg.gone.done() and not dead:
            return "HANGUP"
        line = await _read_line(sim, reader)
        if line is None:
            return "SUCCESS"
        if not line.strip():
            continue
        command_id = sim.numbering.command_id()
        sim.channel_event("AGIExecStart", channel, [("CommandId", command_id), ("Command", line)], "agi,all")
        try:
            reply = _dead_reply(line) if dead else None
            reply = reply or await _execute(sim, leg, line)
        except AgiHangup as hangup:
            writer.write(f"200 result=-1{hangup.args[0] if hangup.args else ''}\n".encode())
            writer.write(b"HANGUP\n")
            sim.channel_event(
                "AGIExecEnd",
                channel,
                [("CommandId", command_id), ("Command", line), ("ResultCode", "-1"), ("Result", "Failure")],
                "agi,all",
            )
            return "HANGUP"
        writer.write(f"{reply}\n".encode())
        code = reply.partition(" ")[0]
        sim.channel_event(
            "AGIExecEnd",
            channel,
            [
                ("CommandId", command_id),
                ("Command", line),
                ("ResultCode", code),
                ("Result", "Success" if code == "200" else "Failure"),
            ],
            "agi,all",
        )


_DEAD_PERMITTED = ("GET VARIABLE", "GET FULL", "SET VARIABLE", "VERBOSE", "NOOP")


def _dead_reply(line: str) -> str | None:
    """res_agi on a hung-up channel: commands that need the channel's audio are refused."""
    if line.upper().startswith(_DEAD_PERMITTED):
        return None
    return "511 Command Not Permitted on a dead channel or intercept routine"


async def _play(sim: SwitchSimulator, leg: Leg, seconds: float, stop_on_digit: bool) -> tuple[int, str]:
    """Play a prompt; returns (samples played, digit that interrupted it or '')."""
    start = sim.clock.time()
    timer = sim.clock.timer(seconds)
    waiter = None
    if stop_on_digit:
        waiter = asyncio.get_running_loop().create_future()
        leg.digit_waiter = waiter
    try:
        await first_of(timer, leg.gone, waiter)
    finally:
        timer.cancel()
        leg.digit_waiter = None
    played = int((sim.clock.time() - start) * SAMPLE_RATE)
    if leg.gone.done():
        raise AgiHangup(f" endpos={played}")
    digit = waiter.result() if waiter is not None and waiter.done() else ""
    return played, digit


async def _execute(sim: SwitchSimulator, leg: Leg, line: str) -> str:
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    verb = " ".join(words[:2]).upper() if len(words) >= 2 else line.upper()
    args = words[2:]
    channel = leg.channel
    if verb == "STREAM FILE":
        seconds = sim.prompt_seconds(args[0] if args else "")
        try:
            played, digit = await _play(sim, leg, seconds, stop_on_digit=len(args) > 1 and bool(args[1]))
        except AgiHangup:
            sim.varset(channel, "PLAYBACKSTATUS", "FAILED")
            raise
        # res_agi: a digit that stops the prompt is a result other than 0, hence FAILED.
        sim.varset(channel, "PLAYBACKSTATUS", "FAILED" if digit else "SUCCESS")
        return f"200 result={ord(digit) if digit else 0} endpos={played}"
    if verb in ("SAY DIGITS", "SAY NUMBER") and args:
        # res_agi: "200 result=0", or the code of an escape digit that stopped it; no endpos.
        try:
            _, digit = await _play(
                sim, leg, SAY_DIGIT_S * len(args[0]), stop_on_digit=len(args) > 1 and bool(args[1])
            )
        except AgiHangup:
            raise AgiHangup("") from None
        return f"200 result={ord(digit) if digit else 0}"
    if verb == "GET DATA":
        prompt = args[0] if args else ""
        timeout_s = int(args[1]) / 1000 if len(args) > 1 and args[1].isdigit() else 5.0
        max_digits = int(args[2]) if len(args) > 2 and args[2].isdigit() else 1
        return await _get_data(sim, leg, prompt, timeout_s, max_digits)
    if verb == "SET VARIABLE" and len(args) >= 2:
        if args[0] == "CHANNEL(language)":
            channel.language = args[1]  # a dialplan function: no VarSet
        else:
            sim.varset(channel, args[0], args[1])
        return "200 result=1"
    if verb == "GET VARIABLE" and args:
        value = sim.channel_variable(channel, args[0])
        return "200 result=0" if value is None else f"200 result=1 ({value})"
    if words and words[0].upper() in ("VERBOSE", "NOOP"):
        return "200 result=1" if words[0].upper() == "VERBOSE" else "200 result=0"
    if words and words[0].upper() == "ANSWER":
        return "200 result=0"
    if words and words[0].upper() == "HANGUP":
        leg.hang_up(16, by_action=True)
        return "200 result=1"
    if words and words[0].upper() == "EXEC":
        return "200 result=0"
    return "510 Invalid or unknown command"


async def _get_data(sim: SwitchSimulator, leg: Leg, prompt: str, timeout_s: float, max_digits: int) -> str:
    digits = ""
    seconds = sim.prompt_seconds(prompt) + timeout_s
    while len(digits) < max_digits:
        _, digit = await _play(sim, leg, seconds, stop_on_digit=True)
        if digit == "#":
            # ast_app_getdata reads with "#" as the ender: it ends the entry and is not kept.
            return f"200 result={digits}"
        if not digit:
            break
        digits += digit
        seconds = timeout_s
    return f"200 result={digits}" + ("" if digits else " (timeout)")
