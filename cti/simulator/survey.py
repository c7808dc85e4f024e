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


def second_survey_url(sim: SwitchSimulator) -> str:
    """HOTLINE_SURVEY_AGI_2: the other node's survey ("" when there is no other node)."""
    return urlsplit(sim.agi_url_2)._replace(path="/survey").geturl() if sim.agi_url_2 else ""


async def on_the_keypad(sim: SwitchSimulator, leg: Leg) -> None:
    """hotline-survey,s: the AGI asks, the caller presses; then Hangup(16)."""
    channel = leg.channel
    goto(channel, SURVEY_CONTEXT, "s")
    _stop_recording(sim, channel)
    sim.newexten(channel, 2, "NoOp", f"Survey for {channel.linkedid}")
    sim.newexten(channel, 3, "GotoIf", "0?done")
    sim.newexten(channel, 4, "Set", f"TIMEOUT(absolute)={SURVEY_MAX_S}")
    started = sim.clock.time()
    status = await _keypad_agi(sim, leg, 5, survey_url(sim), SURVEY_MAX_S)
    if status is None:
        return
    second = status == "FAILURE" and bool(second_survey_url(sim))
    sim.newexten(channel, 6, "GotoIf", f"{int(not second)}?done")
    if second:
        left = max(SURVEY_MAX_S - (sim.clock.time() - started), 0.0)
        if await _keypad_agi(sim, leg, 7, second_survey_url(sim), left) is None:
            return
    hangup(sim, leg, 8, 16)


async def _keypad_agi(sim: SwitchSimulator, leg: Leg, priority: int, url: str, left_s: float) -> str | None:
    """One AGI step of hotline-survey,s; None when the channel left the dialplan meanwhile (the
    absolute timeout's T extension, or the caller's hangup)."""
    channel = leg.channel
    sim.newexten(channel, priority, "AGI", url)
    status = await run_agi_within(sim, leg, url, left_s)
    if status == "STALLED":
        goto(channel, SURVEY_CONTEXT, "T")
        hangup(sim, leg, 1, 16)
        return None
    sim.varset(channel, "AGISTATUS", status)
    if leg.gone.done():
        ended(sim, leg, cause=16)
        return None
    return status


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
    second = status == "FAILURE" and bool(second_survey_url(sim))
    sim.newexten(channel, 4, "GotoIf", f"{int(not second)}?done")
    if second:
        url = second_survey_url(sim)
        sim.newexten(channel, 5, "AGI", f"{url},{SMS}")
        status = await run_agi(sim, leg, url, args=(SMS,), dead=True)
        sim.varset(channel, "AGISTATUS", status)
    sim.newexten(channel, 6, "NoOp", "")


def _stop_recording(sim: SwitchSimulator, channel: Channel) -> None:
    """StopMixMonitor(): the call's recording closes before the survey."""
    sim.newexten(channel, 1, "StopMixMonitor", "")
    if channel.recording:
        channel.recording = False
        sim.recorder.stopped(channel)
        sim.channel_event("MixMonitorStop", channel)
