"""Leaving Queue() without an agent on the production dialplan, as captures 16 and 19 show it: a
Redirect and a QueueWithdrawCaller are abandons to app_queue; a withdraw waits for app_queue's
next look at the caller. Also the phones' registrations and what the AMI user may read."""

from __future__ import annotations

from cti.ami_protocol import AmiMessage, first
from cti.simulator import AgentScript, CallerScript
from tests.simulator.helpers import Rig
from tests.simulator.test_hotline_dialplan import hotline, of_channel, set_variable


async def waiting_caller(r: Rig, hangup_after_s: float = 60.0) -> tuple[str, float]:
    """A caller waiting in support: its channel and when it joined."""
    r.sim.place_call(CallerScript(hangup_after_s=hangup_after_s))
    await r.clock.sleep(3.0)
    await r.ami.sync()
    [join] = r.ami.events("QueueCallerJoin")
    return first(join, "Channel"), float(first(join, "Timestamp"))


def variables(r: Rig, channel: str, name: str) -> list[str]:
    return [first(m, "Value") for m in of_channel(r, "VarSet", channel) if first(m, "Variable") == name]


def stamp(message: AmiMessage) -> float:
    return float(first(message, "Timestamp"))


async def test_a_redirect_out_of_the_queue_is_an_abandon_to_app_queue_and_the_call_goes_on() -> None:
    async with hotline(ivr=[]) as r:
        channel, _ = await waiting_caller(r)
        await r.clock.sleep(10.0)
        await r.ami.action("Redirect", Channel=channel, Context="hotline-deliver", Exten="1001")
        await r.clock.sleep(5.0)
        await r.ami.sync()
        [abandon] = of_channel(r, "QueueCallerAbandon", channel)
        assert (first(abandon, "Queue"), first(abandon, "HoldTime")) == ("support", "10")
        assert first(abandon, "Context") == "hotline-deliver"
        assert variables(r, channel, "ABANDONED") == ["TRUE"]
        assert of_channel(r, "HangupRequest", channel) == []
        assert r.sim.find_channel(channel) is not None  # talking to 1001
        # The queue counts it as abandoned.
        status = await r.ami.action("QueueStatus", Queue="support")
        await r.ami.sync()
        [params] = [
            m for m in r.ami.events("QueueParams") if first(m, "ActionID") == first(status, "ActionID")
        ]
        assert first(params, "Abandoned") == "1"


async def test_the_target_of_a_redirect_out_of_the_queue_shows_queue_at_its_first_priority() -> None:
    async with hotline(ivr=[]) as r:
        channel, _ = await waiting_caller(r)
        await r.ami.action("Redirect", Channel=channel, Context="hotline-deliver", Exten="1001")
        await r.clock.sleep(1.0)
        await r.ami.sync()
        steps = [
            (first(m, "Context"), first(m, "Priority"), first(m, "Application"))
            for m in of_channel(r, "Newexten", channel)
        ]
        deliver = [s for s in steps if s[0] == "hotline-deliver"]
        assert deliver[:2] == [("hotline-deliver", "1", "Queue"), ("hotline-deliver", "2", "Set")]


async def test_a_withdrawn_caller_leaves_at_the_queues_next_look_and_goes_on_to_the_fallback() -> None:
    async with hotline(ivr=[]) as r:
        channel, joined = await waiting_caller(r)
        response = await r.ami.action(
            "QueueWithdrawCaller", Queue="support", Caller=channel, WithdrawInfo="1001"
        )
        assert first(response, "Message") == "Withdraw requested successfully"
        # Asked during the position announcement: app_queue looks again a second after it.
        await r.clock.sleep_until(joined + 5.9)
        await r.ami.sync()
        assert of_channel(r, "QueueCallerLeave", channel) == []
        await r.clock.sleep_until(joined + 6.1)
        await r.ami.sync()
        [left] = of_channel(r, "QueueCallerLeave", channel)
        assert stamp(left) == joined + 6.0
        assert first(of_channel(r, "QueueCallerAbandon", channel)[0], "HoldTime") == "6"
        assert variables(r, channel, "QUEUE_WITHDRAW_INFO") == ["1001"]
        assert variables(r, channel, "QUEUESTATUS") == ["WITHDRAW"]
        joins = [first(m, "Queue") for m in of_channel(r, "QueueCallerJoin", channel)]
        assert joins == ["support", "support-fallback"]
        # Entering Queue() again resets the ABANDONED the withdraw left.
        assert variables(r, channel, "ABANDONED") == ["TRUE", ""]


