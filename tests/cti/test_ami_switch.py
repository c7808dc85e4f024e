"""Switch actions over a real AMI link to the loopback server, answered as Asterisk answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cti.ami_link import AmiLink
from cti.ami_protocol import ActionFieldError, AmiMessage
from cti.ami_switch import AmiSwitch
from cti.errors import AmiActionFailed, AmiTimeout, SwitchUnavailable
from cti.switch import OriginateResult, SpyMode
from tests.cti.ami_server import AmiServer, answers_in, link_config, load_transcript

WAIT_S = 5.0


@pytest.fixture
async def server() -> AsyncIterator[AmiServer]:
    async with AmiServer() as running:
        yield running


@pytest.fixture
async def switch(server: AmiServer) -> AsyncIterator[AmiSwitch]:
    link = AmiLink(link_config(server.port), on_events=lambda events: None)
    await link.start()
    async with asyncio.timeout(WAIT_S):
        await link.connected.wait()
    yield AmiSwitch(link)
    await link.stop()


def recorded(transcripts: Path, name: str) -> list[AmiMessage]:
    return load_transcript(transcripts / name)


def sent(action: AmiMessage) -> dict[str, object]:
    return {key: value for key, value in action.items() if key not in ("Action", "ActionID")}


async def test_async_originate_success_is_correlated_with_its_originate_response(
    server: AmiServer, switch: AmiSwitch, transcripts: Path
) -> None:
    server.answer("Originate", answers_in(recorded(transcripts, "04-originate/04.ami"), "originate-704"))
    result = await switch.originate(
        channel="PJSIP/1001",
        context="click-to-dial",
        exten="13900001111",
        caller_id='"Hotline" <4008123456>',
        variables={"HOTLINE_REQUEST": "req-1"},
        timeout_s=20,
    )
    assert result == OriginateResult(
        action_id=result.action_id, success=True, channel="PJSIP/1001-00000005", reason="4"
    )
    assert sent(await server.received("Originate")) == {
        "Channel": "PJSIP/1001",
        "Context": "click-to-dial",
        "Exten": "13900001111",
        "Priority": "1",
        "CallerID": '"Hotline" <4008123456>',
        "Timeout": "20000",
        "Async": "true",
        "Variable": "HOTLINE_REQUEST=req-1",
    }


async def test_async_originate_failure_reports_asterisks_reason(
    server: AmiServer, switch: AmiSwitch, transcripts: Path
) -> None:
    server.answer("Originate", answers_in(recorded(transcripts, "04-originate/04.ami"), "originate-5728"))
    result = await switch.originate(
        channel="PJSIP/1099", context="click-to-dial", exten="13900002222", timeout_s=5
    )
    assert (result.success, result.channel, result.reason) == (False, "PJSIP/1099", "3")


async def test_async_originate_whose_outcome_never_comes_times_out(
    server: AmiServer, switch: AmiSwitch
) -> None:
    queued = {"Response": "Success", "ActionID": "", "Message": "Originate successfully queued"}
    server.answer("Originate", [queued])
    impatient = AmiSwitch(switch._link, originate_margin_s=0.05)
    with pytest.raises(AmiTimeout) as timeout:
        await impatient.originate(channel="PJSIP/1001", context="click-to-dial", exten="1", timeout_s=0)
    assert timeout.value.waiting_for == "OriginateResponse event"


async def test_sync_originate_failure_raises_action_failed(
    server: AmiServer, switch: AmiSwitch, transcripts: Path
) -> None:
    server.answer("Originate", answers_in(recorded(transcripts, "04-originate/04.ami"), "originate-10733"))
    with pytest.raises(AmiActionFailed) as failure:
        await switch.originate(
            channel="PJSIP/nobody",
            context="click-to-dial",
            exten="13900003333",
            timeout_s=3,
            asynchronous=False,
        )
    assert (failure.value.action, failure.value.message) == ("Originate", "Originate failed")
    assert (await server.received("Originate"))["Async"] == "false"


async def test_sync_originate_success_returns_a_successful_result(
    server: AmiServer, switch: AmiSwitch
) -> None:
    server.answer(
        "Originate", [{"Response": "Success", "ActionID": "", "Message": "Originate successfully queued"}]
    )
    result = await switch.originate(
        channel="PJSIP/1001", context="click-to-dial", exten="1", timeout_s=1, asynchronous=False
    )
    assert result.success


async def test_a_repeated_request_id_is_sent_once_and_returns_the_first_outcome(
    server: AmiServer, switch: AmiSwitch, transcripts: Path
) -> None:
    server.answer("Originate", answers_in(recorded(transcripts, "04-originate/04.ami"), "originate-704"))
    call = {
        "channel": "PJSIP/1001",
        "context": "click-to-dial",
        "exten": "13900001111",
        "request_id": "req-1",
    }
    first, second = await asyncio.gather(switch.originate(**call), switch.originate(**call))  # type: ignore[arg-type]
    third = await switch.originate(**call)  # type: ignore[arg-type]
    assert first == second == third
    assert len(server.received_so_far("Originate")) == 1


async def test_a_repeated_request_id_repeats_the_first_error_without_sending_again(
    server: AmiServer, switch: AmiSwitch, transcripts: Path
) -> None:
    # The capture removes the member twice under one ActionID; the second answer is the error.
    refusal = answers_in(recorded(transcripts, "03-agent-states/03.ami"), "queueremove-221")[-1]
    server.answer("QueueRemove", [refusal])
    for _ in range(2):
        with pytest.raises(AmiActionFailed) as failure:
            await switch.queue_remove("sales", "PJSIP/1002", request_id="remove-1")
        assert failure.value.message == "Unable to remove interface: Not there"
    assert len(server.received_so_far("QueueRemove")) == 1


async def test_a_request_that_never_reached_asterisk_may_be_retried_with_its_id(server: AmiServer) -> None:
    link = AmiLink(link_config(server.port), on_events=lambda events: None)
    switch = AmiSwitch(link)
    with pytest.raises(SwitchUnavailable):
        await switch.hangup("PJSIP/1001-00000005", request_id="hangup-1")
    await link.start()
    async with asyncio.timeout(WAIT_S):
        await link.connected.wait()
    server.answer("Hangup", [{"Response": "Success", "ActionID": "", "Message": "Channel Hungup"}])
    await switch.hangup("PJSIP/1001-00000005", request_id="hangup-1")
    assert sent(await server.received("Hangup")) == {"Channel": "PJSIP/1001-00000005", "Cause": "16"}
    await link.stop()


async def test_a_value_with_a_line_break_is_refused_and_nothing_is_sent(
    server: AmiServer, switch: AmiSwitch, transcripts: Path
) -> None:
    server.answer("Setvar", answers_in(recorded(transcripts, "08-misc-actions/08.ami"), "setvar-203"))
    with pytest.raises(ActionFieldError):
        await switch.set_var("PJSIP/1001-00000005", "HOTLINE_NOTE", "one\r\nAction: Hangup")
    await switch.set_var("", "HOTLINE_TEST", "1")  # the link is still in step afterwards
    assert [sent(action) for action in server.received_so_far("Setvar")] == [
        {"Variable": "HOTLINE_TEST", "Value": "1"}
    ]


@pytest.mark.parametrize(
    ("recorded_id", "message"),
    [
        ("queueadd-220", "Unable to add interface: Already there"),
        ("queuepause-221", "Interface not found"),
    ],
)
async def test_queue_member_errors_carry_asterisks_message(
    server: AmiServer, switch: AmiSwitch, transcripts: Path, recorded_id: str, message: str
) -> None:
    answers = answers_in(recorded(transcripts, "03-agent-states/03.ami"), recorded_id)
    server.answer("QueueAdd", answers)
    server.answer("QueuePause", answers)
    with pytest.raises(AmiActionFailed) as failure:
        if recorded_id.startswith("queueadd"):
            await switch.queue_add("support", "PJSIP/1002")
        else:
            await switch.queue_pause("PJSIP/9999", paused=True)
    assert failure.value.message == message


async def test_queue_member_actions_send_the_fields_asterisk_expects(
    server: AmiServer, switch: AmiSwitch, transcripts: Path
) -> None:
    answers = recorded(transcripts, "03-agent-states/03.ami")
    server.answer("QueueAdd", answers_in(answers, "queueadd-215"))
    server.answer("QueuePause", answers_in(answers, "queuepause-217"))
    server.answer("QueueRemove", answers_in(answers, "queueremove-220"))
    await switch.queue_add(
        "sales",
        "PJSIP/1002",
        member_name="Agent 1002",
        state_interface="PJSIP/1002",
        paused=True,
        reason="training",
    )
    await switch.queue_pause("PJSIP/1002", paused=True, queue="support", reason="lunch")
    await switch.queue_pause("PJSIP/1002", paused=False)
    await switch.queue_remove("support", "PJSIP/1002")
    assert sent(server.received_so_far("QueueAdd")[0]) == {
        "Queue": "sales",
        "Interface": "PJSIP/1002",
        "MemberName": "Agent 1002",
        "StateInterface": "PJSIP/1002",
        "Penalty": "0",
        "Paused": "true",
        "Reason": "training",
    }
    pauses = [sent(action) for action in server.received_so_far("QueuePause")]
    assert pauses == [
        {"Queue": "support", "Interface": "PJSIP/1002", "Paused": "true", "Reason": "lunch"},
        {"Interface": "PJSIP/1002", "Paused": "false"},
    ]
    assert sent(server.received_so_far("QueueRemove")[0]) == {"Queue": "support", "Interface": "PJSIP/1002"}


async def test_recording_control_sends_mixmonitor_actions(
    server: AmiServer, switch: AmiSwitch, transcripts: Path
) -> None:
    answers = recorded(transcripts, "13-recording-control/13.ami")
    server.answer("MixMonitorMute", answers_in(answers, "mixmonitormute-7740"))
    server.answer("StopMixMonitor", answers_in(answers, "stopmixmonitor-10243"), once=True)
    server.answer("StopMixMonitor", answers_in(answers, "stopmixmonitor-12752"))
    server.answer("MixMonitor", answers_in(answers, "mixmonitor-11245"))
    channel = "PJSIP/trunk-00000000"
    await switch.mixmonitor_mute(channel, mute=True)
    await switch.mixmonitor_mute(channel, mute=False, direction="read")
    await switch.mixmonitor_stop(channel)
    await switch.mixmonitor_start(channel, file="second.wav", options="r(in.wav)t(out.wav)")
    with pytest.raises(AmiActionFailed, match="No such channel"):
        await switch.mixmonitor_stop("PJSIP/nobody-00000000")
    mutes = [sent(action) for action in server.received_so_far("MixMonitorMute")]
    assert mutes == [
        {"Channel": channel, "Direction": "both", "State": "1"},
        {"Channel": channel, "Direction": "read", "State": "0"},
    ]
    assert sent(server.received_so_far("MixMonitor")[0]) == {
        "Channel": channel,
        "File": "second.wav",
        "Options": "r(in.wav)t(out.wav)",
    }


async def test_get_var_returns_the_value_and_empty_when_unset(
    server: AmiServer, switch: AmiSwitch, transcripts: Path
) -> None:
    answers = recorded(transcripts, "08-misc-actions/08.ami")
    getvars = answers_in(answers, "getvar-203")
    server.answer("Getvar", [getvars[0]], once=True)
    server.answer("Getvar", [getvars[1]])
    assert await switch.get_var("", "GLOBAL(NOSUCH)") == ""
    assert await switch.get_var("", "HOTLINE_TEST") == "1"


@pytest.mark.parametrize(
    ("mode", "options"), [(SpyMode.LISTEN, "q"), (SpyMode.WHISPER, "qw"), (SpyMode.BARGE, "qB")]
)
async def test_spy_rings_the_supervisor_into_chanspy_with_the_modes_options(
    server: AmiServer, switch: AmiSwitch, mode: SpyMode, options: str
) -> None:
    up = {
        "Event": "OriginateResponse",
        "ActionID": "",
        "Response": "Success",
        "Channel": "PJSIP/2001-0000000a",
    }
    server.answer(
        "Originate", [{"Response": "Success", "ActionID": "", "Message": "Originate successfully queued"}, up]
    )
    result = await switch.spy("PJSIP/2001", "1001", mode)
    assert result.success and result.channel == "PJSIP/2001-0000000a"
    action = await server.received("Originate")
    assert (action["Channel"], action["Context"], action["Exten"]) == ("PJSIP/2001", "spy", "1001")
    assert action["Variable"] == f"SPY_OPTS={options}"


async def test_play_whispers_a_prompt_into_one_channel_through_chanspy(
    server: AmiServer, switch: AmiSwitch
) -> None:
    up = {
        "Event": "OriginateResponse",
        "ActionID": "",
        "Response": "Success",
        "Channel": "Local/s@hotline-play-1;1",
    }
    server.answer(
        "Originate", [{"Response": "Success", "ActionID": "", "Message": "Originate successfully queued"}, up]
    )
    await switch.play("PJSIP/trunk-00000008", "hotline/vip-caller")
    action = await server.received("Originate")
    assert sent(action) == {
        "Channel": "Local/s@hotline-play/n",
        "Application": "ChanSpy",
        "Data": "PJSIP/trunk-00000008,qwES",
        "Async": "true",
        "Variable": "PROMPT=hotline/vip-caller",
    }


async def test_redirect_delivers_the_caller_and_can_move_both_legs(
    server: AmiServer, switch: AmiSwitch
) -> None:
    server.answer("Redirect", [{"Response": "Success", "ActionID": "", "Message": "Redirect successful"}])
    await switch.redirect("PJSIP/trunk-00000008", context="hotline-deliver", exten="1001")
    await switch.redirect(
        "PJSIP/trunk-00000008", context="transfer", exten="1002", extra_channel="PJSIP/1001-09"
    )
    first, second = (sent(action) for action in server.received_so_far("Redirect"))
    assert first == {
        "Channel": "PJSIP/trunk-00000008",
        "Context": "hotline-deliver",
        "Exten": "1001",
        "Priority": "1",
    }
    assert second["ExtraChannel"] == "PJSIP/1001-09"
    assert (second["ExtraContext"], second["ExtraExten"], second["ExtraPriority"]) == (
        "transfer",
        "1002",
        "1",
    )


async def test_hold_names_each_leg_to_the_other_then_redirects_both_to_the_hold_contexts(
    server: AmiServer, switch: AmiSwitch, transcripts: Path
) -> None:
    server.answer("Setvar", answers_in(recorded(transcripts, "08-misc-actions/08.ami"), "setvar-203"))
    server.answer(
        "Redirect", [{"Response": "Success", "ActionID": "", "Message": "Dual Redirect successful"}]
    )
    await switch.hold("PJSIP/trunk-00000008", "PJSIP/1001-00000009", request_id="hold-1")
    await switch.hold("PJSIP/trunk-00000008", "PJSIP/1001-00000009", request_id="hold-1")  # a retry
    assert [a["Action"] for a in server.actions if a["Action"] != "Login"] == ["Setvar", "Setvar", "Redirect"]
    caller, agent = (sent(action) for action in server.received_so_far("Setvar"))
    assert caller == {
        "Channel": "PJSIP/trunk-00000008",
        "Variable": "HOTLINE_HOLD_AGENT",
        "Value": "PJSIP/1001-00000009",
    }
    assert agent == {
        "Channel": "PJSIP/1001-00000009",
        "Variable": "HOTLINE_HOLD_CALLER",
        "Value": "PJSIP/trunk-00000008",
    }
    assert sent(await server.received("Redirect")) == {
        "Channel": "PJSIP/trunk-00000008",
        "Context": "hotline-hold",
        "Exten": "s",
        "Priority": "1",
        "ExtraChannel": "PJSIP/1001-00000009",
        "ExtraContext": "hotline-hold-agent",
        "ExtraExten": "s",
        "ExtraPriority": "1",
    }


async def test_hold_is_written_in_the_captured_action_format(
    server: AmiServer, switch: AmiSwitch, transcripts: Path
) -> None:
    server.answer("Setvar", answers_in(recorded(transcripts, "08-misc-actions/08.ami"), "setvar-203"))
    server.answer(
        "Redirect", [{"Response": "Success", "ActionID": "", "Message": "Dual Redirect successful"}]
    )
    await switch.hold("PJSIP/trunk-00000008", "PJSIP/1001-00000009")
    captured = (transcripts / "08-misc-actions" / "08.actions").read_text()
    setvar = captured[captured.index("Action: Setvar") :].split("\n\n")[0].splitlines()
    # Action, ActionID, then the fields in the captured order (Channel before them when given).
    assert [line.split(":")[0] for line in setvar] == ["Action", "ActionID", "Variable", "Value"]
    assert list(await server.received("Setvar")) == ["Action", "ActionID", "Channel", "Variable", "Value"]
    assert list(await server.received("Redirect"))[:2] == ["Action", "ActionID"]


async def test_resume_sends_the_caller_to_hotline_resume_to_bridge_the_named_agent_leg(
    server: AmiServer, switch: AmiSwitch, transcripts: Path
) -> None:
    server.answer("Setvar", answers_in(recorded(transcripts, "08-misc-actions/08.ami"), "setvar-203"))
    server.answer("Redirect", [{"Response": "Success", "ActionID": "", "Message": "Redirect successful"}])
    await switch.resume("PJSIP/trunk-00000008", "PJSIP/1001-00000009")
    assert sent(await server.received("Setvar")) == {
        "Channel": "PJSIP/trunk-00000008",
        "Variable": "HOTLINE_HOLD_AGENT",
        "Value": "PJSIP/1001-00000009",
    }
    assert sent(await server.received("Redirect")) == {
        "Channel": "PJSIP/trunk-00000008",
        "Context": "hotline-resume",
        "Exten": "s",
        "Priority": "1",
    }


async def test_hold_of_a_channel_that_is_gone_raises_asterisks_error_and_redirects_nothing(
    server: AmiServer, switch: AmiSwitch
) -> None:
    server.answer("Setvar", [{"Response": "Error", "ActionID": "", "Message": "No such channel"}])
    with pytest.raises(AmiActionFailed) as failure:
        await switch.hold("PJSIP/trunk-00000008", "PJSIP/1001-00000009")
    assert failure.value.message == "No such channel"
    assert server.received_so_far("Redirect") == []


async def test_hold_that_asterisk_never_answers_times_out(server: AmiServer) -> None:
    link = AmiLink(link_config(server.port, action_timeout_s=0.2), on_events=lambda events: None)
    await link.start()
    async with asyncio.timeout(WAIT_S):
        await link.connected.wait()
    server.answer("Setvar", [{"Response": "Success", "ActionID": "", "Message": "Variable Set"}])
    server.silence("Redirect")
    with pytest.raises(AmiTimeout):
        await AmiSwitch(link).hold("PJSIP/trunk-00000008", "PJSIP/1001-00000009")
    await link.stop()
