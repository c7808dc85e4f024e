"""The ACD's picture of both agents through a consult transfer (docs/transfers.md): the
consulted agent is busy from the ring, on the call once they pick up, free again (no wrap-up)
if the consult is cancelled, and the call is theirs once it is completed; each agent who leaves
the call wraps up."""

from __future__ import annotations

from acd.call_log import CallLog
from acd.models import AgentState as S
from crm.reporting.facts import QueueLegFact
from cti.events import (
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallQueued,
    CallResumed,
    CallTransferred,
    ConferenceLeft,
    ConferenceStarted,
    ConsultAnswered,
    ConsultCancelled,
    ConsultStarted,
    EndCause,
    TransferKind,
)
from tests.acd.test_acd_service import Harness, at, offered, queued

ALICE, BOB = "PJSIP/1001", "PJSIP/1002"


async def alice_talking_then_consulting_bob() -> Harness:
    h = Harness()
    await h.acd.login("alice")
    await h.acd.login("bob")
    await h.feed(offered("c1"), queued("c1", 1), CallAnswered(at(2), "c1", ALICE, "support", 1.0))
    await h.feed(ConsultStarted(at(20), "c1", ALICE, BOB, "PJSIP/1002-02"))
    return h


async def bob_picked_up() -> Harness:
    h = await alice_talking_then_consulting_bob()
    await h.feed(ConsultAnswered(at(24), "c1", ALICE, BOB, "PJSIP/1002-02", 4.0))
    return h


async def test_the_consulted_agent_is_on_the_call_once_they_pick_up() -> None:
    h = await bob_picked_up()
    assert (h.state("alice"), h.state("bob")) == (S.ON_CALL, S.ON_CALL)
    assert h.states_of("bob")[-2:] == [(S.RINGING, "call-offered"), (S.ON_CALL, "consult-answered")]
    assert h.acd.states.get("bob").call_id == "c1"
    # Picking up a consult is not a call of theirs yet.
    assert h.acd.states.get("bob").calls_handled == 0


async def test_a_consult_cancelled_after_the_pick_up_frees_the_colleague_without_wrap_up() -> None:
    h = await bob_picked_up()
    await h.feed(ConsultCancelled(at(40), "c1", ALICE, BOB))
    assert h.states_of("bob")[-1] == (S.AVAILABLE, "consult-over")
    assert h.acd.states.get("bob").calls_handled == 0
    assert h.state("alice") is S.ON_CALL
    await h.feed(CallEnded(at(60), "c1", EndCause.NORMAL, 58.0, agent=ALICE))
    assert (h.state("alice"), h.state("bob")) == (S.WRAP_UP, S.AVAILABLE)


async def test_a_consult_completed_after_the_pick_up_is_one_call_handled_by_the_colleague() -> None:
    h = await bob_picked_up()
    await h.feed(
        CallTransferred(at(30), "c1", ALICE, BOB, TransferKind.ATTENDED),
        CallAnswered(at(30), "c1", BOB, "support", 0.0, "PJSIP/1002-02"),
    )
    assert (h.state("alice"), h.state("bob")) == (S.WRAP_UP, S.ON_CALL)
    assert h.states_of("bob")[-1] == (S.ON_CALL, "consult-answered")  # talking all along
    assert h.acd.states.get("bob").calls_handled == 1
    await h.feed(CallEnded(at(90), "c1", EndCause.NORMAL, 88.0, agent=BOB))
    assert h.state("bob") is S.WRAP_UP


async def test_a_three_way_call_after_the_pick_up_holds_both_until_each_leaves() -> None:
    h = await bob_picked_up()
    await h.feed(ConferenceStarted(at(30), "c1", ALICE, BOB, "PJSIP/1002-02"))
    assert (h.state("alice"), h.state("bob")) == (S.ON_CALL, S.ON_CALL)
    assert h.acd.states.get("bob").calls_handled == 1
    await h.feed(ConferenceLeft(at(40), "c1", ALICE))
    assert (h.state("alice"), h.state("bob")) == (S.WRAP_UP, S.ON_CALL)
    await h.feed(CallEnded(at(90), "c1", EndCause.NORMAL, 88.0, agent=BOB))
    assert h.state("bob") is S.WRAP_UP


