"""The queue_log lines Hotline writes for the calls it delivers (acd/queue_log.py), read back by
the same parser ``hotline reports check-queue-log`` uses, after app_queue's own lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from acd.queue_log import DeliveryLog, QueueLogLine
from crm.reporting.queue_log import parse_queue_log
from cti.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallQueued,
    CallRinging,
    CallTransferred,
    EndCause,
    TransferKind,
)

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
CALL = "1796645091.43"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fed(*events: object) -> list[QueueLogLine]:
    log = DeliveryLog(lambda queue: queue in {"support", "sales"})
    return [line for event in events for line in log.feed(event)]


def as_file(lines: list[QueueLogLine], *, app_queue: list[str]) -> list[str]:
    """app_queue's lines of transcript 16 (ENTERQUEUE, then ABANDON at the Redirect), then ours."""
    stamp = int(at(60).timestamp())
    ours = [f"{stamp}|{line.call_id}|{line.queue}|{line.agent}|{line.event}|{line.message}" for line in lines]
    return [*app_queue, *ours]


APP_QUEUE = [
    f"{int(T0.timestamp())}|{CALL}|support|NONE|ENTERQUEUE||13800131000|1",
    f"{int(T0.timestamp())}|{CALL}|support|NONE|ABANDON|1|1|0",
]


def test_a_delivered_call_is_connected_then_completed_not_abandoned() -> None:
    lines = fed(
        CallQueued(at(0), CALL, "support", 1),
        CallRinging(at(0.2), CALL, "PJSIP/1001", "support", "PJSIP/1001-01"),
        CallAnswered(at(3.4), CALL, "PJSIP/1001", "support", 3.4, "PJSIP/1001-01", 3.2),
        CallEnded(at(63.4), CALL, EndCause.NORMAL, 60.0),
    )
    assert [(line.event, line.agent, line.data) for line in lines] == [
        ("CONNECT", "PJSIP/1001", ("3", "PJSIP/1001-01", "3")),
        ("COMPLETECALLER", "PJSIP/1001", ("3", "60", "1")),
    ]
    [call], problems = parse_queue_log(as_file(lines, app_queue=APP_QUEUE))
    assert problems == []
    assert (call.outcome, call.wait_s, call.talk_s) == ("answered", 3.0, 60.0)


def test_a_missed_delivery_then_the_next_agent() -> None:
    lines = fed(
        CallQueued(at(0), CALL, "support", 2),
        CallRinging(at(1), CALL, "PJSIP/1001", "support", "PJSIP/1001-01"),
        CallQueued(at(9), CALL, "support", 1, priority=1),  # back from hotline-deliver
        CallRinging(at(9.5), CALL, "PJSIP/1002", "support", "PJSIP/1002-01"),
        CallAnswered(at(11), CALL, "PJSIP/1002", "support", 11.0, "PJSIP/1002-01", 1.5),
        CallEnded(at(20), CALL, EndCause.NORMAL, 9.0),
    )
    assert [(line.event, line.agent, line.data) for line in lines] == [
        ("RINGNOANSWER", "PJSIP/1001", ("8000",)),
        ("CONNECT", "PJSIP/1002", ("11", "PJSIP/1002-01", "2")),
        ("COMPLETECALLER", "PJSIP/1002", ("11", "9", "2")),
    ]


def test_a_caller_who_hangs_up_while_the_agent_rings_is_an_abandon_with_the_whole_wait() -> None:
    lines = fed(
        CallQueued(at(0), CALL, "support", 1),
        CallRinging(at(5), CALL, "PJSIP/1001", "support", "PJSIP/1001-01"),
        CallAbandoned(at(8), CALL, "support", 8.0, 1, 1),
        CallEnded(at(8), CALL, EndCause.NORMAL, 0.0),
    )
    assert [(line.event, line.agent, line.data) for line in lines] == [("ABANDON", "NONE", ("1", "1", "8"))]
    [call], _ = parse_queue_log(as_file(lines, app_queue=APP_QUEUE))
    assert (call.outcome, call.wait_s, call.position) == ("abandoned", 8.0, 1)


