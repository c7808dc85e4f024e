"""The simulator's AMI side with bad and unusual input: nothing it is sent stops it."""

from __future__ import annotations

import asyncio

from cti.ami_protocol import first
from cti.simulator import AgentScript, CallerScript
from cti.simulator.ami_server import ActionFormatError, parse_action
from tests.simulator.helpers import rig


def test_an_action_line_without_a_colon_is_refused_with_the_line() -> None:
    try:
        parse_action(b"Action: Ping\r\nthis is not a header\r\n\r\n")
    except ActionFormatError as exc:
        assert "this is not a header" in str(exc)
    else:
        raise AssertionError("a malformed action was accepted")


def test_repeated_variables_are_all_kept_and_the_first_action_id_wins() -> None:
    action = parse_action(
        b"Action: Originate\r\nActionID: a\r\nVariable: X=1\r\nVariable: Y=2\r\nActionID: b\r\n\r\n"
    )
    assert action["actionid"] == "a"
    assert action["variable"].split("\n") == ["X=1", "Y=2"]


async def test_a_malformed_request_gets_an_error_and_the_next_action_is_still_answered() -> None:
    async with rig() as r:
        r.ami.writer.write(b"Action: Ping\r\ngarbage line\r\n\r\n")
        pong = await r.ami.action("Ping")
        assert first(pong, "Ping") == "Pong"
        errors = [m for m in r.ami.messages if first(m, "Response") == "Error"]
        assert "Malformed request" in first(errors[0], "Message")


async def test_actions_before_login_are_refused() -> None:
    async with rig() as r:
        client = await r.connect(login=False)
        response = await client.action("QueueStatus")
        assert first(response, "Message") == "Permission denied"
        await client.close()


async def test_a_wrong_secret_is_refused_the_socket_closed_and_others_told() -> None:
    async with rig() as r:
        intruder = await r.connect(login=False)
        response = await intruder.action("Login", Username="hotline", Secret="wrong")
        assert first(response, "Message") == "Authentication failed"
        with r.clock.busy():
            await asyncio.wait_for(intruder.closed.wait(), 5)
        await r.ami.sync()
        [alert] = r.ami.events("InvalidPassword")
        assert first(alert, "AccountID") == "hotline"
        assert first(alert, "RemoteAddress").startswith("IPV4/TCP/127.0.0.1/")


async def test_a_session_with_events_off_gets_responses_but_no_events() -> None:
    async with rig() as r:
        quiet = await r.connect(events="off")
        call = r.sim.place_call(CallerScript(hangup_after_s=3.0))
        await call.done
        await quiet.sync()
        assert all("Event" not in m for m in quiet.messages)
        await quiet.close()


async def test_an_oversized_request_closes_the_socket_and_the_switch_goes_on() -> None:
    async with rig() as r:
        hostile = await r.connect(login=False)
        hostile.writer.write(b"Action: Ping\r\nX: " + b"a" * 200_000)
        with r.clock.busy():
            await asyncio.wait_for(hostile.closed.wait(), 5)
        assert first(await r.ami.action("Ping"), "Ping") == "Pong"


async def test_unknown_action_is_an_error_and_a_security_event() -> None:
    async with rig() as r:
        response = await r.ami.action("NoSuchAction")
        assert first(response, "Message").startswith("Invalid/unknown command: NoSuchAction.")
        await r.ami.sync()
        [bad] = r.ami.events("RequestBadFormat")
        assert first(bad, "RequestType") == "Action: NoSuchAction"


async def test_sync_originate_answers_once_the_phone_picks_up() -> None:
    async with rig([AgentScript("1001", answer_after_s=2.0)]) as r:
        started = r.clock.time()
        response = await r.ami.action(
            "Originate", holds_time=False, Channel="PJSIP/1001", Context="click-to-dial", Exten="139"
        )
        assert first(response, "Response") == "Success"
        assert r.clock.time() - started == 2.0
        assert not r.ami.events("OriginateResponse")
        failed = await r.ami.action("Originate", Channel="PJSIP/nobody", Context="click-to-dial", Exten="139")
        assert first(failed, "Message") == "Originate failed"


async def test_spy_originate_starts_chanspy_on_the_agent_with_the_options() -> None:
    async with rig([AgentScript("2001", answer_after_s=1.0)]) as r:
        response = await r.ami.action(
            "Originate",
            Channel="PJSIP/2001",
            Context="spy",
            Exten="1001",
            Async="true",
            Variable="SPY_OPTS=qw",
        )
        assert first(response, "Message") == "Originate successfully queued"
        await r.clock.sleep(2.0)
        await r.ami.sync()
        [result] = r.ami.events("OriginateResponse")
        assert first(result, "Response") == "Success"
        spy = [m for m in r.ami.events("Newexten") if first(m, "Application") == "ChanSpy"]
        assert first(spy[0], "AppData") == "PJSIP/1001,qw"
        channel = first(result, "Channel")
        await r.ami.action("Hangup", Channel=channel)
        await r.clock.sleep(0.1)
        await r.ami.sync()
        assert [first(m, "Channel") for m in r.ami.events("Hangup")] == [channel]


async def test_an_originate_to_a_bare_extension_is_an_invalid_channel_even_async() -> None:
    # As Asterisk 22 answered Hotline's spy Originate to "2001" (live suite).
    async with rig([AgentScript("2001")]) as r:
        response = await r.ami.action("Originate", Channel="2001", Context="spy", Exten="1001", Async="true")
        assert (first(response, "Response"), first(response, "Message")) == ("Error", "Invalid channel")


async def test_getvar_and_setvar_work_on_a_live_channel() -> None:
    async with rig() as r:
        r.sim.place_call(CallerScript(hangup_after_s=20.0))
        await r.clock.sleep(2.0)
        await r.ami.sync()
        channel = first(r.ami.events("Newchannel")[0], "Channel")
        await r.ami.action("Setvar", Channel=channel, Variable="CRM_ID", Value="42")
        value = await r.ami.action("Getvar", Channel=channel, Variable="CRM_ID")
        assert first(value, "Value") == "42"
        missing = await r.ami.action("Getvar", Channel="PJSIP/nobody-00000000", Variable="X")
        assert first(missing, "Message") == "No such channel"


async def test_a_non_numeric_value_fails_the_action_and_the_session_goes_on() -> None:
    async with rig([AgentScript("1001")]) as r:
        response = await r.ami.action(
            "Originate", Channel="PJSIP/1001", Context="x", Exten="1", Priority="abc"
        )
        assert first(response, "Response") == "Error"
        assert "Invalid value in Originate" in first(response, "Message")
        assert first(await r.ami.action("Ping"), "Ping") == "Pong"
