"""The ACD calls callers back, takes profile changes at once, and pauses agents whose phone is gone."""

from __future__ import annotations

from acd.callbacks import CallbackRequest
from acd.events import (
    CallbackCompleted,
    CallbackFailed,
    CallbackScheduled,
    CallbackSource,
    CallbackStarted,
)
from acd.models import AgentProfile, AgentState, MaxWaitAction
from cti.errors import SwitchError
from cti.events import CallAnswered, CallEnded, CallRinging, EndCause, MemberChange, MemberStatusChanged
from cti.switch import OriginateResult
from tests.acd.test_acd_service import CALLER, Harness, at, config, offered, queued

S = AgentState
NUMBER = "13800131000"


def callback(cid: str = "cb1", queued_s: float = 0, number: str = NUMBER) -> CallbackRequest:
    return CallbackRequest(cid, number, "support", at(queued_s), call_id=cid)


async def settle(h: Harness) -> None:
    await h.acd.callbacks.wait_idle()


async def test_an_idle_agent_rings_first_then_the_customer_and_wraps_up_after_the_call() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.acd.request_callback(callback())
    assert h.state("alice") is S.OUTBOUND
    await settle(h)
    assert h.switch.of("originate") == [("originate", "PJSIP/1001", "click-to-dial", NUMBER, "")]
    [started] = h.published(CallbackStarted)
    assert (started.agent, started.attempt) == ("alice", 1)
    assert [c.callback_id for c in h.published(CallbackCompleted)] == ["cb1"]
    h.clock.now = at(5)
    await h.feed(CallRinging(at(4), "out-1", "PJSIP/1001", "", "PJSIP/1001-01"))
    await h.feed(CallAnswered(at(5), "out-1", "PJSIP/1001", "", 0.0))
    assert h.acd.states.get("alice").call_id == "out-1"
    await h.feed(CallEnded(at(65), "out-1", EndCause.NORMAL, 60.0))
    assert h.state("alice") is S.WRAP_UP
    assert h.acd.states.get("alice").wrapup_until == at(75)  # the support queue's wrap-up


async def test_a_callback_keeps_its_place_ahead_of_a_caller_who_queued_later() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.feed(offered("c0"), queued("c0", 1), CallAnswered(at(2), "c0", "PJSIP/1001", "support", 1.0))
    await h.acd.request_callback(callback(queued_s=5))
    await h.feed(offered("c1", 9), queued("c1", 10))
    assert h.switch.of("originate") == []
    await h.feed(CallEnded(at(20), "c0", EndCause.NORMAL, 10.0))
    await h.acd.ready("alice")
    assert h.state("alice") is S.OUTBOUND
    await settle(h)
    assert [r[1] for r in h.switch.of("redirect")] == ["PJSIP/trunk-c0"]  # c1 still waits
    assert len(h.switch.of("originate")) == 1


async def test_a_caller_who_queued_before_the_callback_is_served_first() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.feed(offered("c0"), queued("c0", 1), CallAnswered(at(2), "c0", "PJSIP/1001", "support", 1.0))
    await h.feed(offered("c1", 2), queued("c1", 3))
    await h.acd.request_callback(callback(queued_s=5))
    await h.feed(CallEnded(at(20), "c0", EndCause.NORMAL, 10.0))
    await h.acd.ready("alice")
    assert h.state("alice") is S.RINGING
    assert [r[1] for r in h.switch.of("redirect")] == ["PJSIP/trunk-c0", "PJSIP/trunk-c1"]
    assert h.switch.of("originate") == []