def test_what_app_queue_logs_itself_gets_no_line() -> None:
    # Hung up while waiting (app_queue's ABANDON is right); a fallback twin's call (app_queue
    # connected it and logged it); a call never queued (click-to-dial).
    assert (
        fed(
            CallQueued(at(0), "a", "support", 1),
            CallAbandoned(at(4), "a", "support", 4.0, 1, 1),
            CallEnded(at(4), "a", EndCause.NORMAL, 0.0),
            CallQueued(at(0), "b", "support-fallback", 1),
            CallRinging(at(1), "b", "PJSIP/1001", "support-fallback", "PJSIP/1001-02"),
            CallAnswered(at(2), "b", "PJSIP/1001", "support-fallback", 2.0, "PJSIP/1001-02", 1.0),
            CallEnded(at(9), "b", EndCause.NORMAL, 7.0),
            CallRinging(at(1), "c", "PJSIP/1001", "", "PJSIP/1001-03"),
            CallAnswered(at(2), "c", "PJSIP/1001", "", 0.0, "PJSIP/1001-03", 1.0),
            CallEnded(at(9), "c", EndCause.NORMAL, 7.0),
        )
        == []
    )


def test_a_transfer_ends_the_agents_part_with_its_talk() -> None:
    lines = fed(
        CallQueued(at(0), CALL, "support", 1),
        CallRinging(at(1), CALL, "PJSIP/1001", "support", "PJSIP/1001-01"),
        CallAnswered(at(2), CALL, "PJSIP/1001", "support", 2.0, "PJSIP/1001-01", 1.0),
        CallTransferred(at(32), CALL, "PJSIP/1001", "sales", TransferKind.BLIND),
        CallQueued(at(33), CALL, "sales", 1),
        CallRinging(at(34), CALL, "PJSIP/1003", "sales", "PJSIP/1003-01"),
        CallAnswered(at(35), CALL, "PJSIP/1003", "sales", 2.0, "PJSIP/1003-01", 1.0),
        CallEnded(at(95), CALL, EndCause.NORMAL, 90.0),
    )
    assert [(line.queue, line.event, line.data) for line in lines] == [
        ("support", "CONNECT", ("2", "PJSIP/1001-01", "1")),
        ("support", "TRANSFER", ("sales", "hotline", "2", "30", "1")),
        ("sales", "CONNECT", ("2", "PJSIP/1003-01", "1")),
        ("sales", "COMPLETECALLER", ("2", "90", "1")),
    ]


def test_a_new_leader_completes_a_call_answered_under_the_old_one() -> None:
    followed = DeliveryLog(lambda _queue: True)  # a follower's copy of the old leader's log
    for event in (
        CallQueued(at(0), CALL, "support", 1),
        CallAnswered(at(3), CALL, "PJSIP/1001", "support", 3.0, "PJSIP/1001-01", 1.0),
        CallQueued(at(5), "fallback-call", "support-fallback", 1),
        CallAnswered(at(6), "fallback-call", "PJSIP/1002", "support-fallback", 1.0, "PJSIP/1002-01", 1.0),
    ):
        followed.feed(event)
    leader = DeliveryLog(lambda queue: queue in {"support", "sales"})
    leader.carry_on(followed)
    # The resync adopts the answered call again: nothing is written twice.
    assert leader.feed(CallAnswered(at(20), CALL, "PJSIP/1001", "support", 3.0, "PJSIP/1001-01", 1.0)) == []
    [line] = leader.feed(CallEnded(at(63), CALL, EndCause.NORMAL, 60.0))
    assert (line.event, line.agent, line.data) == ("COMPLETECALLER", "PJSIP/1001", ("3", "60", "1"))
    # app_queue's own fallback queue logs for itself, after a takeover too.
    assert leader.feed(CallEnded(at(66), "fallback-call", EndCause.NORMAL, 60.0)) == []
