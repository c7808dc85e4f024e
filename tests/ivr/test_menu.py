"""The pure menu engine: every node kind, driven step by step without a socket."""

from __future__ import annotations

from datetime import datetime

import pytest

from ivr.agi import parse_reply
from ivr.crm_port import CallerRecord
from ivr.events import IvrOutcome, PathEntry
from ivr.loader import load_menu, parse_menu
from ivr.menu import MAX_NODES_PER_CALL
from ivr.steps import LookupAnswer
from tests.ivr.engine import Caller, drive, lines, start_run
from tests.ivr.fakes import REPO_MENUS, SHANGHAI

HOTLINE = load_menu(REPO_MENUS / "4008123456.yaml")


def test_the_first_step_sets_the_fallback_queue_then_the_call_id_comes_from_the_linkedid() -> None:
    run = start_run(HOTLINE)
    steps = lines(drive(run, Caller(digits=["", "0"], linkedid="1795416380.154")))
    assert steps[:3] == [
        "SET VARIABLE HOTLINE_QUEUE support",
        "GET VARIABLE CHANNEL(linkedid)",
        "FindCaller",
    ]
    assert run.call_id == "1795416380.154"


def test_the_call_id_stays_the_uniqueid_when_asterisk_has_no_linkedid() -> None:
    run = start_run(HOTLINE)
    run.start()
    run.send(parse_reply("200 result=1"))
    run.send(parse_reply("200 result=0"))
    assert run.call_id == "1795416380.155"


def test_a_caller_who_presses_0_is_queued_to_support_with_skill_and_priority() -> None:
    run = start_run(HOTLINE)
    steps = lines(drive(run, Caller(digits=["", "0"])))
    assert steps[-3:] == [
        "SET VARIABLE HOTLINE_QUEUE support",
        "SET VARIABLE HOTLINE_SKILL support",
        "SET VARIABLE QUEUE_PRIO 0",
    ]
    assert run.outcome is IvrOutcome.QUEUED
    assert [entry.node for entry in run.path] == [
        "welcome",
        "hours",
        "who",
        "language",
        "main",
        "support_queue",
    ]
    assert run.path[4] == PathEntry("main", "menu", "0", "")


def test_the_welcome_prompt_is_played_by_its_absolute_path_in_the_callers_language() -> None:
    steps = lines(drive(start_run(HOTLINE), Caller(digits=["", "0"])))
    assert 'STREAM FILE /p/4008123456/zh/welcome ""' in steps
    assert "STREAM FILE /p/4008123456/zh/choose-language 12" in steps
    assert "GET DATA /p/4008123456/en/choose-language 3000 1" in steps


def test_an_invalid_choice_plays_the_invalid_prompt_and_asks_again() -> None:
    run = start_run(HOTLINE)
    steps = lines(drive(run, Caller(digits=["", "7", "3"])))
    assert 'STREAM FILE /p/4008123456/zh/invalid-choice ""' in steps
    assert steps.count("GET DATA /p/4008123456/zh/main-menu 5000 1") == 2
    assert run.queue == "sales"


def test_a_menu_without_a_valid_choice_after_its_retries_goes_to_on_fail() -> None:
    run = start_run(HOTLINE)
    steps = lines(drive(run, Caller(digits=["", "", "", ""])))
    assert steps.count("GET DATA /p/4008123456/zh/main-menu 5000 1") == 3
    assert "invalid-choice" not in " ".join(steps)  # silence is not an invalid choice
    assert run.path[-2] == PathEntry("main", "menu", "", "no valid choice")
    assert run.queue == "support"


