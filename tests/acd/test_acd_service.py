"""The ACD service driven by domain-event sequences, with a fake switch and a turned clock."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from acd.events import (
    AgentStateChanged,
    CallDelivering,
    CallDeliveryFailed,
    CallOverflowed,
    DecisionReason,
    MarketingDecision,
    MarketingGateChanged,
    MarketingWork,
    MaxWaitReached,
    QueueStatsUpdated,
)
from acd.gate import MarketingPolicy
from acd.models import AcdConfig, AgentProfile, AgentState, MaxWaitAction, QueueConfig, WaitingCall
from acd.service import AcdService
from cti.bus import EventBus
from cti.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallQueued,
    CallRinging,
    CallTransferred,
    EndCause,
    SwitchResynced,
    TransferKind,
)
from cti.tracker import CallTracker
from tests.acd.fakes import FakeClock, FakeSwitch

S = AgentState
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CALLER = "PJSIP/trunk-0000009a"


def config(**queue_fields) -> AcdConfig:
    queues = [
        QueueConfig("support", wrapup_s=10, **queue_fields),
        QueueConfig("sales", strategy="best-skill"),
    ]
    agents = [
        AgentProfile("alice", "1001", {"support": 8}, name="Agent 1001"),
        AgentProfile("bob", "1002", {"support": 5, "sales": 9}),
        AgentProfile("carol", "1003", {"sales": 3}),
    ]
    settings = type("Acd", (), {"wrapup_s": 5.0, "ring_timeout_s": 15.0, "sticky_agent_s": 3600.0})()
    return AcdConfig.from_settings(settings, queues, agents, reason_codes={"coaching"})


class Harness:
    def __init__(self, acd_config: AcdConfig | None = None, policies=()) -> None:
        self.bus = EventBus()
        self.seen = self.bus.subscribe("test", maxsize=100_000)
        self.switch = FakeSwitch()
        self.clock = FakeClock(T0)
        self.acd = AcdService(self.bus, self.switch, self.clock, acd_config or config(), policies=policies)

    async def feed(self, *events) -> None:
        for event in events:
            if event.at > self.clock.now:
                self.clock.now = event.at
            await self.acd.handle(event)

    def published(self, kind: type) -> list:
        events = []
        while self.seen.pending():
            events.append(self.seen.get_nowait())
        self._kept = getattr(self, "_kept", []) + events
        return [event for event in self._kept if isinstance(event, kind)]

    def states_of(self, agent: str) -> list[tuple[AgentState, str]]:
        return [(e.state, e.reason) for e in self.published(AgentStateChanged) if e.agent == agent]

    def state(self, agent: str) -> AgentState:
        return self.acd.states.get(agent).state


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def offered(call: str, seconds: float = 0) -> CallOffered:
    return CallOffered(at(seconds), call, "13800131000", "Caller", "4008123456", f"PJSIP/trunk-{call}")


def queued(call: str, seconds: float, queue: str = "support", priority: int = 0) -> CallQueued:
    return CallQueued(at(seconds), call, queue, 1, priority)


# --- the real transcripts, through the tracker ---------------------------------------------------


def tracker_events(transcripts: Path, name: str) -> list:
    tracker = CallTracker()
    events = []
    for path in sorted((transcripts / name).glob("*.jsonl")):
        for line in path.read_text().splitlines():
            events.extend(tracker.feed(json.loads(line)))
    return events


async def test_transcript_01_the_caller_is_redirected_to_the_agent_who_answers_and_wraps_up(
    transcripts,
) -> None:
    events = tracker_events(transcripts, "01-inbound-answered")
    h = Harness()
    h.clock.now = events[0].at
    await h.acd.login("alice")
    await h.feed(*events)
    assert h.switch.of("redirect") == [("redirect", CALLER, "hotline-deliver", "1001")]
    assert h.states_of("alice") == [
        (S.AVAILABLE, "login"),
        (S.RINGING, "call-offered"),
        (S.ON_CALL, "answered"),
        (S.WRAP_UP, "call-ended"),
    ]
    h.clock.advance(10)
    await h.acd.run_due()
    assert h.state("alice") is S.AVAILABLE
    stats = h.published(QueueStatsUpdated)[-1]
    assert (stats.queue, stats.answered, stats.waiting, stats.answered_within_sl) == ("support", 1, 0, 1)
    assert stats.aht_s == pytest.approx(4 + 10)  # talk from the transcript, wrap-up of the queue
    [delivering] = h.published(CallDelivering)
    assert (delivering.agent, delivering.extension, delivering.attempt) == ("alice", "1001", 1)


async def test_transcript_02_with_nobody_logged_in_the_caller_abandons_and_it_is_counted(transcripts) -> None:
    events = tracker_events(transcripts, "02-abandoned")
    h = Harness()
    h.clock.now = events[0].at
    await h.feed(*events)
    assert h.switch.of("redirect") == []
    stats = h.published(QueueStatsUpdated)[-1]
    assert (stats.abandoned, stats.abandon_rate, stats.service_level, stats.waiting) == (1, 1.0, 0.0, 0)


# --- hand-built sequences --------------------------------------------------------------------


async def test_what_the_ivr_decided_routes_the_call_once_it_is_queued() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.acd.login("bob")
    await h.acd.call_waiting(WaitingCall("c1", "PJSIP/trunk-c1", "support", skill="sales", priority=10))
    assert h.switch.of("redirect") == []  # not in the queue yet
    await h.feed(queued("c1", 1))
    assert h.switch.of("redirect") == [("redirect", "PJSIP/trunk-c1", "hotline-deliver", "1002")]


async def test_a_call_queued_without_ivr_news_is_routed_with_its_queues_skill() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.feed(offered("c1"), queued("c1", 2))
    assert h.switch.of("redirect") == [("redirect", "PJSIP/trunk-c1", "hotline-deliver", "1001")]


async def test_a_call_of_a_queue_the_acd_does_not_serve_is_left_to_app_queue() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.feed(offered("c1"), queued("c1", 2, queue="support-fallback"))
    assert h.switch.of("redirect") == []


async def test_ring_no_answer_pauses_the_agent_as_missed_and_rings_the_next() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.acd.login("bob")
    await h.feed(offered("c1"), queued("c1", 1))
    await h.feed(CallRinging(at(1.1), "c1", "PJSIP/1001", "support", "PJSIP/1001-01"))
    await h.feed(queued("c1", 16, priority=1))  # the dialplan put the caller back
    assert [r[3] for r in h.switch.of("redirect")] == ["1001", "1002"]
    assert h.states_of("alice")[-1] == (S.PAUSED, "missed")
    assert ("queue_pause", "PJSIP/1001", True, "missed") in h.switch.requests
    assert [d.attempt for d in h.published(CallDelivering)] == [1, 2]


async def test_no_news_within_the_ring_timeout_also_counts_as_missed() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.acd.login("bob")
    await h.feed(offered("c1"), queued("c1", 1))
    h.clock.advance(25)
    await h.acd.run_due()
    assert h.state("alice") is S.PAUSED and h.state("bob") is S.RINGING


async def test_a_failed_delivery_frees_the_agent_and_retries_the_call_at_its_place() -> None:
    h = Harness()
    h.switch.fail_redirects = 1
    await h.acd.login("alice")
    await h.feed(offered("c1"), queued("c1", 1))
    [failed] = h.published(CallDeliveryFailed)
    assert failed.agent == "alice" and "Channel not specified" in failed.error
    assert h.state("alice") is S.AVAILABLE
    await h.feed(offered("c2", 2), queued("c2", 2))  # alice takes c2 while c1 is held
    h.clock.advance(1.5)
    await h.acd.login("bob")
    await h.acd.run_due()
    assert [r[1] for r in h.switch.of("redirect")] == ["PJSIP/trunk-c1", "PJSIP/trunk-c2", "PJSIP/trunk-c1"]
    assert h.acd.states.get("bob").call_id == "c1"


async def test_a_caller_who_hangs_up_while_the_agent_rings_leaves_the_agent_available() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.feed(offered("c1"), queued("c1", 1))
    await h.feed(CallEnded(at(5), "c1", EndCause.NORMAL, 0.0))
    assert h.states_of("alice")[-1] == (S.AVAILABLE, "caller-hung-up")


async def test_an_abandoned_caller_is_no_longer_routed() -> None:
    h = Harness()
    await h.feed(offered("c1"), queued("c1", 1), CallAbandoned(at(9), "c1", "support", 8, 1))
    await h.acd.login("alice")
    assert h.switch.of("redirect") == []


async def test_the_caller_who_waited_the_maximum_is_sent_to_the_callback_prompt() -> None:
    h = Harness(config(max_wait_s=60, max_wait_action=MaxWaitAction.CALLBACK))
    await h.feed(offered("c1"), queued("c1", 1))
    h.clock.now = at(62)
    await h.acd.run_due()
    assert h.switch.of("redirect") == [("redirect", "PJSIP/trunk-c1", "hotline-callback", "support")]
    [reached] = h.published(MaxWaitReached)
    assert (reached.call_id, reached.action, reached.wait_seconds) == ("c1", MaxWaitAction.CALLBACK, 61)


async def test_login_pause_and_logout_pause_the_agents_static_fallback_membership() -> None:
    h = Harness()
    await h.acd.login("bob")
    await h.acd.pause("bob", "lunch")
    await h.acd.ready("bob")
    await h.acd.logout("bob")
    # Static members (queues.conf): never added or removed, only paused while away.
    assert h.switch.requests == [
        ("queue_pause", "PJSIP/1002", False, ""),
        ("queue_pause", "PJSIP/1002", True, "lunch"),
        ("queue_pause", "PJSIP/1002", False, ""),
        ("queue_pause", "PJSIP/1002", True, "logged-out"),
    ]


async def test_an_agent_who_logs_in_paused_stays_paused_in_the_fallback_queues() -> None:
    h = Harness()
    await h.acd.login("bob", paused_reason="training")
    assert h.switch.requests == [("queue_pause", "PJSIP/1002", True, "training")]


async def test_ringing_talking_and_wrapup_leave_the_fallback_pause_alone() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.feed(offered("c1"), queued("c1", 1))
    await h.feed(CallRinging(at(2), "c1", "PJSIP/1001", "support", "PJSIP/1001-01"))
    await h.feed(CallAnswered(at(4), "c1", "PJSIP/1001", "support", 3.0))
    await h.feed(CallEnded(at(30), "c1", EndCause.NORMAL, 26.0, agent="PJSIP/1001"))
    assert h.acd.states.get("alice").state is S.WRAP_UP
    assert h.switch.of("queue_pause") == [("queue_pause", "PJSIP/1001", False, "")]
    assert h.switch.of("queue_add") == [] and h.switch.of("queue_remove") == []


async def test_a_switch_failure_on_fallback_membership_does_not_stop_the_acd() -> None:
    h = Harness()
    h.switch.fail_members = True
    await h.acd.login("alice")
    h.switch.fail_members = False
    await h.feed(offered("c1"), queued("c1", 1))
    assert h.switch.of("redirect")


async def test_an_app_queue_call_ringing_a_free_agent_takes_them_out_of_routing() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.feed(CallRinging(at(1), "f1", "PJSIP/1001", "support-fallback", "PJSIP/1001-02"))
    await h.feed(offered("c1", 2), queued("c1", 2))
    assert h.switch.of("redirect") == []
    await h.feed(CallAnswered(at(3), "f1", "PJSIP/1001", "support-fallback", 2.0))
    await h.feed(CallEnded(at(30), "f1", EndCause.NORMAL, 27.0, agent="PJSIP/1001"))
    assert h.state("alice") is S.WRAP_UP
    assert h.acd.states.get("alice").queue == "support"  # the fallback queue's ACD queue
    h.clock.now = at(40)
    await h.acd.run_due()  # support's wrap-up of 10 s, then the waiting call
    assert h.switch.of("redirect") == [("redirect", "PJSIP/trunk-c1", "hotline-deliver", "1001")]


async def test_a_returning_customer_is_delivered_to_their_last_agent() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.acd.login("bob")
    await h.acd.call_waiting(WaitingCall("c1", "PJSIP/trunk-c1", "support", customer_id="cust-7"))
    await h.feed(queued("c1", 1))
    await h.feed(CallAnswered(at(2), "c1", "PJSIP/1001", "support", 1.0))
    await h.feed(CallEnded(at(60), "c1", EndCause.NORMAL, 58.0, agent="PJSIP/1001"))
    h.clock.now = at(70)
    await h.acd.run_due()  # alice's wrap-up is over; bob is now the longest idle
    await h.acd.call_waiting(WaitingCall("c2", "PJSIP/trunk-c2", "support", customer_id="cust-7"))
    await h.feed(queued("c2", 80))
    assert h.switch.of("redirect")[-1] == ("redirect", "PJSIP/trunk-c2", "hotline-deliver", "1001")
    assert h.published(CallDelivering)[-1].sticky


async def test_an_agent_who_answers_just_after_being_given_up_on_is_on_the_call() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.feed(offered("c1"), queued("c1", 1))
    h.clock.advance(25)
    await h.acd.run_due()
    assert h.state("alice") is S.PAUSED
    await h.feed(CallAnswered(at(26), "c1", "PJSIP/1001", "support", 25.0))
    assert h.states_of("alice")[-1] == (S.ON_CALL, "answered-late")
    assert h.acd.router.call("c1") is None


async def test_a_resync_forgets_calls_the_switch_no_longer_has() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.feed(offered("c1"), queued("c1", 1), CallAnswered(at(2), "c1", "PJSIP/1001", "support", 1.0))
    await h.feed(offered("c2", 3), queued("c2", 3))
    await h.feed(SwitchResynced(at(50), calls=()))
    assert h.state("alice") is S.WRAP_UP
    assert h.acd.router.calls() == []
    assert h.acd.snapshot("support").waiting == 0


# --- marketing -----------------------------------------------------------------------------------


def team_policy() -> MarketingPolicy:
    return MarketingPolicy(
        "default", ("support",), max_agents=1, stop_waiting=1, resume_waiting=0, min_hold_s=30
    )


async def test_an_idle_agent_admitted_to_outbound_marketing_is_paused_for_it() -> None:
    h = Harness(policies=[team_policy()])
    await h.acd.login("alice")
    await h.acd.login("bob")
    decision = await h.acd.marketing_request("alice", MarketingWork.OUTBOUND)
    assert decision.admitted and h.states_of("alice")[-1] == (S.PAUSED, "marketing")
    denied = await h.acd.marketing_request("bob", MarketingWork.OUTBOUND)
    assert denied.reason is DecisionReason.THRESHOLD_REACHED
    await h.acd.ready("alice")  # the task is done: the slot is free
    assert (await h.acd.marketing_request("bob", MarketingWork.OUTBOUND)).admitted
    assert [d.admitted for d in h.published(MarketingDecision)] == [True, False, True]


async def test_when_callers_queue_up_marketing_stops_and_resumes_after_the_hold() -> None:
    h = Harness(policies=[team_policy()])
    await h.acd.login("alice")
    await h.acd.marketing_request("alice", MarketingWork.OUTBOUND)
    await h.feed(offered("c1", 1), queued("c1", 1), offered("c2", 2), queued("c2", 2))
    [closed] = h.published(MarketingGateChanged)
    assert (closed.open, closed.detail) == (False, "waiting 2 > 1")
    assert h.state("alice") is S.PAUSED  # she finishes her task
    await h.feed(CallAbandoned(at(10), "c1", "support", 9, 1), CallAbandoned(at(11), "c2", "support", 9, 1))
    assert len(h.published(MarketingGateChanged)) == 1  # load is low, but the hold is not over
    h.clock.now = at(40)
    await h.acd.run_due()
    assert h.published(MarketingGateChanged)[-1].open


async def test_an_offer_needs_an_agent_on_a_call_and_outbound_work_an_idle_one() -> None:
    h = Harness(policies=[team_policy()])
    await h.acd.login("alice")
    offer = await h.acd.marketing_request("alice", MarketingWork.OFFER, call_id="c1")
    assert (offer.admitted, offer.reason) == (False, DecisionReason.AGENT_NOT_READY)
    await h.feed(offered("c1"), queued("c1", 1), CallAnswered(at(2), "c1", "PJSIP/1001", "support", 1.0))
    offer = await h.acd.marketing_request("alice", MarketingWork.OFFER, call_id="c1")
    assert offer.admitted and offer.call_id == "c1"
    outbound = await h.acd.marketing_request("alice", MarketingWork.OUTBOUND)
    assert (outbound.admitted, outbound.detail) == (False, "agent is on-call")
    again = await h.acd.marketing_request("alice", MarketingWork.OFFER, call_id="c1")
    assert (again.admitted, again.reason) == (True, DecisionReason.ALREADY_MARKETING)
    await h.feed(CallEnded(at(30), "c1", EndCause.NORMAL, 28.0, agent="PJSIP/1001"))
    h.clock.now = at(41)
    await h.acd.run_due()  # wrap-up over: the offer's slot is released
    assert h.acd.gate.marketing_agents("default") == {}
    missing = await h.acd.marketing_request("carol", MarketingWork.OFFER)
    assert missing.reason is DecisionReason.NOT_LOGGED_IN


# --- lifecycle -----------------------------------------------------------------------------------


async def test_started_service_consumes_the_bus_and_stops_cleanly() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.acd.start()
    try:
        h.bus.publish(offered("c1"))
        h.bus.publish(queued("c1", 1))
        async with asyncio.timeout(5):
            await h.switch.redirected.wait()
    finally:
        await h.acd.stop()
    assert h.switch.of("redirect") == [("redirect", "PJSIP/trunk-c1", "hotline-deliver", "1001")]
    h.bus.publish(offered("c2"))
    assert h.acd._subscription is None


async def test_an_overflowing_call_is_announced_and_delivered_to_the_overflow_queues_agent() -> None:
    h = Harness(config(overflow_after_s=30, overflow_to="sales"))
    await h.acd.login("carol")  # sales only
    await h.feed(offered("c1"), queued("c1", 1))
    assert h.switch.of("redirect") == []
    h.clock.now = at(31)
    await h.acd.run_due()
    [overflowed] = h.published(CallOverflowed)
    assert (overflowed.queue, overflowed.to_queue, overflowed.wait_seconds) == ("support", "sales", 30)
    assert h.switch.of("redirect") == [("redirect", "PJSIP/trunk-c1", "hotline-deliver", "1003")]


async def test_an_outbound_call_keeps_the_agent_out_of_routing_until_it_ends() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.acd.outbound_started("alice", "out1")
    await h.feed(offered("c1", 1), queued("c1", 1))
    assert h.switch.of("redirect") == []
    await h.feed(CallEnded(at(60), "out1", EndCause.NORMAL, 50.0, agent="PJSIP/1001"))
    assert h.state("alice") is S.WRAP_UP
    h.clock.now = at(66)
    await h.acd.run_due()  # the default wrap-up of 5 s for an outbound call
    assert h.switch.of("redirect") == [("redirect", "PJSIP/trunk-c1", "hotline-deliver", "1001")]


async def test_an_outbound_call_that_never_got_through_is_ended_by_the_desktop() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.acd.outbound_started("alice", "out1")
    await h.acd.outbound_ended("alice")
    assert h.states_of("alice")[-1] == (S.WRAP_UP, "call-ended")
    await h.acd.outbound_ended("alice")  # nothing more to end
    assert h.state("alice") is S.WRAP_UP


async def test_ivr_news_for_a_queue_the_acd_does_not_know_is_logged_and_dropped(caplog) -> None:
    h = Harness()
    await h.acd.call_waiting(WaitingCall("c1", "PJSIP/trunk-c1", "nowhere"))
    assert "acd_unknown_queue" in caplog.text
    await h.acd.login("alice")
    await h.feed(queued("c1", 1))  # no channel known from anywhere: left to app_queue's fallback
    assert h.switch.of("redirect") == []
    assert "acd_call_without_channel" in caplog.text


async def test_an_agent_who_transfers_the_caller_wraps_up_and_the_next_agent_carries_the_call() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.acd.login("bob")
    await h.feed(offered("c1"), queued("c1", 1), CallAnswered(at(2), "c1", "PJSIP/1001", "support", 1.0))
    await h.feed(CallTransferred(at(30), "c1", "PJSIP/1001", "PJSIP/1002", TransferKind.BLIND))
    assert h.states_of("alice")[-1] == (S.WRAP_UP, "call-ended")
    await h.feed(CallRinging(at(31), "c1", "PJSIP/1002", "", "PJSIP/1002-01"))
    await h.feed(CallAnswered(at(33), "c1", "PJSIP/1002", "", 0.0))
    await h.feed(CallEnded(at(90), "c1", EndCause.NORMAL, 57.0, agent="PJSIP/1002"))
    assert h.state("bob") is S.WRAP_UP
    assert h.state("alice") is S.WRAP_UP  # her wrap-up runs on, untouched by bob's call


async def test_a_caller_transferred_to_a_queue_is_delivered_again_with_a_request_of_its_own() -> None:
    # The switch sends a request id once: a delivery that reused the first one's id was never
    # sent, and the agent it was meant for was paused as missed (seen on the real switch).
    h = Harness()
    await h.acd.login("alice")
    await h.feed(offered("c1"), queued("c1", 1))
    await h.feed(CallAnswered(at(2), "c1", "PJSIP/1001", "support", 1.0))
    await h.acd.login("bob")
    await h.feed(CallTransferred(at(30), "c1", "PJSIP/1001", "sales", TransferKind.BLIND))
    await h.feed(queued("c1", 30.1, queue="sales"))
    delivered = [r for r in h.switch.requests if r[0] == "redirect"]
    assert [r[3] for r in delivered] == ["1001", "1002"]
    assert len(set(h.switch.redirect_ids)) == 2


async def test_after_a_resync_every_agents_fallback_pause_is_set_again() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.acd.login("bob", paused_reason="lunch")
    h.switch.requests.clear()
    # Asterisk may have restarted: app_queue's static members come back unpaused.
    await h.feed(SwitchResynced(at(50), calls=()))
    assert sorted(h.switch.of("queue_pause")) == [
        ("queue_pause", "PJSIP/1001", False, ""),
        ("queue_pause", "PJSIP/1002", True, "lunch"),
        ("queue_pause", "PJSIP/1003", True, "logged-out"),
    ]
