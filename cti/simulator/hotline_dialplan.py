"""The production dialplan (asterisk-config/extensions.conf and queues.conf) as call flows.

from-trunk: Answer, record, AGI → hotline-route; an unreachable AGI is tried once more on the other
node's address when there is one (HOTLINE_AGI_2). A failed AGI (Hotline unreachable) or a stalled
IVR goes to hotline-fallback; an IVR's HOTLINE_ACTION to hotline-action; otherwise the caller
waits in ${HOTLINE_QUEUE} (no members) until Hotline Redirects it to hotline-deliver,<agent>, or
until HOTLINE_WAIT_S from the first join has passed (→ hotline-fallback). hotline-deliver dials the
agent and, when nobody answers, sends the caller back to the wait with QUEUE_PRIO + 1.
When the agent hangs up first (Dial's g), the caller goes on to hotline-survey (press 1–5); when
the caller hangs up first, the h extension tells Hotline to text the survey (cti/simulator/survey.py).
hotline-fallback queues into ${HOTLINE_QUEUE}-fallback (static members); if nobody unpaused
answers there, every member's phone rings once, then hotline-message records a message.
The ACD's max-wait Redirects land in hotline-callback / hotline-message with exten = the queue.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from cti.simulator import app_dial, app_queue, desk_hold, survey
from cti.simulator.core import FALLBACK_SUFFIX, CallRecord
from cti.simulator.fastagi_client import run_agi_within
from cti.simulator.hotline_steps import (
    SPOOL,
    Redirected,
    day,
    ended,
    goodbye_callback,
    goto,
    hangup,
    message,
    playback,
    queue_priority,
    set_var,
)
from cti.simulator.legs import Leg, RedirectTo

if TYPE_CHECKING:
    from cti.simulator.channels import Channel
    from cti.simulator.core import SwitchSimulator

# [globals] of asterisk-config/extensions.conf.
DEFAULT_QUEUE = "support"
IVR_MAX_S = 120
WAIT_S = 180
FALLBACK_WAIT_S = 300
LAST_RING_S = 30
RING_S = 15
TRANSFER_RING_S = 15
RECORD_FROM = "answer"
RECORD_SPLIT = "no"
ACTIONS = ("transfer", "message", "hangup", "callback")
# hotline-transfer: agents (10XX) and supervisors (20XX) by extension.
_INSIDE = re.compile(r"(10|20)\d\d")
# hotline-callback / hotline-message, exten = the queue's name (_[a-z].).
_QUEUE_EXTEN = re.compile(r"[a-z].+")


async def run(sim: SwitchSimulator, leg: Leg, record: CallRecord) -> None:
    """The inbound call from from-trunk to its end, Redirects included."""
    step = _from_trunk(sim, leg, record)
    while True:
        try:
            await step
            return
        except Redirected as redirected:
            step = run_context(sim, leg, record, redirected.target)


async def _from_trunk(sim: SwitchSimulator, leg: Leg, record: CallRecord) -> None:
    channel = leg.channel
    channel.variables["CALLERID(dnid)"] = channel.exten  # a dialplan function: no VarSet
    sim.varset(channel, "SIPDOMAIN", "127.0.0.1")
    sim.newexten(channel, 1, "NoOp", f"Hotline inbound to {channel.exten}")
    sim.newexten(channel, 2, "Answer", "")
    sim.newstate(channel, 6)
    sim.refresh_endpoint(channel.device)
    set_var(sim, channel, 3, "HOTLINE_QUEUE", DEFAULT_QUEUE)
    set_var(sim, channel, 4, "QUEUE_PRIO", "0")
    sim.newexten(channel, 5, "Gosub", "hotline-record,s,1")
    _record(sim, channel)
    set_var(sim, channel, 6, "AGIEXITONHANGUP", "yes")
    sim.newexten(channel, 7, "Set", f"TIMEOUT(absolute)={IVR_MAX_S}")
    sim.newexten(channel, 8, "AGI", sim.agi_url)
    started = sim.clock.time()
    status = await run_agi_within(sim, leg, sim.agi_url, IVR_MAX_S)
    second = status == "FAILURE" and bool(sim.agi_url_2) and not leg.gone.done()
    if second:
        # HOTLINE_AGI unreachable: the other node's IVR, within what is left of TIMEOUT(absolute).
        sim.varset(channel, "AGISTATUS", status)
        sim.newexten(channel, 9, "GotoIf", "0?ivr-done")
        sim.newexten(channel, 10, "AGI", sim.agi_url_2)
        left = max(IVR_MAX_S - (sim.clock.time() - started), 0.0)
        status = await run_agi_within(sim, leg, sim.agi_url_2, left)
    if status == "STALLED":
        # TIMEOUT(absolute) ended the IVR: the T extension takes the caller to app_queue.
        goto(channel, "from-trunk", "T")
        sim.newexten(channel, 1, "NoOp", f"IVR stalled for {channel.linkedid}")
        sim.newexten(channel, 2, "Set", "TIMEOUT(absolute)=0")
        sim.newexten(channel, 3, "Goto", "hotline-fallback,s,1")
        await _fallback(sim, leg, record)
        return
    record.agi_status = status
    sim.varset(channel, "AGISTATUS", status)
    if status == "HANGUP" or leg.gone.done():
        ended(sim, leg, cause=0)
        return
    if not second:
        sim.newexten(channel, 9, "GotoIf", "1?ivr-done")
    sim.newexten(channel, 11, "Set", "TIMEOUT(absolute)=0")
    sim.newexten(channel, 12, "Goto", "hotline-route,s,1")
    await _route(sim, leg, record)


def _record(sim: SwitchSimulator, channel: Channel) -> None:
    """Gosub(hotline-record,s,1): MixMonitor(YYYY/MM/DD/<Linkedid>/<Uniqueid>.wav,<opts>), Return.

    ``opts``: ``b`` unless HOTLINE_RECORD_FROM is ``start``; with HOTLINE_RECORD_SPLIT ``yes`` also
    ``r(<spool>/<path>-in.wav)t(<spool>/<path>-out.wav)`` (docs/recording-policy.md)."""
    context, exten = channel.context, channel.exten
    sim.varset(channel, "LOCAL(ARGC)", "0")
    goto(channel, "hotline-record", "s")
    sim.newexten(channel, 1, "GotoIf", "0?done")
    path = f"{day(sim)}/{channel.linkedid}/{channel.uniqueid}.wav"
    set_var(sim, channel, 2, "HOTLINE_RECORDING", path)
    record_from = sim.channel_variable(channel, "HOTLINE_RECORD_FROM") or RECORD_FROM
    options = "" if record_from == "start" else "b"
    set_var(sim, channel, 3, "LOCAL(opts)", options)
    base = f"{SPOOL}/{path[:-4]}"
    set_var(sim, channel, 4, "LOCAL(base)", base)
    split = (sim.channel_variable(channel, "HOTLINE_RECORD_SPLIT") or RECORD_SPLIT) == "yes"
    legs = f"r({base}-in.wav)t({base}-out.wav)"
    sim.newexten(channel, 5, "ExecIf", f"{int(split)}?Set(LOCAL(opts)={options}{legs})")
    if split:
        options += legs
        sim.varset(channel, "LOCAL(opts)", options)
    sim.newexten(channel, 6, "MixMonitor", f"{path},{options}")
    sim.varset(channel, "MIXMONITOR_FILENAME", f"{SPOOL}/{path}")
    channel.recording = True
    sim.recorder.started(channel, path, options)
    sim.channel_event("MixMonitorStart", channel)
    sim.newexten(channel, 7, "Return", "")
    # Return drops the Gosub's local variables, each as a VarSet with no value.
    for local in ("base", "opts", "ARGC", "GOSUB_RETVAL"):
        sim.varset(channel, local, "")
    for local in ("LOCAL(ARGC)", "LOCAL(opts)", "LOCAL(base)", "base", "opts", "ARGC", "GOSUB_RETVAL"):
        channel.variables.pop(local, None)
    goto(channel, context, exten)


async def _route(sim: SwitchSimulator, leg: Leg, record: CallRecord) -> None:
    channel = leg.channel
    goto(channel, "hotline-route", "s")
    status = channel.variables.get("AGISTATUS", "")
    sim.newexten(channel, 1, "GotoIf", f"{int(status != 'SUCCESS')}?hotline-fallback,s,1")
    if status != "SUCCESS":
        await _fallback(sim, leg, record)
        return
    language = re.sub(r"[^a-zA-Z_]", "", channel.variables.get("HOTLINE_LANGUAGE", ""))
    set_var(sim, channel, 2, "HOTLINE_LANGUAGE", language)
    sim.newexten(channel, 3, "ExecIf", f"{int(bool(language))}?Set(CHANNEL(language)={language})")
    if language:
        channel.language = language
    action = re.sub(r"[^a-z]", "", channel.variables.get("HOTLINE_ACTION", ""))
    set_var(sim, channel, 4, "HOTLINE_ACTION", action)
    sim.newexten(channel, 5, "GotoIf", f"{int(bool(action))}?hotline-action,{action},1")
    if action:
        await _action(sim, leg, record, action)
        return
    sim.newexten(channel, 6, "Goto", "hotline-wait,s,1")
    await _wait(sim, leg, record)


async def _action(sim: SwitchSimulator, leg: Leg, record: CallRecord, action: str) -> None:
    channel = leg.channel
    if action not in ACTIONS:
        goto(channel, "hotline-action", "i")
        sim.newexten(channel, 1, "NoOp", f"Unknown HOTLINE_ACTION {action}")
        sim.newexten(channel, 2, "Goto", "hotline-wait,s,1")
        await _wait(sim, leg, record)
        return
    goto(channel, "hotline-action", action)
    if action == "transfer":
        target = channel.variables.get("HOTLINE_TRANSFER_TO", "")
        sim.newexten(channel, 1, "NoOp", f"IVR transfers {channel.linkedid} to {target}")
        target = re.sub(r"[^0-9]", "", target)
        set_var(sim, channel, 2, "HOTLINE_TRANSFER_TO", target)
        sim.newexten(channel, 3, "GotoIf", f"{int(not target)}?hotline-wait,s,1")
        if not target:
            await _wait(sim, leg, record)
            return
        sim.newexten(channel, 4, "Goto", f"hotline-transfer,{target},1")
        await _transfer(sim, leg, record, target)
    elif action == "message":
        sim.newexten(channel, 1, "Goto", "hotline-message,s,1")
        await message(sim, leg)
    elif action == "hangup":
        sim.newexten(channel, 1, "NoOp", f"IVR ends {channel.linkedid}")
        if await playback(sim, leg, 2, "vm-goodbye"):
            hangup(sim, leg, 3, 16)
    else:
        await goodbye_callback(sim, leg, f"Callback requested for {channel.linkedid}")


async def _transfer(sim: SwitchSimulator, leg: Leg, record: CallRecord, target: str) -> None:
    channel = leg.channel
    if _INSIDE.fullmatch(target):
        goto(channel, "hotline-transfer", target)
        sim.newexten(channel, 1, "Dial", f"PJSIP/{target},{TRANSFER_RING_S},tmg")
        outcome = await app_dial.dial(sim, leg, record, target, TRANSFER_RING_S, caller_h=True)
        if outcome == "caller_hangup":  # the h extension: DIALSTATUS is ANSWER
            await survey.by_sms(sim, leg, "hotline-transfer", "1?hotline-survey,sms,1")
            ended(sim, leg, cause=16)
            return
        if outcome == "agent_hangup":  # g: the caller goes on, to the survey
            sim.newexten(channel, 2, "GotoIf", f"1?{survey.SURVEY_CONTEXT},s,1")
            await survey.on_the_keypad(sim, leg)
            return
        if outcome != "noanswer":
            await _after_bridge(sim, leg, record, outcome)
            return
        sim.newexten(channel, 2, "GotoIf", f"0?{survey.SURVEY_CONTEXT},s,1")
        sim.newexten(channel, 3, "Goto", "hotline-wait,s,1")
    else:
        # Outside numbers go through the outbound context: a carrier leg this simulator does not
        # build for IVR transfers, so the caller stays with the center, as for a refused number.
        exten = target if len(target) > 1 else "i"
        goto(channel, "hotline-transfer", exten)
        sim.newexten(channel, 1, "NoOp", f"Transfer target {target} is not allowed")
        sim.newexten(channel, 2, "Goto", "hotline-wait,s,1")
    await _wait(sim, leg, record)


async def _wait(sim: SwitchSimulator, leg: Leg, record: CallRecord) -> None:
    """hotline-wait: the member-less queue, until Hotline Redirects the caller or time runs out."""
    channel = leg.channel
    goto(channel, "hotline-wait", "s")
    queue = channel.variables.get("HOTLINE_QUEUE", "") or DEFAULT_QUEUE
    set_var(sim, channel, 1, "HOTLINE_QUEUE", queue)
    sim.newexten(channel, 2, "ExecIf", f"{int(queue not in sim.queues)}?Set(HOTLINE_QUEUE={DEFAULT_QUEUE})")
    if queue not in sim.queues:
        queue = DEFAULT_QUEUE
        sim.varset(channel, "HOTLINE_QUEUE", queue)
    priority = queue_priority(sim, channel, 3)
    now = int(sim.clock.time())
    queued_at = channel.variables.get("HOTLINE_QUEUED_AT", "")
    sim.newexten(channel, 5, "ExecIf", f"{int(not queued_at)}?Set(HOTLINE_QUEUED_AT={now})")
    if not queued_at:
        queued_at = str(now)
        sim.varset(channel, "HOTLINE_QUEUED_AT", queued_at)
    left = WAIT_S - (now - int(queued_at))
    set_var(sim, channel, 6, "HOTLINE_WAIT_LEFT", str(left))
    sim.newexten(channel, 7, "GotoIf", f"{int(left < 1)}?hotline-fallback,s,1")
    if left < 1:
        await _fallback(sim, leg, record)
        return
    record.queue = queue
    sim.newexten(channel, 8, "Queue", f"{queue},,,,{left}")
    outcome = await app_queue.run_queue(sim, leg, queue, record, timeout_s=left, priority=priority)
    if outcome not in ("timeout", "withdrawn"):
        await _after_bridge(sim, leg, record, outcome)
        return
    status = channel.variables.get("QUEUESTATUS", "")
    sim.newexten(channel, 9, "NoOp", f"{queue}: no delivery from Hotline, {status}")
    sim.newexten(channel, 10, "Goto", "hotline-fallback,s,1")
    await _fallback(sim, leg, record)


async def _deliver(sim: SwitchSimulator, leg: Leg, record: CallRecord, extension: str) -> None:
    """hotline-deliver,<agent>: Dial the agent; not answered → back to the wait, one step ahead."""
    channel = leg.channel
    goto(channel, "hotline-deliver", extension)
    queue = channel.variables.get("HOTLINE_QUEUE", "")
    sim.newexten(channel, 1, "NoOp", f"Deliver {channel.linkedid} from {queue} to {extension}")
    set_var(sim, channel, 2, "HOTLINE_AGENT", extension)
    ring = re.sub(r"[^0-9]", "", channel.variables.get("HOTLINE_RING_S", "")) or str(RING_S)
    set_var(sim, channel, 3, "HOTLINE_RING_S", ring)
    sim.newexten(channel, 4, "Dial", f"PJSIP/{extension},{ring},tmg")
    outcome = await app_dial.dial(sim, leg, record, extension, float(ring), caller_h=True)
    if outcome == "caller_hangup":  # the h extension: DIALSTATUS is ANSWER
        await survey.by_sms(sim, leg, "hotline-deliver", "1?hotline-survey,sms,1")
        ended(sim, leg, cause=16)
        return
    if outcome == "agent_hangup":  # g: the caller goes on, to the survey
        sim.newexten(channel, 5, "GotoIf", "1?done")
        sim.newexten(channel, 9, "Goto", f"{survey.SURVEY_CONTEXT},s,1")
        await survey.on_the_keypad(sim, leg)
        return
    if outcome != "noanswer":
        await _after_bridge(sim, leg, record, outcome)
        return
    sim.newexten(channel, 5, "GotoIf", "0?done")
    sim.newexten(channel, 6, "NoOp", f"Agent {extension} missed {channel.linkedid}: NOANSWER")
    priority = int(re.sub(r"[^0-9]", "", channel.variables.get("QUEUE_PRIO", "")) or 0) + 1
    set_var(sim, channel, 7, "QUEUE_PRIO", str(priority))
    sim.newexten(channel, 8, "Goto", "hotline-wait,s,1")
    await _wait(sim, leg, record)


async def _fallback(sim: SwitchSimulator, leg: Leg, record: CallRecord) -> None:
    """hotline-fallback: app_queue's own ACD in ${HOTLINE_QUEUE}-fallback, then every member's
    phone at once (paused or not), then a message."""
    channel = leg.channel
    goto(channel, "hotline-fallback", "s")
    agi, status = channel.variables.get("AGISTATUS", ""), channel.variables.get("QUEUESTATUS", "")
    sim.newexten(channel, 1, "NoOp", f"Fallback for {channel.linkedid}: AGISTATUS={agi} QUEUESTATUS={status}")
    queue = channel.variables.get("HOTLINE_QUEUE", "") or DEFAULT_QUEUE
    set_var(sim, channel, 2, "HOTLINE_QUEUE", queue)
    missing = queue + FALLBACK_SUFFIX not in sim.queues
    sim.newexten(channel, 3, "ExecIf", f"{int(missing)}?Set(HOTLINE_QUEUE={DEFAULT_QUEUE})")
    if missing:
        queue = DEFAULT_QUEUE
        sim.varset(channel, "HOTLINE_QUEUE", queue)
    priority = queue_priority(sim, channel, 4)
    set_var(sim, channel, 6, "MEMBERINTERFACE", "")
    fallback = queue + FALLBACK_SUFFIX
    record.queue = fallback
    sim.newexten(channel, 7, "Queue", f"{fallback},t,,,{FALLBACK_WAIT_S}")
    outcome = await app_queue.run_queue(
        sim, leg, fallback, record, timeout_s=FALLBACK_WAIT_S, priority=priority
    )
    if outcome not in ("timeout", "withdrawn"):
        await _after_bridge(sim, leg, record, outcome)
        return
    sim.newexten(channel, 8, "GotoIf", "0?done")
    status = channel.variables.get("QUEUESTATUS", "")
    sim.newexten(channel, 9, "NoOp", f"Nobody answered in {fallback}: {status}")
    phones = [m.interface for m in sim.queues[fallback].members.values()]
    set_var(sim, channel, 10, "HOTLINE_PHONES", ",".join(phones))
    sim.newexten(channel, 11, "GotoIf", f"{int(not phones)}?message")
    dial_status = ""
    if phones:
        sim.newexten(channel, 12, "Dial", f"{'&'.join(phones)},{LAST_RING_S},tm")
        extension = _first_to_answer(sim, phones)
        outcome = "noanswer"
        if extension:
            outcome = await app_dial.dial(sim, leg, record, extension, LAST_RING_S)
        if outcome != "noanswer":
            await _after_bridge(sim, leg, record, outcome)
            return
        dial_status = "NOANSWER" if extension else "CHANUNAVAIL"
        if not extension:
            sim.varset(channel, "DIALSTATUS", dial_status)
        sim.newexten(channel, 13, "GotoIf", "0?done")
    sim.newexten(channel, 14, "NoOp", f"Nobody took {channel.linkedid}: {dial_status}")
    sim.newexten(channel, 15, "Goto", "hotline-message,s,1")
    await message(sim, leg)


def _first_to_answer(sim: SwitchSimulator, interfaces: list[str]) -> str:
    """Of a ring-all Dial, the phone that answers first: the one leg this simulator builds."""
    ringing: list[tuple[float, str]] = []
    for interface in interfaces:
        extension = interface.partition("/")[2]
        phone = sim.phones.get(extension)
        if phone is None or not phone.reachable or sim.endpoint_state(interface) != "NOT_INUSE":
            continue
        answers = phone.answer_after_s if phone.answer_after_s is not None else float("inf")
        ringing.append((answers, extension))
    return min(ringing)[1] if ringing else ""


async def run_context(sim: SwitchSimulator, leg: Leg, record: CallRecord, target: RedirectTo) -> None:
    """Where a Redirect sends a channel under the production dialplan."""
    channel = leg.channel
    context, exten = target.context, target.exten
    if context == "hotline-deliver" and exten.isdigit():
        await _deliver(sim, leg, record, exten)
    elif context == "hotline-callback" and _QUEUE_EXTEN.fullmatch(exten):
        goto(channel, context, exten)
        set_var(sim, channel, 1, "HOTLINE_QUEUE", exten)
        await goodbye_callback(sim, leg, f"Callback requested for {channel.linkedid} from {exten}", 2)
    elif context == "hotline-message" and (exten == "s" or _QUEUE_EXTEN.fullmatch(exten)):
        await message(sim, leg, "" if exten == "s" else exten)
    elif context == "hotline-wait" and exten == "s":
        await _wait(sim, leg, record)
    elif context == "hotline-fallback" and exten == "s":
        await _fallback(sim, leg, record)
    elif context in (desk_hold.HOLD_CONTEXT, desk_hold.RESUME_CONTEXT) and exten == "s":
        if context == desk_hold.HOLD_CONTEXT:
            await desk_hold.caller_held(sim, leg)
        else:
            await desk_hold.caller_resumed(sim, leg, record)
    else:
        from cti.simulator.dialplan import run_context as captured_context

        # agents / transfer: the Dial the captures show.
        await captured_context(sim, leg, record, target)


async def _after_bridge(sim: SwitchSimulator, leg: Leg, record: CallRecord, outcome: str) -> None:
    """After Queue() or Dial(): a Redirect runs its context; otherwise the call is over — without
    Dial's g or Queue's c option, an agent who hangs up ends the caller's channel too."""
    if outcome == "abandoned":
        record.abandoned = True
    if outcome == "redirect" and not leg.channel.hung_up:
        target = leg.take_redirect()
        if target is not None:
            await run_context(sim, leg, record, target)
            return
    if not leg.channel.hung_up:
        ended(sim, leg, cause=16)