def test_a_ticket_lookup_reads_the_number_back_and_plays_its_status_in_english() -> None:
    run = start_run(HOTLINE)
    caller = Caller(digits=["2", "1", "12345678", "0"], lookup=LookupAnswer(True, True, "in_progress"))
    steps = lines(drive(run, caller))
    at = steps.index("LookupStatus")
    assert steps[at + 1 : at + 4] == [
        'STREAM FILE /p/4008123456/en/ticket-intro ""',
        'SAY DIGITS 12345678 ""',
        'STREAM FILE /p/4008123456/en/ticket-in-progress ""',
    ]
    assert PathEntry("ticket_lookup", "lookup", "12345678", "in_progress") in run.path
    assert run.language == "en"


def test_in_mandarin_the_number_is_read_back_with_the_generated_digit_prompts() -> None:
    run = start_run(HOTLINE)
    steps = lines(drive(run, Caller(digits=["1", "1", "907", "1234567", "0"])))
    # "907" is too short for a ticket number: asked again.
    assert 'STREAM FILE /p/4008123456/zh/invalid-number ""' in steps
    at = steps.index("LookupStatus")
    digits = [line for line in steps[at:] if "/common/" in line]
    assert digits[:2] == ['STREAM FILE /p/common/zh/digit-1 ""', 'STREAM FILE /p/common/zh/digit-2 ""']
    assert len(digits) == 7


def test_an_order_that_is_not_found_plays_the_not_found_prompt() -> None:
    run = start_run(HOTLINE)
    caller = Caller(digits=["2", "2", "2026112300001", "0"], lookup=LookupAnswer(True, False))
    steps = lines(drive(run, caller))
    assert 'STREAM FILE /p/4008123456/en/order-not-found ""' in steps
    assert PathEntry("order_lookup", "lookup", "2026112300001", "not-found") in run.path


def test_when_the_crm_cannot_answer_the_caller_hears_so_and_the_menu_goes_on() -> None:
    run = start_run(HOTLINE)
    caller = Caller(digits=["2", "2", "2026112300001", "0"], lookup=LookupAnswer(False))
    steps = lines(drive(run, caller))
    assert 'STREAM FILE /p/4008123456/en/lookup-unavailable ""' in steps
    assert run.outcome is IvrOutcome.QUEUED


def test_an_unknown_status_plays_the_other_prompt() -> None:
    run = start_run(HOTLINE)
    caller = Caller(digits=["2", "2", "2026112300001", "0"], lookup=LookupAnswer(True, True, "customs"))
    assert 'STREAM FILE /p/4008123456/en/order-other ""' in lines(drive(run, caller))


def test_a_vip_caller_skips_the_menu_and_is_queued_first() -> None:
    run = start_run(HOTLINE)
    record = CallerRecord("C-1", "Wang Fang", vip_level=2, language="zh")
    lines_ = lines(drive(run, Caller(record=record)))
    assert lines_[-2:] == ["SET VARIABLE HOTLINE_SKILL vip", "SET VARIABLE QUEUE_PRIO 10"]
    assert run.queue == "vip"
    assert run.customer_id == "C-1"
    assert PathEntry("who", "branch", "", "rule 1") in run.path


def test_a_caller_with_an_open_complaint_waits_in_the_complaints_queue() -> None:
    run = start_run(HOTLINE)
    drive(run, Caller(record=CallerRecord("C-2", "Li Lei", has_open_complaint=True)))
    assert (run.queue, run.skill, run.priority) == ("complaints", "complaints", 5)


def test_a_known_caller_without_vip_or_complaint_takes_the_else_branch() -> None:
    run = start_run(HOTLINE)
    drive(run, Caller(digits=["", "0"], record=CallerRecord("C-3", "Zhang Wei", segment="retail")))
    assert PathEntry("who", "branch", "", "else") in run.path


def test_the_language_the_crm_knows_is_used_without_asking() -> None:
    run = start_run(HOTLINE)
    steps = lines(drive(run, Caller(digits=["0"], record=CallerRecord("C-4", "Anna", language="en"))))
    assert "choose-language" not in " ".join(steps)
    assert "SET VARIABLE CHANNEL(language) en" in steps
    assert run.language == "en"