async def test_a_withdraw_after_the_announcement_waits_for_the_next_second() -> None:
    async with hotline(ivr=[]) as r:
        channel, joined = await waiting_caller(r)
        await r.clock.sleep_until(joined + 8.3)
        await r.ami.action("QueueWithdrawCaller", Queue="support", Caller=channel)
        await r.clock.sleep(2.0)
        await r.ami.sync()
        [left] = of_channel(r, "QueueCallerLeave", channel)
        assert stamp(left) == joined + 9.0
        assert variables(r, channel, "QUEUE_WITHDRAW_INFO") == []  # no info asked for


async def test_a_withdraw_app_queue_cannot_do_is_refused_in_its_words() -> None:
    async with hotline(ivr=[]) as r:
        channel, _ = await waiting_caller(r)
        answers = [
            await r.ami.action("QueueWithdrawCaller", Queue="nosuch", Caller=channel),
            await r.ami.action("QueueWithdrawCaller", Queue="sales", Caller=channel),
            await r.ami.action("QueueWithdrawCaller", Queue="support", Caller=channel),
            await r.ami.action("QueueWithdrawCaller", Queue="support", Caller=channel),
        ]
        assert [first(a, "Message") for a in answers] == [
            "Unable to request withdraw from queue: No such queue",
            "Unable to request withdraw from queue: No such caller",
            "Withdraw requested successfully",
            "Unable to request withdraw from queue: Already requested",
        ]


async def test_a_waiting_caller_hears_its_position_at_the_join_and_every_minute() -> None:
    async with hotline(ivr=[]) as r:
        channel, joined = await waiting_caller(r, hangup_after_s=140.0)
        await r.clock.sleep_until(joined + 130.0)
        await r.ami.sync()
        music = [
            (m.get("Event"), stamp(m) - joined) for m in r.ami.messages if first(m, "Channel") == channel
        ]
        music = [m for m in music if str(m[0]).startswith("MusicOnHold")]
        assert music == [
            ("MusicOnHoldStart", 0.0),
            ("MusicOnHoldStop", 0.0),
            ("MusicOnHoldStart", 5.0),
            ("MusicOnHoldStop", 60.0),
            ("MusicOnHoldStart", 65.0),
            ("MusicOnHoldStop", 120.0),
            ("MusicOnHoldStart", 125.0),
        ]


async def test_a_phone_that_registers_and_goes_away_shows_in_its_queue_members() -> None:
    async with hotline([AgentScript("1001", registered=False)]) as r:
        await r.ami.action("Ping")
        r.sim.register_phone("1001")
        await r.clock.sleep(1.0)
        r.sim.unregister_phone("1001")
        await r.ami.sync()
        support = [m for m in r.ami.events("QueueMemberStatus") if first(m, "Queue") == "support-fallback"]
        assert [first(m, "Status") for m in support] == ["1", "5"]
        peers = [first(m, "PeerStatus") for m in r.ami.events("PeerStatus")]
        contacts = [first(m, "ContactStatus") for m in r.ami.events("ContactStatus")]
        assert (peers, contacts) == (["Reachable", "Unreachable"], ["NonQualified", "Reachable", "Removed"])


async def test_the_production_ami_user_reads_no_digits_agi_or_security_events() -> None:
    ivr = ['STREAM FILE menu "12"', set_variable("HOTLINE_QUEUE", "sales")]
    async with hotline(ivr=ivr) as r:
        r.sim.place_call(CallerScript(presses=((0.5, "1"),), hangup_after_s=10.0))
        await r.ami.action("NoSuchAction")
        await r.sim.wait_calls_ended()
        await r.ami.sync()
        names = {m.get("Event") for m in r.ami.messages}
        assert not names & {"DTMFEnd", "AGIExecStart", "AGIExecEnd", "RequestBadFormat"}
        # The digit cut the prompt short: res_agi calls that FAILED.
        assert [
            first(m, "Value") for m in r.ami.events("VarSet") if first(m, "Variable") == "PLAYBACKSTATUS"
        ] == ["FAILED"]
