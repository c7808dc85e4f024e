"""The captures' dialplan (tests/transcripts/config/extensions.conf) as call flows, and the
entry of every inbound call (the production dialplan is ``hotline_dialplan.py``).

from-trunk: NoOp, Answer, Set(HOTLINE_QUEUE=support), AGI(agi://…/ivr), MixMonitor(…,b),
Queue(${HOTLINE_QUEUE},tT,,,120), Hangup. hotline-deliver: Dial(PJSIP/${EXTEN},ring) and back to
the queue with a higher priority when nobody answers. transfer / agents: Dial(PJSIP/${EXTEN}).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cti.simulator import app_queue
from cti.simulator.core import CallRecord, Dialplan
from cti.simulator.fastagi_client import run_agi
from cti.simulator.legs import Leg, RedirectTo
from cti.simulator.scripts import CallerScript

if TYPE_CHECKING:
    from cti.simulator.core import SwitchSimulator

DELIVER_RING_S = 15.0
QUEUE_TIMEOUT_S = 120.0


async def run_inbound_call(sim: SwitchSimulator, script: CallerScript, record: CallRecord) -> None:
    channel = sim.new_channel(
        sim.trunk_device,
        context="from-trunk",
        exten=script.dialed,
        state=4,
        caller_num=script.caller,
        caller_name=script.caller_name,
    )
    record.uniqueid = channel.uniqueid
    leg = Leg(channel)
    sim.legs[channel.name] = leg
    timers = _script_timers(sim, leg, script)
    try:
        if sim.dialplan is Dialplan.HOTLINE:
            from cti.simulator import hotline_dialplan

            await hotline_dialplan.run(sim, leg, record)
        else:
            await _from_trunk(sim, leg, record)
    finally:
        for timer in timers:
            timer.cancel()
        sim.legs.pop(channel.name, None)
        if not channel.hung_up:
            finish_hangup(sim, leg, cause=16)
        record.ended = sim.clock.time()
        if record.done is not None and not record.done.done():
            record.done.set_result(None)


def _script_timers(sim: SwitchSimulator, leg: Leg, script: CallerScript) -> list[asyncio.Future[None]]:
    timers = []
    if script.hangup_after_s is not None:
        hangup = sim.clock.timer(script.hangup_after_s)
        hangup.add_done_callback(lambda f: None if f.cancelled() else caller_hangs_up(sim, leg))
        timers.append(hangup)
    for at, digit in script.digit_times():
        press = sim.clock.timer(at)
        press.add_done_callback(lambda f, d=digit: None if f.cancelled() else press_digits(sim, leg, d))
        timers.append(press)
    return timers


def caller_hangs_up(sim: SwitchSimulator, leg: Leg) -> None:
    """The far end sent BYE."""
    if leg.gone.done() or leg.channel.hung_up:
        return
    # The BYE's cause shows when the caller talked through Dial() or Bridge() (16, 17), not when
    # it was in the IVR or Queue(), bridged or not (01, 02, 06, 19).
    talking = leg.channel.application in ("Dial", "Bridge")
    sim.channel_event("HangupRequest", leg.channel, [("Cause", "16")] if talking else [])
    leg.hang_up(16)


def press_digits(sim: SwitchSimulator, leg: Leg, digits: str) -> None:
    """The caller presses ``digits`` at once. Each is a DTMFEnd on AMI; only a GET DATA or
    STREAM FILE waiting for a digit takes it, and a digit nobody waits for is gone (capture 14:
    the caller's digit arrives in the queue, shows as DTMFEnd and changes nothing)."""
    if leg.gone.done() or leg.channel.hung_up:
        return
    for digit in digits:
        sim.channel_event(
            "DTMFEnd",
            leg.channel,
            [("Digit", digit), ("DurationMs", "160"), ("Direction", "Received")],
            "dtmf,all",
        )
        waiter = leg.digit_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(digit)


def finish_hangup(sim: SwitchSimulator, leg: Leg, *, cause: int) -> None:
    """The channel's dialplan ends: soft hangup, Hangup, the endpoint's device state."""
    channel = leg.channel
    if channel.hung_up:
        return
    sim.channel_event("SoftHangupRequest", channel, [("Cause", "16")])
    sim.hangup_channel(channel, cause)
    sim.refresh_endpoint(channel.device)


async def _from_trunk(sim: SwitchSimulator, leg: Leg, record: CallRecord) -> None:
    channel = leg.channel
    sim.varset(channel, "SIPDOMAIN", "127.0.0.1")
    sim.newexten(channel, 1, "NoOp", f"Hotline inbound from {channel.caller_num}")
    sim.newexten(channel, 2, "Answer", "")
    sim.newstate(channel, 6)
    sim.refresh_endpoint(channel.device)
    sim.newexten(channel, 3, "Set", "HOTLINE_QUEUE=support")
    sim.varset(channel, "HOTLINE_QUEUE", "support")
    sim.newexten(channel, 4, "AGI", sim.agi_url)
    status = await run_agi(sim, leg, sim.agi_url)
    record.agi_status = status
    sim.varset(channel, "AGISTATUS", status)
    if status == "HANGUP" or leg.gone.done():
        finish_hangup(sim, leg, cause=0)
        return
    sim.newexten(channel, 5, "MixMonitor", f"{channel.uniqueid}.wav,b")
    sim.varset(channel, "MIXMONITOR_FILENAME", f"/var/spool/asterisk/monitor/{channel.uniqueid}.wav")
    channel.recording = True
    sim.recorder.started(channel, f"{channel.uniqueid}.wav", "b")
    sim.channel_event("MixMonitorStart", channel)
    queue = channel.variables.get("HOTLINE_QUEUE", "support")
    record.queue = queue
    sim.newexten(channel, 6, "Queue", f"{queue},{sim.queue_options},,,{int(QUEUE_TIMEOUT_S)}")
    outcome = await app_queue.run_queue(sim, leg, queue, record, timeout_s=QUEUE_TIMEOUT_S)
    await _after_queue(sim, leg, record, outcome, next_priority=7)


async def _after_queue(
    sim: SwitchSimulator, leg: Leg, record: CallRecord, outcome: str, *, next_priority: int
) -> None:
    if outcome == "abandoned":
        record.abandoned = True
    if outcome in ("abandoned", "completed"):
        return
    if outcome == "redirect":
        target = leg.take_redirect()
        if target is not None:
            await run_context(sim, leg, record, target)
            return
    sim.newexten(leg.channel, next_priority, "Hangup", "")
    finish_hangup(sim, leg, cause=16)


async def run_context(sim: SwitchSimulator, leg: Leg, record: CallRecord, target: RedirectTo) -> None:
    """Where a Redirect sends a channel."""
    channel = leg.channel
    channel.context, channel.exten = target.context, target.exten
    if target.context == "hotline-deliver":
        sim.newexten(channel, 1, "Dial", f"PJSIP/{target.exten},{int(DELIVER_RING_S)}")
        outcome = await app_queue.dial_and_bridge(sim, leg, record, target.exten, DELIVER_RING_S, None)
        if outcome == "noanswer" and not leg.gone.done():
            queue = record.queue or "support"
            sim.newexten(channel, 2, "Set", "QUEUE_PRIO=10")
            sim.varset(channel, "QUEUE_PRIO", "10")
            sim.newexten(channel, 3, "Queue", f"{queue},{sim.queue_options},,,{int(QUEUE_TIMEOUT_S)}")
            outcome = await app_queue.run_queue(
                sim, leg, queue, record, timeout_s=QUEUE_TIMEOUT_S, priority=10
            )
            await _after_queue(sim, leg, record, outcome, next_priority=4)
            return
        await _after_dial(sim, leg, record, outcome)
        return
    if target.context in ("transfer", "agents") and target.exten.isdigit():
        sim.newexten(
            channel, 1, "Dial", f"PJSIP/{target.exten},20" + (",tT" if target.context == "transfer" else "")
        )
        outcome = await app_queue.dial_and_bridge(sim, leg, record, target.exten, 20.0, None)
        await _after_dial(sim, leg, record, outcome)
        return
    sim.newexten(channel, target.priority, "Hangup", "")
    finish_hangup(sim, leg, cause=16)


async def _after_dial(sim: SwitchSimulator, leg: Leg, record: CallRecord, outcome: str) -> None:
    if outcome == "redirect":
        target = leg.take_redirect()
        if target is not None:
            await run_context(sim, leg, record, target)
            return
    if outcome in ("abandoned", "completed") or leg.channel.hung_up:
        if not leg.channel.hung_up:
            finish_hangup(sim, leg, cause=16)
        return
    sim.newexten(leg.channel, 2, "Hangup", "")
    finish_hangup(sim, leg, cause=16)
