"""The call log's fold: domain events in, queue legs, agent intervals and holdbacks out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from acd.call_log import CallLog
from acd.events import (
    AgentStateChanged,
    CallOverflowed,
    DecisionReason,
    MarketingDecision,
    MarketingWork,
    MaxWaitReached,
)
from acd.models import AgentState, MaxWaitAction
from crm.reporting.facts import AgentIntervalFact, HoldbackFact, HoldbackSource, LegOutcome, QueueLegFact
from cti.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallQueued,
    CallResumed,
    EndCause,
)
from tests.reports.replay import domain_events

T0 = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
S = AgentState


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def state(at: float, previous: AgentState, new: AgentState, seconds: float, **kw: str) -> AgentStateChanged:
    return AgentStateChanged(
        t(at), "alice", new, previous, previous_seconds=seconds, interface="PJSIP/1001", **kw
    )


def fold(log: CallLog, events: list[object]) -> list[object]:
    out: list[object] = []
    for event in events:
        out.extend(log.feed(event))
    return out


def legs(facts: list[object]) -> list[QueueLegFact]:
    return [f for f in facts if isinstance(f, QueueLegFact)]


def answered_call(call: str = "c1") -> list[object]:
    return [
        CallOffered(t(0), call, "13800131000", "", "4008123456", "PJSIP/trunk-1"),
        CallQueued(t(3), call, "support", position=2, priority=1),
        CallAnswered(t(15), call, "PJSIP/1001", "support", wait_seconds=12.0, ring_seconds=3.0),
        state(15, S.RINGING, S.ON_CALL, 3.0, call_id=call, queue="support"),
        CallHeld(t(30), call, "PJSIP/1001-1"),
        CallResumed(t(40), call, "PJSIP/1001-1"),
        CallEnded(t(75), call, EndCause.NORMAL, talk_seconds=60.0, agent="PJSIP/1001"),
        state(75, S.ON_CALL, S.WRAP_UP, 60.0, call_id=call, queue="support"),
    ]


def test_an_answered_call_is_final_when_its_wrap_up_ends() -> None:
    log = CallLog({"support": 20})
    facts = fold(log, answered_call())
    assert legs(facts) == []  # talked, waiting for the wrap-up
    facts = fold(log, [state(95, S.WRAP_UP, S.AVAILABLE, 20.0, call_id="c1", queue="support")])
    (leg,) = legs(facts)
    assert leg == QueueLegFact(
        call_id="c1",
        queue="support",
        entered_at=t(3),
        ended_at=t(75),
        outcome=LegOutcome.ANSWERED,
        caller="13800131000",
        agent="alice",
        priority=1,
        wait_s=12.0,
        ring_s=3.0,
        talk_s=50.0,  # the call's 60 s less the 10 s on hold
        hold_s=10.0,
        wrap_s=20.0,
        position=2,
        original_position=2,
        within_sl=True,
    )
    assert log.calls_followed == 0
    wrap = [f for f in facts if isinstance(f, AgentIntervalFact)]
    assert wrap == [AgentIntervalFact("alice", "wrap-up", t(75), t(95), queue="support", call_id="c1")]


def test_without_a_wrap_up_the_leg_is_final_when_the_agent_leaves_the_call() -> None:
    log = CallLog({"support": 10})
    events = [*answered_call()[:-1], state(75, S.ON_CALL, S.AVAILABLE, 60.0, call_id="c1")]
    (leg,) = legs(fold(log, events))
    assert (leg.wrap_s, leg.within_sl) == (0.0, False)  # 12 s is over this queue's 10 s


def test_a_wrap_up_that_never_ends_is_written_after_the_limit() -> None:
    log = CallLog(wrap_up_limit_s=600)
    fold(log, answered_call())
    assert log.advance(t(75 + 599)) == []
    (leg,) = legs(log.advance(t(75 + 600)))
    assert (leg.outcome, leg.talk_s, leg.wrap_s) == (LegOutcome.ANSWERED, 50.0, 0.0)
    assert log.calls_followed == 0


def test_abandoned_with_position_and_wait() -> None:
    log = CallLog()
    facts = fold(
        log,
        [
            CallQueued(t(0), "c2", "sales", position=3),
            CallAbandoned(t(40), "c2", "sales", wait_seconds=40.0, position=1, original_position=3),
            CallEnded(t(40), "c2", EndCause.NORMAL, talk_seconds=0.0),
        ],
    )
    (leg,) = legs(facts)
    assert (leg.outcome, leg.wait_s, leg.position, leg.original_position, leg.within_sl) == (
        LegOutcome.ABANDONED,
        40.0,
        1,
        3,
        False,
    )
    assert log.calls_followed == 0


def test_max_wait_closes_the_leg_with_callback_or_timeout() -> None:
    log = CallLog()
    facts = fold(
        log,
        [
            CallQueued(t(0), "c3", "support", position=1),
            CallQueued(t(0), "c4", "sales", position=1),
            MaxWaitReached(t(600), "c3", "support", MaxWaitAction.CALLBACK, 600.0),
            MaxWaitReached(t(300), "c4", "sales", MaxWaitAction.MESSAGE, 300.0),
            CallEnded(t(610), "c3", EndCause.NORMAL, talk_seconds=0.0),
        ],
    )
    assert [(leg.call_id, leg.outcome, leg.wait_s) for leg in legs(facts)] == [
        ("c3", LegOutcome.CALLBACK, 600.0),
        ("c4", LegOutcome.TIMEOUT, 300.0),
    ]


def test_overflow_keeps_the_leg_and_a_new_queue_opens_a_new_leg() -> None:
    log = CallLog()
    facts = fold(
        log,
        [
            CallQueued(t(0), "c5", "vip", position=1),
            CallOverflowed(t(60), "c5", "vip", "support", 60.0),
            CallAnswered(t(70), "c5", "PJSIP/1002", "vip", wait_seconds=70.0),
            CallEnded(t(100), "c5", EndCause.NORMAL, talk_seconds=30.0),
            CallQueued(t(0), "c6", "vip", position=1),
            CallOverflowed(t(60), "c6", "vip", "support", 60.0),
            CallQueued(t(61), "c6", "support", position=4),
            CallAbandoned(t(90), "c6", "support", wait_seconds=29.0, position=2),
        ],
    )
    facts += log.flush()
    assert sorted((leg.call_id, leg.queue, leg.outcome, leg.wait_s) for leg in legs(facts)) == [
        ("c5", "vip", LegOutcome.ANSWERED, 70.0),
        ("c6", "support", LegOutcome.ABANDONED, 29.0),
        ("c6", "vip", LegOutcome.OVERFLOWED, 61.0),
    ]


def test_hung_up_while_ringing_counts_as_abandoned() -> None:
    log = CallLog()
    (leg,) = legs(
        fold(log, [CallQueued(t(0), "c7", "support", 1), CallEnded(t(8), "c7", EndCause.NORMAL, 0.0)])
    )
    assert (leg.outcome, leg.wait_s) == (LegOutcome.ABANDONED, 8.0)


def test_calls_that_never_end_are_evicted_as_ended() -> None:
    log = CallLog(call_limit_s=3600, max_calls=2)
    facts = fold(log, [CallQueued(t(i), f"x{i}", "support", 1) for i in range(3)])
    assert [(leg.call_id, leg.outcome) for leg in legs(facts)] == [("x0", LegOutcome.ENDED)]
    assert log.calls_followed == 2
    assert [leg.call_id for leg in legs(log.advance(t(3601)))] == ["x1"]
    assert log.calls_followed == 1


def test_agent_intervals_carry_the_pause_reason_of_the_state_left() -> None:
    log = CallLog()
    facts = fold(
        log,
        [
            state(0, S.LOGGED_OUT, S.AVAILABLE, 0.0, reason="login"),
            state(100, S.AVAILABLE, S.PAUSED, 100.0, reason="lunch"),
            state(1900, S.PAUSED, S.AVAILABLE, 1800.0, reason="resumed"),
        ],
    )
    assert facts == [
        AgentIntervalFact("alice", "available", t(0), t(100)),
        AgentIntervalFact("alice", "paused", t(100), t(1900), reason="lunch"),
    ]


def test_gate_refusals_of_offers_are_holdbacks() -> None:
    log = CallLog()
    refused = MarketingDecision(
        t(5), "alice", "g1", MarketingWork.OFFER, False, DecisionReason.THRESHOLD_REACHED, call_id="c1"
    )
    admitted = MarketingDecision(t(6), "bob", "g1", MarketingWork.OFFER, True, DecisionReason.ADMITTED)
    outbound = MarketingDecision(t(7), "bob", "g1", MarketingWork.OUTBOUND, False, DecisionReason.GATE_CLOSED)
    assert fold(log, [refused, admitted, outbound]) == [
        HoldbackFact(t(5), HoldbackSource.GATE, "threshold-reached", call_id="c1", agent="alice")
    ]


# --- the real captures ---------------------------------------------------------------------


def replayed(transcripts: Path, name: str) -> list[QueueLegFact]:
    log = CallLog({"support": 20})
    facts = fold(log, domain_events(transcripts / name))
    return legs(facts + log.flush())


def test_capture_of_an_answered_call(transcripts: Path) -> None:
    (leg,) = replayed(transcripts, "01-inbound-answered/01.ami")
    assert (leg.call_id, leg.queue, leg.outcome, leg.agent, leg.caller) == (
        "1795416380.155",
        "support",
        LegOutcome.ANSWERED,
        "PJSIP/1001",
        "13800131000",
    )
    assert (leg.wait_s, leg.ring_s, leg.talk_s, leg.hold_s, leg.within_sl) == (1.0, 1.0, 4.0, 0.0, True)


def test_capture_of_an_abandoned_call(transcripts: Path) -> None:
    (leg,) = replayed(transcripts, "02-abandoned/02.ami")
    assert (leg.outcome, leg.wait_s, leg.position, leg.original_position, leg.talk_s) == (
        LegOutcome.ABANDONED,
        4.0,
        1,
        1,
        0.0,
    )


def test_capture_of_a_call_put_on_hold(transcripts: Path) -> None:
    (leg,) = replayed(transcripts, "11-hold/11.ami")
    assert (leg.outcome, leg.wait_s) == (LegOutcome.ANSWERED, 1.0)
    # CallHeld 06:49:20.430756 → CallResumed 06:49:22.438941, in a call of 8 s
    assert round(leg.hold_s, 6) == 2.008185
    assert round(leg.talk_s + leg.hold_s, 6) == 8.0