def test_pressing_2_during_the_mandarin_language_prompt_picks_english_at_once() -> None:
    run = start_run(HOTLINE)
    steps = lines(drive(run, Caller(digits=["0"], press_during={"zh/choose-language": "2"})))
    assert "GET DATA /p/4008123456/en/choose-language 3000 1" not in steps
    assert run.language == "en"
    assert PathEntry("language", "language", "2", "en") in run.path


def test_a_callback_request_sets_the_action_hangs_up_and_names_the_number_and_queue() -> None:
    run = start_run(HOTLINE)
    steps = lines(drive(run, Caller(digits=["", "4"])))
    assert steps[-3:] == [
        'STREAM FILE /p/4008123456/zh/callback-confirm ""',
        "SET VARIABLE HOTLINE_ACTION callback",
        "HANGUP",
    ]
    assert run.outcome is IvrOutcome.CALLBACK
    assert run.callback is not None
    assert (run.callback.number, run.callback.queue) == ("13800131000", "support")


def test_an_anonymous_caller_who_asks_for_a_callback_waits_in_the_queue_instead() -> None:
    run = start_run(HOTLINE, caller="")
    steps = lines(drive(run, Caller(digits=["", "4"])))
    assert "FindCaller" not in steps
    assert steps[-1] == "SET VARIABLE HOTLINE_QUEUE support"
    assert run.outcome is IvrOutcome.QUEUED
    assert run.callback is None


CALLBACK_TO_COLLECTED = """
languages: [en]
fallback_queue: support
start: ask
prompts:
  ask: {en: "Your number?"}
nodes:
  ask:
    kind: collect
    prompt: ask
    into: phone
    format: phone
    min_digits: 10
    max_digits: 12
    retries: 1
    next: cb
    on_fail: q
  cb: {kind: callback, queue: sales, skill: sales, priority: 3, number_from: phone}
  q: {kind: queue, queue: support, skill: support}
"""


def test_a_callback_can_go_to_a_phone_number_the_caller_keyed_in() -> None:
    menu = parse_menu(CALLBACK_TO_COLLECTED, file="cb.yaml", number="cb")
    run = start_run(menu)
    drive(run, Caller(digits=["12345", "13912345678"]))
    assert run.callback is not None
    assert (run.callback.number, run.callback.queue, run.callback.priority) == ("13912345678", "sales", 3)


def test_a_collected_phone_number_must_be_a_valid_mainland_number() -> None:
    menu = parse_menu(CALLBACK_TO_COLLECTED, file="cb.yaml", number="cb")
    run = start_run(menu)
    drive(run, Caller(digits=["10000000000", "99999999999"]))
    assert run.callback is None
    assert run.path[0] == PathEntry("ask", "collect", "99999999999", "invalid")


def test_when_closed_the_message_is_left_to_the_dialplan_with_the_menus_prompts_and_limits() -> None:
    run = start_run(HOTLINE, now=datetime(2026, 11, 23, 22, 30, tzinfo=SHANGHAI))
    steps = lines(drive(run, Caller(digits=["1"])))
    assert steps[-5:] == [
        "SET VARIABLE HOTLINE_MESSAGE_PROMPT /p/4008123456/zh/leave-message",
        "SET VARIABLE HOTLINE_MESSAGE_GOODBYE /p/4008123456/zh/message-thanks",
        "SET VARIABLE HOTLINE_MESSAGE_SILENCE_S 5",
        "SET VARIABLE HOTLINE_MESSAGE_MAX_S 120",
        "SET VARIABLE HOTLINE_ACTION message",
    ]
    assert run.outcome is IvrOutcome.MESSAGE
    assert run.path[-1] == PathEntry("leave_message", "message", "", "")


def test_a_transfer_sets_the_action_and_the_number_for_the_dialplan() -> None:
    run = start_run(HOTLINE)
    steps = lines(drive(run, Caller(digits=["", "8"])))
    assert steps[-2:] == [
        "SET VARIABLE HOTLINE_ACTION transfer",
        "SET VARIABLE HOTLINE_TRANSFER_TO 4008765432",
    ]
    assert (run.outcome, run.transfer_to) == (IvrOutcome.TRANSFERRED, "4008765432")


