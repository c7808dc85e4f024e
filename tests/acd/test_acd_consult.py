"""The ACD's picture of both agents through a consult transfer (docs/transfers.md): the
consulted agent is busy from the ring, free again if the consult is cancelled, on the call once
it is theirs; each agent who leaves the call wraps up."""

from __future__ import annotations

from acd.models import AgentState as S
from cti.events import (
    CallAnswered,
    CallEnded,
    CallTransferred,
    ConferenceLeft,
    ConferenceStarted,
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
