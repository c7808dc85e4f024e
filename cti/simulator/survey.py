"""hotline-survey of asterisk-config/extensions.conf (docs/survey.md): after an answered call,
the caller whose agent hung up first presses 1–5 for Hotline's survey AGI; a caller who hung up
first reaches the context from an h extension, where a dead-channel AGI tells Hotline to text
them instead."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cti.simulator.fastagi_client import run_agi, run_agi_within
from cti.simulator.hotline_steps import ended, goto, hangup

if TYPE_CHECKING:
    from cti.simulator.channels import Channel
    from cti.simulator.core import SwitchSimulator
    from cti.simulator.legs import Leg

SURVEY_CONTEXT = "hotline-survey"
SURVEY_MAX_S = 60  # [globals] HOTLINE_SURVEY_MAX_S
SMS = "sms"


def survey_url(sim: SwitchSimulator) -> str:
    """HOTLINE_SURVEY_AGI: Hotline's FastAGI address, script survey."""
    return urlsplit(sim.agi_url)._replace(path="/survey").geturl()


async def on_the_keypad(sim: SwitchSimulator, leg: Leg) -> None:
    """hotline-survey,s: the AGI asks, the caller presses; then Hangup(16)."""
    channel = leg.channel
    goto(channel, SURVEY_CONTEXT, "s")
    _stop_recording(sim, channel)
    sim.newexten(channel, 2, "NoOp", f"Survey for {channel.linkedid}")
    sim.newexten(channel, 3, "GotoIf", "0?done")
    sim.newexten(channel, 4, "Set", f"TIMEOUT(absolute)={SURVEY_MAX_S}")
    url = survey_url(sim)
    sim.newexten(channel, 5, "AGI", url)
    status = await run_agi_within(sim, leg, url, SURVEY_MAX_S)
    if status == "STALLED":
        goto(channel, SURVEY_CONTEXT, "T")
        hangup(sim, leg, 1, 16)
        return
    sim.varset(channel, "AGISTATUS", status)
    if leg.gone.done():
        ended(sim, leg, cause=16)
        return
    hangup(sim, leg, 6, 16)


async def by_sms(sim: SwitchSimulator, leg: Leg, context: str, condition: str) -> None:
    """The h extension of ``context`` (its GotoIf evaluated to ``condition``), then
    hotline-survey,sms: the AGI on the hung-up channel; the caller's Hangup follows."""
    channel = leg.channel
    goto(channel, context, "h")
    sim.newexten(channel, 1, "GotoIf", condition)
    goto(channel, SURVEY_CONTEXT, SMS)
    _stop_recording(sim, channel)
    sim.newexten(channel, 2, "GotoIf", "0?done")
    url = survey_url(sim)
    sim.newexten(channel, 3, "AGI", f"{url},{SMS}")
    status = await run_agi(sim, leg, url, args=(SMS,), dead=True)
    sim.varset(channel, "AGISTATUS", status)
    sim.newexten(channel, 4, "NoOp", "")


def _stop_recording(sim: SwitchSimulator, channel: Channel) -> None:
    """StopMixMonitor(): the call's recording closes before the survey."""
    sim.newexten(channel, 1, "StopMixMonitor", "")
    if channel.recording:
        channel.recording = False
        sim.recorder.stopped(channel)
        sim.channel_event("MixMonitorStop", channel)
