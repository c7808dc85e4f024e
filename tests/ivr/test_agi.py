"""The AGI protocol without a socket: Asterisk 22's replies and environment as captured."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.agi import ReplyKind, command_line, parse_environment, parse_environment_block, parse_reply, quote
from ivr.errors import AgiProtocolError
from tests.ivr.asterisk import environment_blocks, transcript_lines

CAPTURED = [
    "01-inbound-answered/01.agi",
    "02-abandoned/02.agi",
    "06-hangup-in-ivr/06.agi",
    "09-ami-reconnect/09.agi",
]


@pytest.mark.parametrize("name", CAPTURED)
def test_the_captured_environment_gives_channel_caller_dialed_and_uniqueid(
    transcripts: Path, name: str
) -> None:
    env = parse_environment(environment_blocks(transcripts / name)[0])
    assert env.script == "ivr"
    assert env.channel.startswith("PJSIP/trunk-")
    assert env.caller == "13800131000"
    assert env.dialed == "4008123456"
    assert env.get("agi_accountcode") == ""
    assert env.uniqueid.count(".") == 1


def test_every_reply_line_in_the_transcripts_parses(transcripts: Path) -> None:
    seen = 0
    for path in transcripts.glob("*/*.agi"):
        for body in transcript_lines(path):
            if body.startswith("<< ") and not body.startswith("<< agi_") and body != "<< ":
                parse_reply(body[3:])
                seen += 1
    assert seen > 30


@pytest.mark.parametrize(
    ("line", "kind", "result", "data", "extra"),
    [
        ("200 result=0 endpos=11921", ReplyKind.RESULT, "0", "", {"endpos": "11921"}),
        ("200 result=1", ReplyKind.RESULT, "1", "", {}),
        ("200 result=1 (13800131000)", ReplyKind.RESULT, "1", "13800131000", {}),
        ("200 result=1 (Wang (VIP) Fang)", ReplyKind.RESULT, "1", "Wang (VIP) Fang", {}),
        ("200 result= (timeout)", ReplyKind.RESULT, "", "timeout", {}),
        ("200 result=12 (timeout)", ReplyKind.RESULT, "12", "timeout", {}),
        ("200 result=", ReplyKind.RESULT, "", "", {}),
        ("200 result=-1 endpos=4160", ReplyKind.RESULT, "-1", "", {"endpos": "4160"}),
        ("200 result=0 (timeout) endpos=24000", ReplyKind.RESULT, "0", "timeout", {"endpos": "24000"}),
        ("100 result=0 Trying...", ReplyKind.TRYING, "", "", {}),
        ("510 Invalid or unknown command", ReplyKind.INVALID, "", "", {}),
        (
            "511 Command Not Permitted on a dead channel or intercepted channel",
            ReplyKind.DEAD_CHANNEL,
            "",
            "",
            {},
        ),
        ("HANGUP", ReplyKind.HANGUP, "", "", {}),
    ],
)
def test_reply_lines(line: str, kind: ReplyKind, result: str, data: str, extra: dict[str, str]) -> None:
    reply = parse_reply(line)
    assert (reply.kind, reply.result, reply.data, dict(reply.extra)) == (kind, result, data, extra)


def test_a_failed_command_is_result_minus_one() -> None:
    assert parse_reply("200 result=-1 endpos=4160").failed
    assert not parse_reply("200 result=0 endpos=4160").failed


def test_a_usage_block_says_more_lines_follow() -> None:
    assert parse_reply("520-Invalid command syntax.  Proper usage follows:").continues
    assert not parse_reply("520 End of proper usage.").continues


@pytest.mark.parametrize(
    "line", ["", "garbage", "200", "200 ok", "2000 result=1", "abc result=1", "999 what", "200 result=1 (x"]
)
def test_lines_that_are_not_agi_replies_raise_a_protocol_error(line: str) -> None:
    with pytest.raises(AgiProtocolError):
        parse_reply(line)


@given(st.text(max_size=200))
def test_any_text_either_parses_or_raises_a_protocol_error(line: str) -> None:
    with contextlib.suppress(AgiProtocolError):
        parse_reply(line)


@given(st.lists(st.text(max_size=80), max_size=30))
def test_any_environment_either_parses_or_raises_a_protocol_error(lines: list[str]) -> None:
    with contextlib.suppress(AgiProtocolError):
        parse_environment(lines)


def test_an_environment_line_that_is_not_agi_is_refused() -> None:
    with pytest.raises(AgiProtocolError, match="not an AGI environment line"):
        parse_environment(["GET / HTTP/1.1"])
    with pytest.raises(AgiProtocolError, match="not an AGI environment line: 'Host: x'"):
        parse_environment_block("agi_network: yes\nHost: x\n\n")


def test_the_environment_block_parses_like_its_lines(transcripts: Path) -> None:
    lines = environment_blocks(transcripts / "01-inbound-answered/01.agi")[0]
    block = "\n".join(lines) + "\n\n"
    assert parse_environment_block(block) == parse_environment(lines)


@given(st.text(max_size=300))
def test_any_environment_block_either_parses_or_raises_a_protocol_error(text: str) -> None:
    with contextlib.suppress(AgiProtocolError):
        parse_environment_block(text)


def test_arguments_are_quoted_when_empty_or_spaced_and_line_ends_are_refused() -> None:
    assert quote("") == '""'
    assert quote("hotline-welcome") == "hotline-welcome"
    assert quote('say "hi" now') == '"say \\"hi\\" now"'
    assert command_line("GET DATA", "menu", "5000", "1") == b"GET DATA menu 5000 1\n"
    with pytest.raises(ValueError, match="line ends"):
        command_line("SET VARIABLE", "X", "a\nHANGUP")


def test_the_agi_arguments_are_read_in_order() -> None:
    env = parse_environment(["agi_arg_1: a", "agi_arg_2: b c", "agi_network_script: ivr"])
    assert env.args == ("a", "b c")