async def test_a_failed_originate_frees_the_agent_and_retries_later_until_the_last_attempt() -> None:
    h = Harness()
    h.switch.originate_results = [
        OriginateResult("o", False, reason="8"),
        SwitchError("link down"),
        OriginateResult("o", False, reason="5"),
    ]
    await h.acd.login("alice")
    await h.acd.request_callback(callback())
    await settle(h)
    assert h.state("alice") is S.AVAILABLE
    [failed] = h.published(CallbackFailed)
    assert failed.retry_at == at(300)
    h.clock.now = at(300)
    await h.acd.run_due()
    await settle(h)
    h.clock.now = at(600)
    await h.acd.run_due()
    await settle(h)
    assert len(h.switch.of("originate")) == 3
    assert [f.retry_at for f in h.published(CallbackFailed)] == [at(300), at(600), None]
    assert h.acd.callbacks.queue.pending() == []
    assert h.state("alice") is S.AVAILABLE


async def test_an_agent_who_does_not_answer_the_callback_ring_is_paused_as_missed() -> None:
    h = Harness()
    h.switch.originate_results = [OriginateResult("o", False, reason="3")]
    await h.acd.login("alice")
    await h.acd.request_callback(callback())
    await settle(h)
    record = h.acd.states.get("alice")
    assert (record.state, record.reason) == (S.PAUSED, "missed")


async def test_a_live_caller_waits_for_an_agent_busy_on_a_callback() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.acd.request_callback(callback())
    await h.feed(offered("c1", 1), queued("c1", 2))
    assert h.switch.of("redirect") == []


async def test_the_same_number_asking_twice_is_called_back_once() -> None:
    h = Harness()
    await h.acd.request_callback(callback("cb1"))
    await h.acd.request_callback(callback("cb2", queued_s=9))
    assert [(e.callback_id, e.merged) for e in h.published(CallbackScheduled)] == [
        ("cb1", False),
        ("cb1", True),
    ]
    assert [r.callback_id for r in h.acd.callbacks.queue.pending()] == ["cb1"]


async def test_a_caller_at_the_maximum_wait_is_called_back_in_the_place_they_queued() -> None:
    h = Harness(config(max_wait_s=60, max_wait_action=MaxWaitAction.CALLBACK))
    await h.feed(offered("c1"), queued("c1", 1))
    h.clock.now = at(62)
    await h.acd.run_due()
    assert h.switch.of("redirect") == [
        ("redirect", CALLER.replace("0000009a", "c1"), "hotline-callback", "support")
    ]
    [scheduled] = h.published(CallbackScheduled)
    assert (scheduled.number, scheduled.requested_at, scheduled.source) == (
        NUMBER,
        at(1),
        CallbackSource.MAX_WAIT,
    )
    await h.acd.login("alice")
    await settle(h)
    callback_ring = ("originate", "PJSIP/1001", "click-to-dial", NUMBER, '"Callback" <4008123456>')
    assert h.switch.of("originate") == [callback_ring]  # the agent sees the hotline's number


# --- profile changes at run time --------------------------------------------------------------


async def test_a_new_skill_applies_at_once_to_an_available_agent() -> None:
    h = Harness()
    await h.acd.login("carol")  # sales only
    await h.feed(offered("c1"), queued("c1", 1))
    assert h.switch.of("redirect") == []
    h.acd.update_agent(AgentProfile("carol", "1003", {"sales": 3, "support": 4}))
    await h.acd.ready("carol")  # nothing to do for the state; routing sees the skill
    await h.feed(offered("c2", 2), queued("c2", 3))
    assert [(r[1], r[3]) for r in h.switch.of("redirect")] == [("PJSIP/trunk-c2", "1003")]


async def test_an_agent_on_a_call_keeps_it_and_takes_new_skills_and_extension_afterwards() -> None:
    h = Harness()
    await h.acd.login("carol")
    await h.feed(offered("s1"), queued("s1", 1, queue="sales"))
    await h.feed(CallAnswered(at(2), "s1", "PJSIP/1003", "sales", 1.0))
    h.acd.update_agent(AgentProfile("carol", "2003", {"support": 4}))
    assert h.state("carol") is S.ON_CALL
    await h.feed(offered("c1", 3), queued("c1", 4))
    assert len(h.switch.of("redirect")) == 1
    await h.feed(CallEnded(at(10), "s1", EndCause.NORMAL, 8.0))
    await h.acd.ready("carol")
    assert h.switch.of("redirect")[-1][1:] == ("PJSIP/trunk-c1", "hotline-deliver", "2003")