def test_a_hangup_node_says_goodbye_and_hangs_up() -> None:
    run = start_run(HOTLINE, now=datetime(2026, 11, 23, 22, 30, tzinfo=SHANGHAI))
    steps = lines(drive(run, Caller(digits=["", ""])))
    assert steps[-2:] == ['STREAM FILE /p/4008123456/zh/goodbye ""', "HANGUP"]
    assert run.outcome is IvrOutcome.HUNG_UP


HOURS = """
languages: [zh]
fallback_queue: support
start: hours
prompts: {}
nodes:
  hours:
    kind: business_hours
    workdays: "09:00-18:00"
    open: open
    closed: closed
  open: {kind: queue, queue: support, skill: support}
  closed: {kind: hangup}
calendar:
  holidays: [2027-02-08]
"""


@pytest.mark.parametrize(
    ("moment", "result"),
    [
        (datetime(2026, 10, 1, 10, 0), "closed (restday)"),  # National Day, a Thursday
        (datetime(2026, 10, 9, 10, 0), "open (workday)"),  # the Friday after the Golden Week
        (datetime(2026, 2, 14, 10, 0), "open (workday)"),  # a Saturday made a workday (调休)
        (datetime(2026, 11, 21, 10, 0), "closed (restday)"),  # an ordinary Saturday
        (datetime(2026, 11, 23, 8, 59), "closed (workday)"),
        (datetime(2026, 11, 23, 18, 0), "closed (workday)"),
        (datetime(2027, 1, 4, 10, 0), "open (workday, estimated)"),  # past the packaged data
        (datetime(2027, 2, 8, 10, 0), "closed (restday)"),  # a holiday the menu file adds
    ],
)
def test_business_hours_follow_the_mainland_china_calendar(moment: datetime, result: str) -> None:
    menu = parse_menu(HOURS, file="hours.yaml", number="hours")
    run = start_run(menu, now=moment.replace(tzinfo=SHANGHAI))
    drive(run, Caller())
    assert run.path[0] == PathEntry("hours", "business_hours", "", result)
    assert run.outcome is (IvrOutcome.QUEUED if result.startswith("open") else IvrOutcome.HUNG_UP)


def test_rest_day_hours_open_the_menu_on_a_public_holiday() -> None:
    run = start_run(HOTLINE, now=datetime(2026, 10, 1, 10, 0, tzinfo=SHANGHAI))
    drive(run, Caller(digits=["", "0"]))
    assert run.path[1] == PathEntry("hours", "business_hours", "", "open (restday)")


LOOPING = """
languages: [en]
fallback_queue: support
start: main
prompts:
  main: {en: Press 9 to hear this again.}
nodes:
  main:
    kind: menu
    prompt: main
    choices: {"9": main}
    on_fail: q
  q: {kind: queue, queue: support, skill: support}
"""


def test_a_caller_who_goes_round_and_round_is_stopped_and_left_on_the_fallback_queue() -> None:
    run = start_run(parse_menu(LOOPING, file="loop.yaml", number="loop"))
    drive(run, Caller(digits=["9"] * (MAX_NODES_PER_CALL + 10)))
    assert run.outcome is IvrOutcome.FAILED
    assert run.queue == "support"
    assert run.path[-1].result == "too many turns"


def test_stopping_a_run_keeps_the_path_so_far() -> None:
    run = start_run(HOTLINE)
    caller = Caller()
    step = run.start()
    for _ in range(4):
        step = run.send(caller.reply(step))
    run.stop(IvrOutcome.CALLER_HUNG_UP)
    assert run.outcome is IvrOutcome.CALLER_HUNG_UP
    assert [entry.node for entry in run.path] == ["welcome", "hours", "who"]