async def test_a_call_that_ends_during_the_consult_frees_the_colleague() -> None:
    h = await bob_picked_up()
    await h.feed(CallEnded(at(50), "c1", EndCause.NORMAL, 48.0, agent=ALICE))
    assert (h.state("alice"), h.state("bob")) == (S.WRAP_UP, S.AVAILABLE)
    assert h.states_of("bob")[-1] == (S.AVAILABLE, "consult-over")


async def test_no_call_is_offered_to_a_colleague_talking_in_a_consult() -> None:
    h = await bob_picked_up()
    await h.feed(offered("c2", 25), queued("c2", 26))
    await h.acd.run_due()
    assert [r for r in h.switch.of("redirect") if r[-1] == "1002"] == []


async def test_a_pick_up_of_a_consult_that_did_not_ring_the_agent_changes_nothing() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.acd.login("bob")
    await h.acd.pause("bob", "coaching")
    await h.feed(offered("c1"), queued("c1", 1), CallAnswered(at(2), "c1", ALICE, "support", 1.0))
    await h.feed(ConsultStarted(at(20), "c1", ALICE, BOB, "PJSIP/1002-02"))
    await h.feed(ConsultAnswered(at(24), "c1", ALICE, BOB, "PJSIP/1002-02", 4.0))
    assert h.state("bob") is S.PAUSED
    await h.feed(ConsultCancelled(at(30), "c1", ALICE, BOB))
    assert h.state("bob") is S.PAUSED


async def test_the_consulted_agent_is_busy_and_free_again_when_the_consult_is_cancelled() -> None:
    h = await alice_talking_then_consulting_bob()
    assert (h.state("alice"), h.state("bob")) == (S.ON_CALL, S.RINGING)
    assert h.acd.states.get("bob").call_id == "c1"
    await h.feed(ConsultCancelled(at(30), "c1", ALICE, BOB))
    assert h.states_of("bob")[-1] == (S.AVAILABLE, "consult-over")
    assert h.state("alice") is S.ON_CALL
    await h.feed(CallEnded(at(60), "c1", EndCause.NORMAL, 58.0, agent=ALICE))
    assert (h.state("alice"), h.state("bob")) == (S.WRAP_UP, S.AVAILABLE)


async def test_a_completed_consult_wraps_up_the_first_agent_and_gives_the_call_to_the_second() -> None:
    h = await alice_talking_then_consulting_bob()
    await h.feed(
        CallTransferred(at(30), "c1", ALICE, BOB, TransferKind.ATTENDED),
        CallAnswered(at(30), "c1", BOB, "support", 0.0, "PJSIP/1002-02"),
    )
    assert (h.state("alice"), h.state("bob")) == (S.WRAP_UP, S.ON_CALL)
    await h.feed(CallEnded(at(90), "c1", EndCause.NORMAL, 88.0, agent=BOB))
    assert h.state("bob") is S.WRAP_UP


async def test_a_three_way_call_holds_both_agents_until_each_leaves() -> None:
    h = await alice_talking_then_consulting_bob()
    await h.feed(ConferenceStarted(at(30), "c1", ALICE, BOB, "PJSIP/1002-02"))
    assert (h.state("alice"), h.state("bob")) == (S.ON_CALL, S.ON_CALL)
    await h.feed(ConferenceLeft(at(40), "c1", ALICE))
    assert (h.state("alice"), h.state("bob")) == (S.WRAP_UP, S.ON_CALL)
    await h.feed(CallEnded(at(90), "c1", EndCause.NORMAL, 88.0, agent=BOB))
    assert h.state("bob") is S.WRAP_UP


