"""The agent's microphone muted from the desktop on the simulated switch: AmiSwitch's Setvar of
res_mutestream's MUTEAUDIO(in) (its MuteAudio action needs a write class Hotline's user lacks)."""

from __future__ import annotations

import pytest

from cti.ami_protocol import first
from cti.ami_switch import AmiSwitch
from cti.errors import AmiActionFailed
from cti.simulator import CallerScript
from tests.simulator.test_desk_hold import AGENTS, RigSender, answered_call
from tests.simulator.test_hotline_dialplan import hotline


async def test_the_agents_leg_is_muted_inbound_only_then_unmuted() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        switch = AmiSwitch(RigSender(r))
        caller, agent = await answered_call(r, CallerScript(hangup_after_s=60.0))
        await switch.mute(agent, True)
        assert r.sim.find_channel(agent).audio_muted == {"in"}
        assert r.sim.find_channel(caller).audio_muted == frozenset()
        await switch.mute(agent, False)
        assert r.sim.find_channel(agent).audio_muted == frozenset()
        await switch.mute(agent, False)  # unmuting what is not muted is no error, as in Asterisk


async def test_muting_a_channel_that_is_gone_is_refused_in_asterisks_words() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        switch = AmiSwitch(RigSender(r))
        with pytest.raises(AmiActionFailed, match="No such channel"):
            await switch.mute("PJSIP/1001-00000099", True)


async def test_a_mute_in_a_direction_asterisk_does_not_know_is_not_set() -> None:
    async with hotline(AGENTS, ivr=[]) as r:
        _, agent = await answered_call(r, CallerScript(hangup_after_s=60.0))
        answer = await r.ami.action("Setvar", Channel=agent, Variable="MUTEAUDIO(IN)", Value="on")
        assert (first(answer, "Response"), first(answer, "Message")) == ("Error", "Variable not set")
        assert r.sim.find_channel(agent).audio_muted == frozenset()
        await r.ami.sync()
        assert not [m for m in r.ami.events("VarSet") if "MUTEAUDIO" in str(first(m, "Variable"))]
