"""Keypad digits from the agent desktop on the simulated switch: AmiSwitch's PlayDTMF."""

from __future__ import annotations

import pytest

from cti.ami_switch import AmiSwitch
from cti.errors import AmiActionFailed
from cti.simulator import CallerScript
from tests.simulator.test_desk_hold import AGENTS, RigSender, answered_call
from tests.simulator.test_hotline_dialplan import hotline


async def test_keypad_digits_reach_the_callers_channel_in_order() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        switch = AmiSwitch(RigSender(r))
        caller, _ = await answered_call(r, CallerScript(hangup_after_s=60.0))
        for index, digit in enumerate("12#"):
            await switch.send_dtmf(caller, digit, request_id=f"dtmf-{index}")
        assert r.sim.find_channel(caller).dtmf_sent == "12#"


async def test_a_digit_to_a_channel_that_is_gone_is_refused() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        switch = AmiSwitch(RigSender(r))
        with pytest.raises(AmiActionFailed, match="Channel not found"):
            await switch.send_dtmf("PJSIP/trunk-00000099", "5")