async def test_the_consulted_agent_may_leave_a_three_way_call_first() -> None:
    h = await alice_talking_then_consulting_bob()
    await h.feed(ConferenceStarted(at(30), "c1", ALICE, BOB, "PJSIP/1002-02"))
    await h.feed(ConferenceLeft(at(40), "c1", BOB))
    assert (h.state("alice"), h.state("bob")) == (S.ON_CALL, S.WRAP_UP)
    await h.feed(CallEnded(at(50), "c1", EndCause.NORMAL, 48.0, agent=ALICE))
    assert h.state("alice") is S.WRAP_UP


async def test_a_consulted_agent_who_is_paused_stays_paused() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.acd.login("bob")
    await h.acd.pause("bob", "coaching")
    await h.feed(offered("c1"), queued("c1", 1), CallAnswered(at(2), "c1", ALICE, "support", 1.0))
    await h.feed(ConsultStarted(at(20), "c1", ALICE, BOB, "PJSIP/1002-02"))
    await h.feed(ConsultCancelled(at(30), "c1", ALICE, BOB))
    assert h.state("bob") is S.PAUSED


async def test_no_call_is_offered_to_an_agent_being_consulted() -> None:
    h = await alice_talking_then_consulting_bob()
    await h.feed(offered("c2", 21), queued("c2", 22))
    assert [r for r in h.switch.of("redirect") if r[-1] == "1002"] == []
    await h.feed(ConsultCancelled(at(30), "c1", ALICE, BOB))
    await h.acd.run_due()
    assert [r[1:] for r in h.switch.of("redirect")][-1] == ("PJSIP/trunk-c2", "hotline-deliver", "1002")


def three_way_call(leaves_first: str) -> list[QueueLegFact]:
    """Alice answers at 15 s, consults Bob at 20 s (the caller on music until 30 s), the three
    talk from 30 s; ``leaves_first`` leaves at 50 s, the call ends at 90 s."""
    log = CallLog({"support": 20})
    events = [
        CallOffered(at(0), "c1", "13800131000", "", "4008123456", "PJSIP/trunk-1"),
        CallQueued(at(3), "c1", "support", position=1, priority=1),
        CallAnswered(at(15), "c1", ALICE, "support", 12.0, "PJSIP/1001-01", 3.0),
        CallHeld(at(20), "c1", "PJSIP/1001-01"),
        ConsultStarted(at(20), "c1", ALICE, BOB, "PJSIP/1002-02"),
        ConsultAnswered(at(22), "c1", ALICE, BOB, "PJSIP/1002-02", 2.0),
        CallResumed(at(30), "c1", "PJSIP/1001-01"),
        ConferenceStarted(at(30), "c1", ALICE, BOB, "PJSIP/1002-02"),
        ConferenceLeft(at(50), "c1", leaves_first),
        # The caller's time with an agent, once (cti: overlapping legs count once).
        CallEnded(
            at(90), "c1", EndCause.NORMAL, talk_seconds=75.0, agent=BOB if leaves_first == ALICE else ALICE
        ),
    ]
    facts = [f for e in events for f in log.feed(e)]
    return [f for f in facts + log.flush() if isinstance(f, QueueLegFact)]


def test_the_report_gives_the_first_agent_their_own_talk_time_when_they_leave_a_three_way_call() -> None:
    [leg] = three_way_call(leaves_first=ALICE)
    # 15 s → 50 s, less the 10 s the caller heard music: Bob's time after she left is not hers.
    assert (leg.agent, leg.talk_s, leg.hold_s) == (ALICE, 25.0, 10.0)


def test_the_report_counts_a_three_way_call_once_when_the_colleague_leaves_first() -> None:
    [leg] = three_way_call(leaves_first=BOB)
    # Alice talked to the end: the call's talk time (counted once), less the music.
    assert (leg.agent, leg.talk_s, leg.hold_s) == (ALICE, 65.0, 10.0)
