"""Call flows beyond the captures: Hotline's delivery by Redirect, transfers, agents who hang up
or do not answer, and app_queue's choice of member."""

from __future__ import annotations

from cti.ami_protocol import first
from cti.events import CallAbandoned, CallAnswered, CallQueued, CallRinging, CallTransferred
from cti.simulator import AgentScript, CallerScript, DemoTraffic
from tests.simulator.helpers import Ami, rig


async def test_redirect_to_hotline_deliver_takes_the_caller_out_of_the_queue_to_the_agent() -> None:
    async with rig([AgentScript("1002", answer_after_s=2.0)]) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=20.0))
        await r.clock.sleep(5.0)
        [join] = r.ami.events("QueueCallerJoin")
        response = await r.ami.action(
            "Redirect", Channel=first(join, "Channel"), Context="hotline-deliver", Exten="1002"
        )
        assert first(response, "Response") == "Success"
        await call.done
        await r.ami.sync()
        caller_steps = [
            (first(m, "Context"), first(m, "Application"))
            for m in r.ami.events("Newexten")
            if first(m, "Channel") == first(join, "Channel")
        ]
        # Queue() publishes the Redirect's place with its own name; the Dial at that same
        # priority changes nothing Asterisk writes a Newexten for (capture 16).
        assert caller_steps[-2:] == [("from-trunk", "Queue"), ("hotline-deliver", "Queue")]
        assert [first(m, "DialString") for m in r.ami.events("DialBegin")] == ["PJSIP/1002"]
        kinds = [type(e).__name__ for e in r.ami.domain_events() if getattr(e, "call_id", None)]
        assert kinds.index("CallQueued") < kinds.index("CallRinging") < kinds.index("CallAnswered")
        answered = next(e for e in r.ami.domain_events() if isinstance(e, CallAnswered))
        assert answered.agent == "PJSIP/1002" and answered.queue == "support"
        assert call.answered is not None and call.agent == "1002"


async def test_an_unanswered_delivery_puts_the_caller_back_in_the_queue_ahead_of_others() -> None:
    async with rig([AgentScript("1002", answer_after_s=None)]) as r:
        first_call = r.sim.place_call(CallerScript(caller="13800000001", hangup_after_s=60.0))
        await r.clock.sleep(1.0)
        r.sim.place_call(CallerScript(caller="13800000002", hangup_after_s=60.0))
        await r.clock.sleep(5.0)
        channel = first(r.ami.events("QueueCallerJoin")[0], "Channel")
        await r.ami.action("Redirect", Channel=channel, Context="hotline-deliver", Exten="1002")
        await r.clock.sleep(20.0)
        joins = [m for m in r.ami.events("QueueCallerJoin") if first(m, "Channel") == channel]
        assert len(joins) == 2
        assert first(joins[1], "Position") == "1"
        dial_end = [m for m in r.ami.events("DialEnd") if first(m, "Channel") == channel]
        assert first(dial_end[0], "DialStatus") == "NOANSWER"
        await first_call.done
        await r.ami.sync()


async def redirected_out_of_a_bridge() -> Ami:
    agents = [AgentScript("1001", answer_after_s=1.0), AgentScript("1003", answer_after_s=1.0)]
    async with rig(agents, members={"support": ["PJSIP/1001"]}) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=30.0))
        await r.clock.sleep(8.0)
        [connect] = r.ami.events("AgentConnect")
        await r.ami.action("Redirect", Channel=first(connect, "Channel"), Context="transfer", Exten="1003")
        await call.done
        await r.ami.sync()
        assert call.agent == "1003"
        return r.ami


async def test_a_redirect_out_of_an_agent_bridge_ends_the_agents_part_and_dials_the_next() -> None:
    ami = await redirected_out_of_a_bridge()
    [complete] = ami.events("AgentComplete")
    assert first(complete, "Reason") == "transfer"
    assert [first(m, "DialString") for m in ami.events("DialBegin")] == ["PJSIP/1001", "PJSIP/1003"]
    caller = [m for m in ami.messages if first(m, "Channel") == first(complete, "Channel")]
    steps = [(m.get("Event"), first(m, "Context"), first(m, "Application")) for m in caller]
    # Leaving the bridge, the caller already shows the Redirect's target with the application it
    # ran (capture 17); the Dial at the target's first priority writes no Newexten of its own.
    moved = steps.index(("Newexten", "transfer", "Queue"))
    assert moved < steps.index(("BridgeLeave", "transfer", ""))
    assert ("Newexten", "transfer", "Dial") not in steps


async def test_redirecting_the_caller_out_of_an_agent_bridge_is_a_transfer() -> None:
    ami = await redirected_out_of_a_bridge()
    transferred = [e for e in ami.domain_events() if isinstance(e, CallTransferred)]
    assert len(transferred) == 1


async def test_an_agent_who_hangs_up_ends_the_queue_call_with_reason_agent() -> None:
    async with rig(
        [AgentScript("1001", answer_after_s=1.0, hangup_after_s=3.0)], {"support": ["PJSIP/1001"]}
    ) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=None))
        await call.done
        await r.ami.sync()
        [complete] = r.ami.events("AgentComplete")
        assert first(complete, "Reason") == "agent"
        assert first(complete, "TalkTime") == "3"
        hangups = [first(m, "Channel").rpartition("-")[0] for m in r.ami.events("Hangup")]
        assert hangups == ["PJSIP/1001", "PJSIP/trunk"]


