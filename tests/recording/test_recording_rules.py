"""Pure parts: the recording policy, QA scoring, Range parsing and spool paths."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent_api.recordings.ranges import ByteRange, RangeNotSatisfiable, parse_range
from recording.errors import BadAnswers, BadForm, RecordingError, UnsafePath
from recording.policy import RecordFrom, dialplan_variables, policy_from_mapping
from recording.quality import form_from_mapping, load_forms, score
from recording.storage.paths import leg_paths, relative_path, safe_join

POLICY = """
default: {retention_days: 90}
rules:
  - {queue: complaints, retention_days: 730}
  - {queue: internal, record: false}
  - {number: "4008123999", split: true, from: start}
  - {queue: complaints, number: "13800138000", retention_days: 3650}
"""


def test_rules_override_the_default_and_a_number_rule_wins_over_a_queue_rule():
    policy = policy_from_mapping(yaml.safe_load(POLICY), retention_days=180)
    assert policy.plan(queue="support").retention_days == 90
    assert policy.plan(queue="complaints").retention_days == 730
    assert policy.plan(queue="internal").record is False
    hotline = policy.plan(queue="complaints", numbers=("13900000000", "4008123999"))
    assert (hotline.split, hotline.record_from, hotline.retention_days) == (True, RecordFrom.START, 730)
    assert policy.plan(queue="complaints", numbers=("13800138000",)).retention_days == 3650
    assert policy.plan(queue="sales", numbers=("13800138000",)).retention_days == 90
    assert dialplan_variables(hotline) == {
        "HOTLINE_RECORD": "yes",
        "HOTLINE_RECORD_FROM": "start",
        "HOTLINE_RECORD_SPLIT": "yes",
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rules": [{"retention_days": 5}]}, "names a queue or a number"),
        ({"rules": [{"queue": "a", "from": "ringing"}]}, "'answer' or 'start'"),
        ({"rules": [{"queue": "a", "retention_days": 0}]}, "at least 1"),
        ({"rules": [{"queue": "a", "record": "no"}]}, "true or false"),
        ({"default": {"queue": "a"}}, "unknown keys queue"),
        (["not", "a", "mapping"], "a mapping"),
    ],
)
def test_a_bad_policy_is_refused_with_the_rule_that_is_wrong(data, message):
    with pytest.raises(RecordingError, match=message):
        policy_from_mapping(data)


def test_the_standard_form_scores_weighted_sections_and_a_failed_critical_question_scores_zero():
    form = load_forms()["standard"]
    perfect = {"greeting": True, "identity": True, "understood": 5, "accurate": 5, "hold": True}
    perfect |= {"summary": True, "courtesy": 5}
    assert score(form, perfect).score == 100.0
    weak_close = score(form, {**perfect, "summary": False})
    assert weak_close.sections["Closing"] == 50.0
    assert weak_close.score == 90.0  # closing weighs 1 of 5
    no_identity = score(form, {**perfect, "identity": False})
    assert (no_identity.score, no_identity.failed_critical) == (0.0, ("identity",))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"greeting": 1}, "true or false"),
        ({"understood": 6}, "from 0 to 5"),
        ({"understood": True}, "from 0 to 5"),
        ({"bribe": True}, "not questions of form standard: bribe"),
    ],
)
def test_answers_that_do_not_fit_the_form_are_refused(change, message):
    form = load_forms()["standard"]
    answers = {"greeting": True, "identity": True, "understood": 5, "accurate": 5, "hold": True}
    answers |= {"summary": True, "courtesy": 5}
    with pytest.raises(BadAnswers, match=message):
        score(form, {**answers, **change})
    answers.pop("courtesy")
    with pytest.raises(BadAnswers, match="unanswered: courtesy"):
        score(form, answers)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": "x"}, "has an id, a title and sections"),
        ({"id": "x", "sections": [{"title": "a", "questions": [{"id": "q"}]}]}, "an id and a text"),
        ({"id": "x", "sections": [{"weight": -1, "questions": [{"id": "q", "text": "t"}]}]}, "positive"),
        (
            {"id": "x", "sections": [{"questions": [{"id": "q", "text": "t"}, {"id": "q", "text": "u"}]}]},
            "used twice",
        ),
        (
            {"id": "x", "sections": [{"questions": [{"id": "q", "text": "t", "kind": "stars"}]}]},
            "yesno or scale",
        ),
    ],
)
def test_a_bad_form_is_refused_with_where_it_is_wrong(data, message):
    with pytest.raises(BadForm, match=message):
        form_from_mapping(data)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=100-", ByteRange(100, 999)),
        ("bytes=-100", ByteRange(900, 999)),
        ("bytes=-5000", ByteRange(0, 999)),
        ("bytes=990-5000", ByteRange(990, 999)),
        ("bytes=0-1,5-9", None),  # several ranges: the whole file
    ],
)
def test_ranges_a_player_sends_are_understood(header, expected):
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize(
    "header",
    ["bytes=1000-", "bytes=9-3", "bytes=-0", "bytes=-", "bits=0-9", "bytes=0-9x", "bytes=" + "9" * 300],
)
def test_ranges_that_cannot_be_served_are_refused(header):
    with pytest.raises(RangeNotSatisfiable) as error:
        parse_range(header, 1000)
    assert error.value.status == 416 and error.value.size == 1000


def test_spool_paths_stay_in_the_spool(tmp_path: Path):
    assert relative_path("/var/spool/asterisk/monitor/2026/11/18/1.2/1.3.wav") == "2026/11/18/1.2/1.3.wav"
    assert relative_path("2026/11/18/1.2/1.3.wav") == "2026/11/18/1.2/1.3.wav"
    assert leg_paths("2026/11/18/1.2/1.3.wav") == ("2026/11/18/1.2/1.3-in.wav", "2026/11/18/1.2/1.3-out.wav")
    for hostile in ("../x.wav", "a/../../x.wav", "/tmp/x.wav", "a\\b.wav", "a/.x.wav", ""):
        with pytest.raises(UnsafePath):
            relative_path(hostile)
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "link").symlink_to(tmp_path)
    with pytest.raises(UnsafePath, match="outside"):
        safe_join(tmp_path / "store", "link/secret.wav")
