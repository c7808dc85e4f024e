"""``hotline replay FILE`` through the real command line entry point."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.commands import replay as replay_command

EXPECTED = Path(__file__).parent / "expected"


def printed(capsys: pytest.CaptureFixture[str]) -> tuple[list[dict], str]:
    out, err = capsys.readouterr()
    return [json.loads(line) for line in out.splitlines()], err


def expected(name: str) -> list[dict]:
    return [json.loads(line) for line in (EXPECTED / f"{name}.jsonl").read_text().splitlines()]


def test_replay_of_a_transcript_prints_its_domain_events(transcripts: Path, capsys) -> None:
    status = main(["replay", str(transcripts / "01-inbound-answered/01.ami")])
    events, err = printed(capsys)
    assert status == 0
    assert err == ""
    assert events == expected("01-inbound-answered")
    answered = next(e for e in events if e["event"] == "CallAnswered")
    assert answered == {
        "event": "CallAnswered",
        "call_id": "1795416380.155",
        "at": "2026-11-23T06:46:24.668943+00:00",
        "agent": "PJSIP/1001",
        "queue": "support",
        "wait_seconds": 1.0,
        "agent_channel": "PJSIP/1001-0000009b",
        "ring_seconds": 1.0,
    }


def test_replay_reads_standard_input_in_small_chunks(transcripts: Path, capsys, monkeypatch) -> None:
    data = (transcripts / "13-recording-control/13.ami").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    monkeypatch.setattr(replay_command, "CHUNK_BYTES", 7)
    status = main(["replay", "-"])
    events, err = printed(capsys)
    assert status == 0
    assert err == ""
    assert events == expected("13-recording-control")


def test_malformed_message_is_reported_with_its_offset_and_the_rest_still_replays(
    transcripts: Path, capsys, tmp_path: Path
) -> None:
    data = (transcripts / "02-abandoned/02.ami").read_bytes()
    cut = data.index(b"Event: Newchannel")
    garbage = b"this is not a header\r\nneither is this\r\n\r\n"
    capture = tmp_path / "broken.ami"
    capture.write_bytes(data[:cut] + garbage + data[cut:])
    status = main(["replay", str(capture)])
    events, err = printed(capsys)
    assert status == 0
    assert f"malformed message at byte {cut}" in err
    assert "neither Event nor Response" in err and "this is not" not in err  # the reason, not the bytes
    assert [e["event"] for e in events] == [e["event"] for e in expected("02-abandoned")]


def test_capture_cut_short_still_gives_its_last_complete_message(capsys, tmp_path: Path) -> None:
    capture = tmp_path / "cut.ami"
    capture.write_bytes(
        b"Asterisk Call Manager/11.0.0\r\n"
        b"Event: Newchannel\r\nChannel: PJSIP/trunk-1\r\nChannelState: 4\r\nUniqueid: 7.1\r\n"
        b"Linkedid: 7.1\r\nTimestamp: 1795416380.5\r\nCallerIDNum: 13800131000\r\n"
    )
    assert main(["replay", str(capture)]) == 0
    events, _ = printed(capsys)
    assert [(e["event"], e["call_id"], e["at"]) for e in events] == [
        ("CallOffered", "7.1", "2026-11-23T06:46:20.500000+00:00")
    ]


def test_missing_file_is_a_clear_error(capsys, tmp_path: Path) -> None:
    status = main(["replay", str(tmp_path / "nope.ami")])
    out, err = capsys.readouterr()
    assert status == 1
    assert out == ""
    assert "cannot read" in err and "nope.ami" in err


def test_enums_print_as_values_and_tuples_as_lists(capsys, tmp_path: Path) -> None:
    capture = tmp_path / "member.ami"
    capture.write_bytes(
        b"Asterisk Call Manager/11.0.0\r\n"
        b"Event: QueueMemberPause\r\nTimestamp: 1795415638.457668\r\nQueue: support\r\n"
        b"MemberName: Agent 1002\r\nInterface: PJSIP/1002\r\nStatus: 1\r\n"
        b"Paused: 1\r\nPausedReason: lunch\r\n\r\n"
    )
    assert main(["replay", str(capture)]) == 0
    events, _ = printed(capsys)
    assert events == [
        {
            "event": "MemberStatusChanged",
            "at": "2026-11-23T06:33:58.457668+00:00",
            "queue": "support",
            "interface": "PJSIP/1002",
            "member_name": "Agent 1002",
            "change": "added",
            "paused": True,
            "reason": "lunch",
            "device_state": "NOT_INUSE",
            "server": "",
        }
    ]
