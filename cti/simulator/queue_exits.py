"""A caller in app_queue's Queue() between the join and an agent: the position announcements it
hears, when app_queue looks at it again, and how it leaves without an agent — app_queue's
``stop:`` label (apps/app_queue.c, queue_exec), the same for a hang-up, a Redirect, a
QueueWithdrawCaller and the timeout. A part of ``app_queue.py``.

What the captures show (16, 17, 19 on asterisk-config/queues.conf, ``announce-position = yes``):
a caller no member can take is told its position at once — the music stops right after it
starts and comes back when the prompts end, 5 s later — and again every minute. app_queue looks
at such a caller once a second, and only after the prompts and one more second: a withdraw
asked at any moment of the first announcement takes effect 6 s after the join (19).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from cti.simulator.bridge import queue_vars

if TYPE_CHECKING:
    from cti.simulator.core import SwitchSimulator
    from cti.simulator.legs import Leg, RedirectTo
    from cti.simulator.queue import Queue, QueueEntry

# queue-youarenext + queue-thankyou (19: 5.0 s at position 1 and at position 3).
ANNOUNCE_S = 5.0
ANNOUNCE_EVERY_S = 60.0  # announce-frequency
RECHECK_S = 1.0  # app_queue's RECHECK: the wait between two looks at a caller who is not served


def announce(sim: SwitchSimulator, entry: QueueEntry) -> None:
    """say_position(): the music stops for the prompts."""
    now = sim.clock.time()
    if entry.music:
        sim.channel_event("MusicOnHoldStop", entry.channel)
        entry.music = False
    entry.announced_at = now
    entry.announcing_until = now + ANNOUNCE_S


def announcing(entry: QueueEntry, now: float) -> bool:
    return now < entry.announcing_until


def next_moment(entry: QueueEntry, queue: Queue, now: float) -> float | None:
    """When the waiting caller's announcements need the clock next (the prompts end, or the
    next minute's announcement), or None."""
    if announcing(entry, now):
        return entry.announcing_until
    if not queue.announces or entry.announced_at is None:
        return None
    return entry.announced_at + ANNOUNCE_EVERY_S


def announcements(sim: SwitchSimulator, queue: Queue, entry: QueueEntry, *, served: bool) -> None:
    """At a look at the caller: the prompts that ended give the music back; a caller no member
    can take is told its position, at the join and then every ANNOUNCE_EVERY_S."""
    now = sim.clock.time()
    if entry.announcing_until and not announcing(entry, now):
        entry.announcing_until = 0.0
        sim.channel_event("MusicOnHoldStart", entry.channel, [("Class", "default")])
        entry.music = True
    if served or not queue.announces or announcing(entry, now):
        return
    if entry.announced_at is None or now >= entry.announced_at + ANNOUNCE_EVERY_S:
        announce(sim, entry)


def withdraw_moment(entry: QueueEntry) -> float:
    """When app_queue acts on a QueueWithdrawCaller: at its next look at the caller — never
    during an announcement, and one RECHECK_S after the prompts end."""
    asked = entry.withdraw_asked_at
    if entry.rang or entry.announced_at is None:
        return asked
    first = entry.announced_at + ANNOUNCE_S + RECHECK_S
    if asked <= first:
        return first
    return first + math.ceil(asked - first - 1e-9) * RECHECK_S


def leave_unserved(
    sim: SwitchSimulator,
    leg: Leg,
    queue: Queue,
    entry: QueueEntry,
    reason: str,
    target: RedirectTo | None = None,
) -> str:
    """Queue() ends without an agent. ``reason``: abandoned (the caller hung up), redirect (an
    AMI Redirect to ``target``), withdrawn (QueueWithdrawCaller) or timeout. Returns it."""
    channel = leg.channel
    now = sim.clock.time()
    if reason in ("abandoned", "redirect") and entry.music:
        # The hang-up, or the Redirect's soft hang-up, stops the music generator first.
        sim.channel_event("MusicOnHoldStop", channel)
        entry.music = False
    waited = int(now - entry.joined)
    dialed = now - channel.created
    for name, value in (
        ("QUEUEWAIT", str(waited)),
        ("QUEUEWAIT_MS", str(waited * 1000)),
        ("DIALEDTIME", str(int(dialed))),
        ("DIALEDTIME_MS", str(int(dialed * 1000))),
        ("ANSWEREDTIME", "0"),
        ("ANSWEREDTIME_MS", "0"),
    ):
        sim.varset(channel, name, value)
    if target is not None:
        # The snapshot app_queue publishes here already has the Redirect's place (16, 17).
        sim.redirected(channel, target.context, target.exten, target.priority)
    # record_abandoned(): app_queue counts a Redirect and a withdraw as abandons too; a timeout
    # only of a caller that had rung members (the wait loop of the others does not).
    if reason != "timeout" or entry.rang:
        sim.varset(channel, "ABANDONED", "TRUE")
        queue_vars(sim, channel, queue)
        sim.channel_event(
            "QueueCallerAbandon",
            channel,
            [
                ("Queue", queue.name),
                ("Position", str(queue.position(entry))),
                ("OriginalPosition", str(entry.original_position)),
                ("HoldTime", str(waited)),
            ],
            "agent,all",
        )
        queue.abandoned += 1
    if reason == "withdrawn" and entry.withdraw_info:
        sim.varset(channel, "QUEUE_WITHDRAW_INFO", entry.withdraw_info)
    if reason in ("withdrawn", "timeout") and entry.music:
        sim.channel_event("MusicOnHoldStop", channel)
        entry.music = False
    queue_vars(sim, channel, queue)
    leave_queue(sim, queue, entry)
    if reason in ("withdrawn", "timeout"):
        sim.varset(channel, "QUEUESTATUS", "WITHDRAW" if reason == "withdrawn" else "TIMEOUT")
    if reason == "abandoned":
        from cti.simulator.dialplan import finish_hangup

        finish_hangup(sim, leg, cause=0)
    return reason


def leave_queue(sim: SwitchSimulator, queue: Queue, entry: QueueEntry) -> None:
    """leave_queue(): the entry goes, QueueCallerLeave, QUEUEPOSITION."""
    channel = entry.channel
    position = queue.position(entry)
    queue.entries.remove(entry)
    sim.refresh_queue_devices(queue)
    sim.channel_event(
        "QueueCallerLeave",
        channel,
        [("Queue", queue.name), ("Position", str(position)), ("Count", str(len(queue.entries)))],
        "agent,all",
    )
    sim.varset(channel, "QUEUEPOSITION", str(position))
    sim.queue_changed()