async def test_a_member_who_does_not_answer_is_skipped_for_the_next_one() -> None:
    agents = [AgentScript("1001", answer_after_s=None), AgentScript("1002", answer_after_s=1.0)]
    async with rig(agents, members={"support": ["PJSIP/1001", "PJSIP/1002"]}) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=40.0))
        await call.done
        await r.ami.sync()
        [no_answer] = r.ami.events("AgentRingNoAnswer")
        assert first(no_answer, "Interface") == "PJSIP/1001"
        assert first(no_answer, "RingTime") == "10"
        [connect] = r.ami.events("AgentConnect")
        assert first(connect, "Interface") == "PJSIP/1002"
        rings = [e for e in r.ami.domain_events() if isinstance(e, CallRinging)]
        assert [e.agent for e in rings] == ["PJSIP/1001", "PJSIP/1002"]


async def test_rrmemory_hands_consecutive_calls_to_different_members() -> None:
    agents = [AgentScript("1001"), AgentScript("1002")]
    async with rig(agents, members={"support": ["PJSIP/1001", "PJSIP/1002"]}) as r:
        first_call = r.sim.place_call(CallerScript(hangup_after_s=10.0))
        await first_call.done
        await r.ami.sync()
        second_call = r.sim.place_call(CallerScript(hangup_after_s=10.0))
        await second_call.done
        assert [first_call.agent, second_call.agent] == ["1001", "1002"]


async def test_a_paused_member_is_not_rung() -> None:
    agents = [AgentScript("1001"), AgentScript("1002")]
    async with rig(agents, members={"support": ["PJSIP/1001", "PJSIP/1002"]}) as r:
        await r.ami.action("QueuePause", Interface="PJSIP/1001", Paused="true", Reason="lunch")
        call = r.sim.place_call(CallerScript(hangup_after_s=10.0))
        await call.done
        await r.ami.sync()
        assert call.agent == "1002"


async def test_an_ami_hangup_of_a_waiting_caller_is_an_abandon() -> None:
    async with rig() as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=None))
        await r.clock.sleep(6.0)
        channel = first(r.ami.events("QueueCallerJoin")[0], "Channel")
        response = await r.ami.action("Hangup", Channel=channel)
        assert first(response, "Message") == "Channel Hungup"
        await call.done
        await r.ami.sync()
        assert call.abandoned
        assert any(isinstance(e, CallAbandoned) for e in r.ami.domain_events())
        assert any(isinstance(e, CallQueued) for e in r.ami.domain_events())


async def test_queue_status_lists_waiting_callers_with_their_wait() -> None:
    async with rig() as r:
        r.sim.place_call(CallerScript(caller="13800000001", hangup_after_s=30.0))
        await r.clock.sleep(2.0)
        r.sim.place_call(CallerScript(caller="13800000002", hangup_after_s=30.0))
        await r.clock.sleep(3.0)
        await r.ami.action("QueueStatus", Queue="support")
        entries = r.ami.events("QueueEntry")
        assert [(first(e, "Position"), first(e, "CallerIDNum"), first(e, "Wait")) for e in entries] == [
            ("1", "13800000001", "5"),
            ("2", "13800000002", "3"),
        ]


async def test_an_ami_hangup_of_the_ringing_phone_moves_on_to_the_next_member() -> None:
    agents = [AgentScript("1001", answer_after_s=5.0), AgentScript("1002", answer_after_s=1.0)]
    async with rig(agents, members={"support": ["PJSIP/1001", "PJSIP/1002"]}) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=20.0))
        await r.clock.sleep(1.0)
        await r.ami.sync()
        ringing = first(r.ami.events("AgentCalled")[0], "DestChannel")
        await r.ami.action("Hangup", Channel=ringing)
        await call.done
        await r.ami.sync()
        statuses = [first(m, "DialStatus") for m in r.ami.events("DialEnd")]
        assert statuses == ["BUSY", "ANSWER"]
        assert call.agent == "1002"


async def test_background_traffic_places_callers_until_stopped() -> None:
    async with rig([AgentScript("1001")], members={"support": ["PJSIP/1001"]}) as r:
        traffic = DemoTraffic(r.sim, rate=2.0, seed=5)
        traffic.start()
        await r.clock.sleep(10.0)
        summary = await traffic.stop()
        placed = summary.offered
        await r.clock.sleep(10.0)
        assert 5 <= placed <= 40
        assert len(r.sim.calls) == placed


async def test_a_named_system_puts_its_name_in_every_id_and_every_call_event() -> None:
    """asterisk.conf's systemname (channel_internal_api.c, manager.c): ids "bj-EPOCH.SEQ", a
    SystemName header on every event of a call, and CoreSettings says it."""
    async with rig([AgentScript("1002", answer_after_s=1.0)], system_name="bj") as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=3.0))
        await call.done
        await r.ami.sync()
        events = [m for m in r.ami.messages if first(m, "Event") and first(m, "Uniqueid")]
        assert events and all(first(m, "SystemName") == "bj" for m in events)
        ids = {first(m, key) for m in events for key in ("Uniqueid", "Linkedid") if first(m, key)}
        assert ids and all(i.startswith("bj-") and i[3:].replace(".", "").isdigit() for i in ids)
        assert first(await r.ami.action("CoreSettings"), "SystemName") == "bj"
        assert first(r.ami.events("Newchannel")[0], "Channel").startswith("PJSIP/trunk-bj-")
