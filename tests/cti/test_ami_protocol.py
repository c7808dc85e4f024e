from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.ami_protocol import ActionFieldError, AmiParser, EventFilter, format_action

GOOD = b"Event: Hangup\r\nChannel: PJSIP/1001-00000001\r\nCause: 16\r\n\r\n"


def parse_all(data: bytes, chunk: int | None = None) -> tuple[AmiParser, list[dict]]:
    parser = AmiParser()
    messages = []
    step = chunk or len(data) or 1
    for start in range(0, len(data), step):
        messages.extend(parser.feed(data[start : start + step]))
    return parser, messages


def jsonl_messages(path: Path) -> list[dict]:
    messages = [json.loads(line) for line in path.read_text().splitlines()]
    # The capture tool glued the banner (which has no blank line after it) to the first message.
    first = messages[0]
    for key in [k for k in first if k.startswith("Asterisk Call Manager/")]:
        del first[key]
    return messages


@pytest.mark.parametrize("ami_file", sorted(Path(__file__).parents[1].glob("transcripts/*/*.ami")), ids=str)
def test_every_transcript_parses_to_the_captured_messages(ami_file: Path) -> None:
    parser, messages = parse_all(ami_file.read_bytes())
    assert messages == jsonl_messages(ami_file.with_suffix(".jsonl"))
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    assert parser.version == "11.0.0"
    assert parser.malformed == []


def test_reads_split_at_every_byte_boundary_give_the_same_messages(transcripts: Path) -> None:
    data = (transcripts / "03-agent-states/03.ami").read_bytes()[:3000]
    _, whole = parse_all(data)
    for chunk in (1, 2, 3, 7, 64):
        _, split = parse_all(data, chunk)
        assert split == whole


def test_empty_last_header_is_kept() -> None:
    _, messages = parse_all(b"Event: QueueMemberStatus\r\nQueue: support\r\nPausedReason: \r\n\r\n")
    assert messages == [{"Event": "QueueMemberStatus", "Queue": "support", "PausedReason": ""}]


def test_repeated_headers_become_a_list_in_order() -> None:
    data = b"Response: Success\r\nOutput: a\r\nOutput: b\r\nOutput: \r\n\r\n"
    _, messages = parse_all(data, 5)
    assert messages == [{"Response": "Success", "Output": ["a", "b", ""]}]


def test_garbage_line_is_reported_with_its_offset_and_the_message_kept() -> None:
    data = GOOD + b"Event: Newstate\r\nthis is not a header\r\nChannel: x\r\n\r\n"
    parser, messages = parse_all(data)
    assert messages[1] == {"Event": "Newstate", "Channel": "x"}
    [bad] = parser.malformed
    assert bad.offset == len(GOOD)
    assert bad.reason == "not a header line"


def test_block_without_event_or_response_is_reported_and_skipped() -> None:
    data = b"Foo: bar\r\n\r\n" + GOOD
    parser, messages = parse_all(data)
    assert messages == [{"Event": "Hangup", "Channel": "PJSIP/1001-00000001", "Cause": "16"}]
    assert [m.offset for m in parser.malformed] == [0]


def test_stream_without_banner_is_parsed() -> None:
    parser, messages = parse_all(GOOD, 3)
    assert parser.banner is None
    assert len(messages) == 1


def test_oversized_message_is_dropped_and_the_next_one_parsed() -> None:
    parser = AmiParser(expect_banner=False)
    parser.feed(b"Event: Big\r\nData: " + b"x" * (1 << 21))
    assert [m.reason for m in parser.take_malformed()] == ["message too large"]
    assert parser.feed(b"\r\n\r\n" + GOOD)[-1]["Event"] == "Hangup"


@settings(max_examples=300, deadline=None)
@given(garbage=st.binary(max_size=300), chunk=st.integers(min_value=1, max_value=50))
def test_hostile_bytes_never_crash_and_never_hide_the_next_good_message(garbage: bytes, chunk: int) -> None:
    _, messages = parse_all(b"Asterisk Call Manager/11.0.0\r\n" + garbage + b"\r\n\r\n" + GOOD, chunk)
    assert messages[-1] == {"Event": "Hangup", "Channel": "PJSIP/1001-00000001", "Cause": "16"}


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True),
        st.text(
            alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=40
        ),
        max_size=8,
    )
)
def test_formatted_action_parses_back_to_its_fields(fields: dict[str, str]) -> None:
    fields.pop("Action", None)
    fields.pop("ActionID", None)
    data = format_action("Test", "id-1", fields)
    parser = AmiParser(expect_banner=False)
    # Actions have no Event/Response header; parse them as a Response for the round trip.
    [message] = parser.feed(b"Response: Echo\r\n" + data)
    assert message == {"Response": "Echo", "Action": "Test", "ActionID": "id-1", **fields}


def test_action_values_cannot_inject_a_second_action() -> None:
    with pytest.raises(ActionFieldError):
        format_action("Setvar", "1", {"Value": "x\r\n\r\nAction: Hangup"})


def test_filtered_parsing_keeps_the_wanted_events_and_every_answer_to_an_action() -> None:
    wanted = EventFilter(frozenset({"Hangup", "VarSet"}), frozenset({"AGISTATUS"}))
    data = (
        b"Event: Newexten\r\nChannel: a\r\n\r\n"
        b"Event: VarSet\r\nChannel: a\r\nVariable: RTPAUDIOQOS\r\nValue: x\r\n\r\n"
        b"Event: VarSet\r\nChannel: a\r\nVariable: AGISTATUS\r\nValue: SUCCESS\r\n\r\n"
        b"Event: QueueEntry\r\nActionID: q-1\r\nQueue: support\r\n\r\n"
        b"Response: Success\r\nActionID: p-1\r\n\r\n" + GOOD
    )
    [varset, entry, response, hangup] = AmiParser(expect_banner=False, wanted=wanted).feed(data)
    assert varset["Value"] == "SUCCESS"
    assert entry["Event"] == "QueueEntry"
    assert response["Response"] == "Success"
    assert hangup["Event"] == "Hangup"