async def test_an_agent_added_at_run_time_can_log_in() -> None:
    h = Harness()
    h.acd.update_agent(AgentProfile("dave", "1004", {"support": 2}))
    await h.acd.login("dave")
    await h.feed(offered("c1"), queued("c1", 1))
    assert h.switch.of("redirect")[-1][3] == "1004"


# --- unreachable phones ---------------------------------------------------------------------


def member(
    device_state: str, seconds: float, interface: str = "PJSIP/1001", server: str = ""
) -> MemberStatusChanged:
    return MemberStatusChanged(
        at(seconds),
        "support-fallback",
        interface,
        "Agent",
        MemberChange.DEVICE,
        False,
        "",
        device_state,
        server,
    )


async def test_an_available_agent_whose_phone_unregisters_is_paused_and_stays_paused_when_it_returns() -> (
    None
):
    h = Harness()
    await h.acd.login("alice")
    await h.feed(member("UNAVAILABLE", 1), member("UNAVAILABLE", 1))
    record = h.acd.states.get("alice")
    assert (record.state, record.reason) == (S.PAUSED, "unreachable")
    await h.feed(offered("c1", 2), queued("c1", 3))
    assert h.switch.of("redirect") == []
    await h.feed(member("NOT_INUSE", 4))
    assert h.state("alice") is S.PAUSED
    assert ("queue_pause", "PJSIP/1001", True, "unreachable") in h.switch.of("queue_pause")
    await h.acd.ready("alice")
    assert h.switch.of("redirect")[-1][1] == "PJSIP/trunk-c1"


async def test_an_agent_on_a_call_is_not_paused_when_their_phone_state_says_unavailable() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.feed(offered("c1"), queued("c1", 1))
    await h.feed(CallAnswered(at(2), "c1", "PJSIP/1001", "support", 1.0))
    await h.feed(member("UNAVAILABLE", 3), member("UNAVAILABLE", 3, interface="PJSIP/9999"))
    assert h.state("alice") is S.ON_CALL


async def test_a_callback_rings_the_phone_a_hot_desked_agent_logged_in_at() -> None:
    h = Harness()
    await h.acd.login("alice", extension="1009")
    await h.acd.request_callback(callback())
    await settle(h)
    assert h.switch.of("originate") == [("originate", "PJSIP/1009", "click-to-dial", NUMBER, "")]


async def test_with_several_servers_only_the_phones_own_server_can_say_it_is_unreachable() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.feed(member("NOT_INUSE", 1, server="sh"))  # registered to sh
    await h.feed(member("UNAVAILABLE", 2, server="bj"))  # bj lists it too, and cannot ring it
    assert h.state("alice") is S.AVAILABLE
    await h.feed(offered("sh-1795415672.1", 3), queued("sh-1795415672.1", 4))
    assert [r[1] for r in h.switch.of("redirect")] == ["PJSIP/trunk-sh-1795415672.1"]
    await h.feed(CallEnded(at(5), "sh-1795415672.1", EndCause.NORMAL, 1.0))
    await h.acd.ready("alice")
    await h.feed(member("UNAVAILABLE", 9, server="sh"))  # gone from its own server
    record = h.acd.states.get("alice")
    assert (record.state, record.reason) == (S.PAUSED, "unreachable")


async def test_an_agent_whose_phone_registers_to_another_server_takes_that_servers_callers() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.feed(member("NOT_INUSE", 1, server="bj"))
    await h.feed(offered("sh-1795415672.1", 2), queued("sh-1795415672.1", 3))
    assert h.switch.of("redirect") == []  # alice's phone is on bj
    await h.feed(member("NOT_INUSE", 4, server="sh"))  # the phone registered to sh now
    assert [r[1] for r in h.switch.of("redirect")] == ["PJSIP/trunk-sh-1795415672.1"]
