"""Steps of the production dialplan that every context uses: Set, Playback, Hangup, and the
message and callback endings (asterisk-config/extensions.conf, hotline-message and
hotline-callback). A part of ``hotline_dialplan.py``."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from cti.simulator.legs import Leg, RedirectTo, first_of

if TYPE_CHECKING:
    from cti.simulator.channels import Channel
    from cti.simulator.core import SwitchSimulator

SPOOL = "/var/spool/asterisk/monitor"
MESSAGE_MAX_S = 120


class Redirected(Exception):
    """An AMI Redirect arrived during a step that is not a wait the caller's flow watches."""

    def __init__(self, target: RedirectTo) -> None:
        super().__init__(f"{target.context},{target.exten},{target.priority}")
        self.target = target


async def message(sim: SwitchSimulator, leg: Leg, queue: str = "") -> None:
    """hotline-message: the prompt, Record up to its maximum, the h extension's UserEvent. The
    IVR's message node names its own prompts and limits (HOTLINE_MESSAGE_*); Asterisk's otherwise."""
    channel = leg.channel
    if queue:
        goto(channel, "hotline-message", queue)
        set_var(sim, channel, 1, "HOTLINE_QUEUE", queue)
        sim.newexten(channel, 2, "Goto", "s,1")
    goto(channel, "hotline-message", "s")
    queue = channel.variables.get("HOTLINE_QUEUE", "")
    given = channel.variables.get
    sim.newexten(channel, 1, "NoOp", f"Message from {channel.linkedid} for {queue}")
    if not await playback(sim, leg, 2, given("HOTLINE_MESSAGE_PROMPT", "") or "vm-intro"):
        message_hangup(sim, leg)
        return
    path = f"{SPOOL}/messages/{day(sim)}/{channel.linkedid}/{channel.uniqueid}.wav"
    set_var(sim, channel, 3, "HOTLINE_MESSAGE_FILE", path)
    silence = given("HOTLINE_MESSAGE_SILENCE_S", "") or "3"
    longest = given("HOTLINE_MESSAGE_MAX_S", "") or str(MESSAGE_MAX_S)
    sim.newexten(channel, 4, "Record", f"{path},{silence},{longest},k")
    # No media here: the caller speaks until they hang up or the maximum length is reached.
    limit = sim.clock.timer(float(longest) if longest.isdigit() else MESSAGE_MAX_S)
    try:
        await first_of(leg.gone, leg.redirect, limit)
    finally:
        limit.cancel()
    if leg.redirect.done() and not leg.gone.done():
        target = leg.take_redirect()
        if target is not None:
            raise Redirected(target)
    if leg.gone.done():
        sim.varset(channel, "RECORD_STATUS", "HANGUP")
        message_hangup(sim, leg)
        return
    sim.varset(channel, "RECORD_STATUS", "TIMEOUT")
    if await playback(sim, leg, 5, given("HOTLINE_MESSAGE_GOODBYE", "") or "vm-goodbye"):
        hangup(sim, leg, 6, 16, then=lambda: message_h(sim, channel))
    else:
        message_hangup(sim, leg)


def message_hangup(sim: SwitchSimulator, leg: Leg) -> None:
    """The caller hung up in hotline-message: the h extension runs before the channel goes."""
    if leg.channel.hung_up:
        return
    message_h(sim, leg.channel)
    ended(sim, leg, cause=16)


def message_h(sim: SwitchSimulator, channel: Channel) -> None:
    """The h extension: tells Hotline a message was left (UserEvent HotlineMessage)."""
    goto(channel, "hotline-message", "h")
    path = channel.variables.get("HOTLINE_MESSAGE_FILE", "")
    sim.newexten(channel, 1, "GotoIf", f"{int(not path)}?done")
    if path:
        queue = channel.variables.get("HOTLINE_QUEUE", "")
        status = channel.variables.get("RECORD_STATUS", "")
        sim.newexten(channel, 2, "UserEvent", f"HotlineMessage,Queue: {queue},File: {path},Status: {status}")
        sim.channel_event(
            "UserEvent",
            channel,
            [("UserEvent", "HotlineMessage"), ("Queue", queue), ("File", path), ("Status", status)],
            "user,all",
        )
    sim.newexten(channel, 3, "NoOp", "")


async def goodbye_callback(sim: SwitchSimulator, leg: Leg, note: str, priority: int = 1) -> None:
    """NoOp, Playback(auth-thankyou), Playback(vm-goodbye), Hangup(16): Hotline calls back."""
    channel = leg.channel
    sim.newexten(channel, priority, "NoOp", note)
    if await playback(sim, leg, priority + 1, "auth-thankyou") and await playback(
        sim, leg, priority + 2, "vm-goodbye"
    ):
        hangup(sim, leg, priority + 3, 16)


def goto(channel: Channel, context: str, exten: str) -> None:
    channel.context, channel.exten = context, exten


def set_var(sim: SwitchSimulator, channel: Channel, priority: int, name: str, value: str) -> None:
    sim.newexten(channel, priority, "Set", f"{name}={value}")
    sim.varset(channel, name, value)


def queue_priority(sim: SwitchSimulator, channel: Channel, priority: int) -> int:
    """Set(QUEUE_PRIO=${FILTER(0-9,…)}) and its default of 0."""
    value = re.sub(r"[^0-9]", "", channel.variables.get("QUEUE_PRIO", ""))
    set_var(sim, channel, priority, "QUEUE_PRIO", value)
    sim.newexten(channel, priority + 1, "ExecIf", f"{int(not value)}?Set(QUEUE_PRIO=0)")
    if not value:
        value = "0"
        sim.varset(channel, "QUEUE_PRIO", value)
    return int(value)


def day(sim: SwitchSimulator) -> str:
    return time.strftime("%Y/%m/%d", time.gmtime(sim.clock.time()))


async def playback(sim: SwitchSimulator, leg: Leg, priority: int, prompt: str) -> bool:
    """Playback(prompt); False when the caller hung up during it. A Redirect raises ``Redirected``."""
    sim.newexten(leg.channel, priority, "Playback", prompt)
    played = sim.clock.timer(sim.prompt_seconds(prompt))
    try:
        await first_of(played, leg.gone, leg.redirect)
    finally:
        played.cancel()
    if leg.redirect.done() and not leg.gone.done():
        target = leg.take_redirect()
        if target is not None:
            raise Redirected(target)
    return not leg.gone.done()


def hangup(
    sim: SwitchSimulator, leg: Leg, priority: int, cause: int, then: Callable[[], None] | None = None
) -> None:
    """Hangup(cause) in the dialplan; ``then`` is the context's h extension."""
    sim.newexten(leg.channel, priority, "Hangup", str(cause))
    if then is not None:
        then()
    ended(sim, leg, cause=cause)


def ended(sim: SwitchSimulator, leg: Leg, *, cause: int) -> None:
    from cti.simulator.dialplan import finish_hangup

    finish_hangup(sim, leg, cause=cause)
