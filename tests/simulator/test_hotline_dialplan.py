"""The production dialplan (asterisk-config/extensions.conf, queues.conf) in the simulator: the
member-less waiting queue, Hotline's delivery by Redirect, the -fallback twins, the IVR's actions
and the ACD's max-wait Redirects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from cti.ami_protocol import AmiMessage, first
from cti.events import CallAnswered, CallQueued, MessageLeft
from cti.simulator import AgentScript, CallerScript, Dialplan, SwitchSimulator
from tests.e2e.system import free_port
from tests.simulator.capture import ScriptedAgiServer
from tests.simulator.helpers import Rig, rig

AGENTS = [AgentScript("1001", answer_after_s=2.0), AgentScript("1002", answer_after_s=3.0)]
FALLBACK_QUEUES = {"support-fallback", "sales-fallback", "vip-fallback", "complaints-fallback"}


@asynccontextmanager
async def hotline(
    agents: list[AgentScript] = AGENTS, ivr: list[str] | None = None, members: dict | None = None
) -> AsyncIterator[Rig]:
    """A simulator on the production dialplan; ``ivr`` None: no FastAGI server at all."""
    server = ScriptedAgiServer(ivr) if ivr is not None else None
    url = f"agi://127.0.0.1:{await server.start()}/ivr" if server is not None else ""
    try:
        async with rig(agents, members=members, agi_url=url, dialplan=Dialplan.HOTLINE) as r:
            yield r
    finally:
        if server is not None:
            await server.stop()


def of_channel(r: Rig, event: str, channel: str) -> list[AmiMessage]:
    return [m for m in r.ami.events(event) if first(m, "Channel") == channel]


def apps(r: Rig, channel: str) -> list[str]:
    return [f"{first(m, 'Context')}:{first(m, 'Application')}" for m in of_channel(r, "Newexten", channel)]


def set_variable(name: str, value: str) -> str:
    return f'SET VARIABLE {name} "{value}"'


async def test_the_production_dialplan_has_the_four_waiting_queues_and_their_fallback_twins() -> None:
    sim = SwitchSimulator(agents=AGENTS)
    assert sim.dialplan is Dialplan.HOTLINE
    assert set(sim.queues) == {"support", "sales", "vip", "complaints"} | FALLBACK_QUEUES
    await sim.start()
    try:
        for name, queue in sim.queues.items():
            expected = {"PJSIP/1001", "PJSIP/1002"} if name in FALLBACK_QUEUES else set()
            assert set(queue.members) == expected, name
            assert all(m.membership == "static" for m in queue.members.values())
    finally:
        await sim.stop()


async def test_without_a_fastagi_server_the_call_lands_in_support_fallback_and_an_agent_answers() -> None:
    async with hotline() as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=30.0))
        await call.done
        await r.ami.sync()
        [join] = r.ami.events("QueueCallerJoin")
        assert first(join, "Queue") == "support-fallback"
        channel = first(join, "Channel")
        assert [
            first(m, "Value") for m in of_channel(r, "VarSet", channel) if first(m, "Variable") == "AGISTATUS"
        ] == ["FAILURE"]
        assert "hotline-fallback:Queue" in apps(r, channel)
        assert "hotline-wait:Queue" not in apps(r, channel)
        [connect] = r.ami.events("AgentConnect")
        assert first(connect, "Queue") == "support-fallback"
        assert call.answered is not None and call.agi_status == "FAILURE"
        queued = [e for e in r.ami.domain_events() if isinstance(e, CallQueued)]
        assert [e.queue for e in queued] == ["support-fallback"]


async def test_with_the_ivr_up_the_caller_waits_in_the_memberless_queue_until_hotline_delivers() -> None:
    async with hotline(ivr=[set_variable("HOTLINE_QUEUE", "sales")]) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=200.0))
        await r.clock.sleep(100.0)
        [join] = r.ami.events("QueueCallerJoin")
        assert first(join, "Queue") == "sales"
        assert r.ami.events("AgentCalled") == [] and r.ami.events("DialBegin") == []
        assert call.answered is None
        channel = first(join, "Channel")
        response = await r.ami.action("Redirect", Channel=channel, Context="hotline-deliver", Exten="1002")
        assert first(response, "Response") == "Success"
        await call.done
        await r.ami.sync()
        assert first(r.ami.events("QueueCallerLeave")[0], "Queue") == "sales"
        # The caller hung up during the conversation: Dial ends, and the h extension sends the
        # call to the SMS survey (docs/survey.md).
        after_dial = apps(r, channel)[apps(r, channel).index("hotline-deliver:Dial") + 1 :]
        assert after_dial == [
            "hotline-deliver:GotoIf",
            "hotline-survey:StopMixMonitor",
            "hotline-survey:GotoIf",
            "hotline-survey:AGI",
            "hotline-survey:GotoIf",
            "hotline-survey:NoOp",
        ]
        assert call.agent == "1002" and call.agi_status == "SUCCESS"
        answered = next(e for e in r.ami.domain_events() if isinstance(e, CallAnswered))
        assert answered.agent == "PJSIP/1002"


async def test_an_unanswered_delivery_requeues_the_caller_with_a_higher_priority() -> None:
    agents = [AgentScript("1001", answer_after_s=None)]
    async with hotline(agents, ivr=[set_variable("QUEUE_PRIO", "3")]) as r:
        first_call = r.sim.place_call(CallerScript(caller="13800000001", hangup_after_s=120.0))
        await r.clock.sleep(1.0)
        r.sim.place_call(CallerScript(caller="13800000002", hangup_after_s=120.0))
        await r.clock.sleep(5.0)
        channel = first(r.ami.events("QueueCallerJoin")[0], "Channel")
        await r.ami.action("Redirect", Channel=channel, Context="hotline-deliver", Exten="1001")
        await r.clock.sleep(20.0)
        joins = of_channel(r, "QueueCallerJoin", channel)
        assert [first(j, "Queue") for j in joins] == ["support", "support"]
        # The other caller (QUEUE_PRIO 3 too) joined while this one rang: it goes back ahead.
        assert first(joins[1], "Position") == "1"
        prio = [
            first(m, "Value")
            for m in of_channel(r, "VarSet", channel)
            if first(m, "Variable") == "QUEUE_PRIO"
        ]
        assert prio[-1] == "4"
        assert first(of_channel(r, "DialEnd", channel)[0], "DialStatus") == "NOANSWER"
        status = await r.ami.action("QueueStatus", Queue="support")
        del status
        await r.ami.sync()
        entries = [
            m for m in r.ami.messages if m.get("Event") == "QueueEntry" and first(m, "Channel") == channel
        ]
        assert first(entries[-1], "Priority") == "4" and first(entries[-1], "Position") == "1"
        await first_call.done


async def test_a_caller_hotline_never_delivers_goes_to_the_fallback_after_the_wait() -> None:
    async with hotline(ivr=[]) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=400.0))
        await r.clock.sleep(179.0)
        assert [first(j, "Queue") for j in r.ami.events("QueueCallerJoin")] == ["support"]
        await r.clock.sleep(10.0)
        await r.ami.sync()
        assert [first(j, "Queue") for j in r.ami.events("QueueCallerJoin")] == ["support", "support-fallback"]
        await call.done
        assert call.answered is not None


async def test_the_ivr_transfer_action_dials_the_extension_without_queueing() -> None:
    ivr = [set_variable("HOTLINE_ACTION", "transfer"), set_variable("HOTLINE_TRANSFER_TO", "1002")]
    async with hotline(ivr=ivr) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=30.0))
        await call.done
        await r.ami.sync()
        assert r.ami.events("QueueCallerJoin") == []
        # app_dial names the resource dialled, without the technology (capture 16).
        assert first(r.ami.events("DialBegin")[0], "DialString") == "1002"
        assert call.agent == "1002"
        # The caller hung up on the agent: the h extension texts the survey, as after a delivery.
        channel = first(r.ami.events("DialBegin")[0], "Channel")
        after_dial = apps(r, channel)[apps(r, channel).index("hotline-transfer:Dial") + 1 :]
        assert after_dial[:4] == [
            "hotline-transfer:GotoIf",
            "hotline-survey:StopMixMonitor",
            "hotline-survey:GotoIf",
            "hotline-survey:AGI",
        ]


async def test_an_agent_who_hangs_up_a_transferred_call_leaves_the_caller_to_the_keypad_survey() -> None:
    ivr = [set_variable("HOTLINE_ACTION", "transfer"), set_variable("HOTLINE_TRANSFER_TO", "1002")]
    agents = [AgentScript("1001"), AgentScript("1002", answer_after_s=3.0, hangup_after_s=5.0)]
    async with hotline(agents, ivr=ivr) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=60.0))
        await call.done
        await r.ami.sync()
        channel = first(r.ami.events("DialBegin")[0], "Channel")
        after_dial = apps(r, channel)[apps(r, channel).index("hotline-transfer:Dial") + 1 :]
        assert after_dial[:4] == [
            "hotline-transfer:GotoIf",
            "hotline-survey:StopMixMonitor",
            "hotline-survey:NoOp",
            "hotline-survey:GotoIf",
        ]
        assert "hotline-survey:AGI" in after_dial and "hotline-wait:Queue" not in after_dial
        assert call.agent == "1002"


async def test_a_transfer_to_a_number_that_is_not_allowed_leaves_the_caller_waiting_for_an_agent() -> None:
    ivr = [set_variable("HOTLINE_ACTION", "transfer"), set_variable("HOTLINE_TRANSFER_TO", "7")]
    async with hotline(ivr=ivr) as r:
        r.sim.place_call(CallerScript(hangup_after_s=10.0))
        await r.clock.sleep(8.0)
        assert [first(j, "Queue") for j in r.ami.events("QueueCallerJoin")] == ["support"]


async def test_the_ivr_message_action_records_a_message_and_tells_hotline() -> None:
    async with hotline(ivr=[set_variable("HOTLINE_ACTION", "message")]) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=20.0))
        await call.done
        await r.ami.sync()
        assert r.ami.events("QueueCallerJoin") == []
        [event] = r.ami.events("UserEvent")
        assert first(event, "UserEvent") == "HotlineMessage"
        assert first(event, "Queue") == "support" and first(event, "Status") == "HANGUP"
        assert first(event, "File").endswith(f"/{first(event, 'Linkedid')}/{first(event, 'Uniqueid')}.wav")
        assert first(event, "Privilege") == "user,all"
        [left] = [e for e in r.ami.domain_events() if isinstance(e, MessageLeft)]
        assert (left.queue, left.status, left.file) == ("support", "HANGUP", first(event, "File"))
        assert left.caller == call.caller and left.call_id == first(event, "Linkedid")


async def test_the_menus_own_message_prompts_and_limits_are_played_and_used() -> None:
    ivr = [
        set_variable("HOTLINE_MESSAGE_PROMPT", "/p/4008123456/zh/leave-message"),
        set_variable("HOTLINE_MESSAGE_SILENCE_S", "5"),
        set_variable("HOTLINE_MESSAGE_MAX_S", "60"),
        set_variable("HOTLINE_ACTION", "message"),
    ]
    async with hotline(ivr=ivr) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=20.0))
        await call.done
        await r.ami.sync()
        run = {first(m, "Application"): first(m, "AppData") for m in r.ami.events("Newexten")}
        assert run["Playback"] == "/p/4008123456/zh/leave-message"
        assert run["Record"].endswith(".wav,5,60,k")


async def test_a_caller_who_hangs_up_during_the_message_prompt_left_no_message() -> None:
    async with hotline(ivr=[set_variable("HOTLINE_ACTION", "message")]) as r:
        r.sim.prompt_lengths["vm-intro"] = 5.0
        call = r.sim.place_call(CallerScript(hangup_after_s=3.0, digits=""))
        await call.done
        await r.ami.sync()
        assert r.ami.events("UserEvent") == []


async def test_the_hangup_and_callback_actions_say_goodbye_and_end_the_call() -> None:
    for action, prompts in (("hangup", ["vm-goodbye"]), ("callback", ["auth-thankyou", "vm-goodbye"])):
        async with hotline(ivr=[set_variable("HOTLINE_ACTION", action)]) as r:
            call = r.sim.place_call(CallerScript(hangup_after_s=60.0, digits=""))
            await call.done
            await r.ami.sync()
            assert call.ended is not None and call.ended - call.arrived < 10.0
            played = [
                first(m, "AppData") for m in r.ami.events("Newexten") if first(m, "Application") == "Playback"
            ]
            assert played == prompts
            assert r.ami.events("QueueCallerJoin") == []
            [hangup] = r.ami.events("Hangup")
            assert first(hangup, "Cause") == "16"


async def test_an_unknown_action_still_gets_the_caller_an_agent() -> None:
    async with hotline(ivr=[set_variable("HOTLINE_ACTION", "Fax!")]) as r:
        r.sim.place_call(CallerScript(hangup_after_s=10.0))
        await r.clock.sleep(8.0)
        assert [first(j, "Queue") for j in r.ami.events("QueueCallerJoin")] == ["support"]
        assert any(first(m, "Exten") == "i" for m in r.ami.events("Newexten"))


async def test_a_max_wait_redirect_to_hotline_callback_thanks_the_caller_and_hangs_up() -> None:
    async with hotline(ivr=[]) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=170.0))
        await r.clock.sleep(90.0)
        channel = first(r.ami.events("QueueCallerJoin")[0], "Channel")
        await r.ami.action("Redirect", Channel=channel, Context="hotline-callback", Exten="support")
        await call.done
        await r.ami.sync()
        assert call.ended is not None and call.ended - call.arrived < 100.0
        # Queue() publishes the Redirect's first priority under its own name (capture 16).
        assert apps(r, channel)[-5:] == [
            "hotline-callback:Queue",
            "hotline-callback:NoOp",
            "hotline-callback:Playback",
            "hotline-callback:Playback",
            "hotline-callback:Hangup",
        ]
        assert first(r.ami.events("QueueCallerLeave")[0], "Queue") == "support"


async def test_a_max_wait_redirect_to_hotline_message_records_for_that_queue() -> None:
    async with hotline(ivr=[set_variable("HOTLINE_QUEUE", "vip")]) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=120.0))
        await r.clock.sleep(90.0)
        channel = first(r.ami.events("QueueCallerJoin")[0], "Channel")
        await r.ami.action("Redirect", Channel=channel, Context="hotline-message", Exten="vip")
        await call.done
        await r.ami.sync()
        [event] = r.ami.events("UserEvent")
        assert first(event, "Queue") == "vip" and first(event, "Status") == "HANGUP"
        assert r.ami.events("AgentCalled") == []


async def test_an_ivr_that_stalls_past_its_limit_hands_the_caller_to_the_fallback() -> None:
    async with hotline(ivr=['STREAM FILE endless ""']) as r:
        r.sim.prompt_lengths["endless"] = 1000.0
        call = r.sim.place_call(CallerScript(hangup_after_s=300.0, digits=""))
        await call.done
        await r.ami.sync()
        [join] = r.ami.events("QueueCallerJoin")
        assert first(join, "Queue") == "support-fallback"
        assert any(first(m, "Exten") == "T" for m in r.ami.events("Newexten"))
        assert call.queued is not None and 119.0 < call.queued - call.arrived < 125.0
        assert call.answered is not None


async def test_queue_pause_works_on_static_members_and_queue_remove_is_refused() -> None:
    async with hotline() as r:
        paused = await r.ami.action("QueuePause", Interface="PJSIP/1001", Paused="true", Reason="lunch")
        assert first(paused, "Response") == "Success"
        events = r.ami.events("QueueMemberPause")
        assert {first(e, "Queue") for e in events} == FALLBACK_QUEUES
        assert {first(e, "PausedReason") for e in events} == {"lunch"}
        removed = await r.ami.action("QueueRemove", Queue="support-fallback", Interface="PJSIP/1001")
        assert first(removed, "Response") == "Error" and first(removed, "Message") == "Member not dynamic"
        added = await r.ami.action("QueueAdd", Queue="support-fallback", Interface="PJSIP/1001")
        assert first(added, "Message") == "Unable to add interface: Already there"
        call = r.sim.place_call(CallerScript(hangup_after_s=30.0))
        await call.done
        assert call.agent == "1002"


async def test_when_every_fallback_member_is_paused_their_phones_ring_before_the_message() -> None:
    async with hotline() as r:
        for phone in AGENTS:
            await r.ami.action("QueuePause", Interface=phone.interface, Paused="true", Reason="logged-out")
        call = r.sim.place_call(CallerScript(hangup_after_s=400.0))
        await r.clock.sleep(299.0)
        assert r.ami.events("DialBegin") == []
        await call.done
        await r.ami.sync()
        [dial] = r.ami.events("DialBegin")
        assert first(dial, "DialString") == "1001"
        assert call.agent == "1001" and call.answered is not None
        assert call.answered - call.arrived > 300.0


async def test_with_nobody_to_ring_the_fallback_ends_in_a_message() -> None:
    async with hotline(agents=[AgentScript("1001", answer_after_s=None)]) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=400.0))
        await call.done
        await r.ami.sync()
        # 300 s in support-fallback, 30 s of ringing every phone, then the message.
        [event] = r.ami.events("UserEvent")
        assert first(event, "Queue") == "support" and first(event, "Status") == "HANGUP"
        assert call.answered is None


def conf_steps(context: str, exten: str) -> list[str]:
    """The applications of one extension of asterisk-config/extensions.conf, in order."""
    conf = Path(__file__).parents[2] / "asterisk-config" / "extensions.conf"
    steps: list[str] = []
    current = ""
    collecting = False
    for raw in conf.read_text().splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("["):
            current = line[1 : line.index("]")]
        elif current == context and line.startswith("exten =>"):
            name, _, rest = line[len("exten =>") :].strip().partition(",")
            steps = [rest.partition(",")[2].partition("(")[0]] if name == exten else steps
            collecting = name == exten
        elif current == context and line.startswith("same =>") and steps and collecting:
            steps.append(line.partition(",")[2].partition("(")[0])
    return steps


def path_in(r: Rig, channel: str, context: str) -> list[str]:
    return [a.partition(":")[2] for a in apps(r, channel) if a.partition(":")[0] == context]


async def test_the_simulated_paths_run_the_applications_extensions_conf_lists() -> None:
    agents = [AgentScript("1001", answer_after_s=None)]
    async with hotline(agents) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=400.0))
        await call.done
        await r.ami.sync()
        channel = first(r.ami.events("Newchannel")[0], "Channel")
        # One node (HOTLINE_AGI_2 empty): the GotoIf skips the second AGI().
        inbound = conf_steps("from-trunk", "_4008XXXXXX")
        del inbound[inbound.index("GotoIf") + 1]
        assert path_in(r, channel, "from-trunk") == inbound
        assert path_in(r, channel, "hotline-record") == conf_steps("hotline-record", "s")
        # Nobody answers anywhere: every step of hotline-fallback but the final Hangup.
        assert path_in(r, channel, "hotline-fallback") == conf_steps("hotline-fallback", "s")[:-1]
        assert path_in(r, channel, "hotline-message")[:4] == conf_steps("hotline-message", "s")[:4]
    async with hotline(ivr=[]) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=100.0))
        await r.clock.sleep(10.0)
        channel = first(r.ami.events("QueueCallerJoin")[0], "Channel")
        await r.ami.action("Redirect", Channel=channel, Context="hotline-callback", Exten="support")
        await call.done
        await r.ami.sync()
        assert path_in(r, channel, "hotline-route") == conf_steps("hotline-route", "s")
        assert path_in(r, channel, "hotline-wait") == conf_steps("hotline-wait", "s")[:8]
        # The Redirect out of Queue() shows the target's first priority as Queue (capture 16).
        callback = conf_steps("hotline-callback", "_[a-z].")
        assert path_in(r, channel, "hotline-callback") == ["Queue", *callback[1:]]


async def test_an_unreachable_ivr_is_tried_on_the_second_address_before_the_fallback() -> None:
    server = ScriptedAgiServer([])
    second = f"agi://127.0.0.1:{await server.start()}/ivr"
    try:
        async with rig(AGENTS, dialplan=Dialplan.HOTLINE) as r:  # the first address: nobody listens
            r.sim.agi_url_2 = second
            call = r.sim.place_call(CallerScript(hangup_after_s=30.0))
            await call.done
            await r.ami.sync()
            channel = first(r.ami.events("Newchannel")[0], "Channel")
            statuses = [
                first(m, "Value")
                for m in of_channel(r, "VarSet", channel)
                if first(m, "Variable") == "AGISTATUS"
            ]
            assert statuses == ["FAILURE", "SUCCESS"] and call.agi_status == "SUCCESS"
            agis = [
                first(m, "AppData")
                for m in of_channel(r, "Newexten", channel)
                if first(m, "Application") == "AGI"
            ]
            assert agis == [r.sim.agi_url, second]
            assert path_in(r, channel, "from-trunk") == conf_steps("from-trunk", "_4008XXXXXX")
            # The second node's IVR ran: the caller waits for Hotline, not in the fallback queue.
            assert [first(m, "Queue") for m in r.ami.events("QueueCallerJoin")] == ["support"]
    finally:
        await server.stop()


async def test_the_survey_is_asked_by_the_other_node_when_the_first_does_not_answer() -> None:
    agents = [AgentScript("1001", answer_after_s=1.0, hangup_after_s=3.0)]
    async with hotline(agents, ivr=[]) as r:
        # HOTLINE_AGI names a node that is down; HOTLINE_AGI_2 the one that answers.
        r.sim.agi_url_2, r.sim.agi_url = r.sim.agi_url, f"agi://127.0.0.1:{free_port()}/ivr"
        call = r.sim.place_call(CallerScript(hangup_after_s=200.0))
        await r.clock.sleep(10.0)
        [join] = r.ami.events("QueueCallerJoin")
        assert first(join, "Queue") == "support"  # the IVR ran, on the second node
        channel = first(join, "Channel")
        await r.ami.action("Redirect", Channel=channel, Context="hotline-deliver", Exten="1001")
        await call.done
        await r.ami.sync()
        survey = [
            f"{first(m, 'Application')}({first(m, 'AppData')})"
            for m in of_channel(r, "Newexten", channel)
            if first(m, "Context") == "hotline-survey"
        ]
        assert survey[-4:] == [
            f"AGI({r.sim.agi_url.replace('/ivr', '/survey')})",
            "GotoIf(0?done)",
            f"AGI({r.sim.agi_url_2.replace('/ivr', '/survey')})",
            "Hangup(16)",
        ]
        statuses = [
            first(m, "Value") for m in of_channel(r, "VarSet", channel) if first(m, "Variable") == "AGISTATUS"
        ]
        assert statuses[-2:] == ["FAILURE", "SUCCESS"]
