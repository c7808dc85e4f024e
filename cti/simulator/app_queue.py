"""app_queue as the captures show it: a caller waits on hold, members ring, the first to answer
is bridged; hold, transfer and hang-up end the bridge. Also the plain Dial used by
hotline-deliver and transfers."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cti.simulator import queue_exits
from cti.simulator.bridge import QueueContext, bridged, queue_vars
from cti.simulator.channels import Channel
from cti.simulator.core import CallRecord
from cti.simulator.legs import Leg, first_of, ring_phone
from cti.simulator.queue import Member, Queue, QueueEntry

if TYPE_CHECKING:
    from cti.simulator.core import SwitchSimulator

QUEUE_RESET_VARS = (
    "ANSWEREDTIME",
    "ANSWEREDTIME_MS",
    "DIALEDTIME",
    "DIALEDTIME_MS",
    "QUEUEWAIT",
    "QUEUEWAIT_MS",
)


async def run_queue(
    sim: SwitchSimulator,
    leg: Leg,
    queue_name: str,
    record: CallRecord,
    *,
    timeout_s: float,
    priority: int = 0,
) -> str:
    """Queue(): returns completed, abandoned, redirect, withdrawn, timeout or agent_hangup."""
    channel = leg.channel
    queue = sim.queues.get(queue_name)
    if queue is None:
        sim.varset(channel, "QUEUESTATUS", "UNKNOWN")
        return "timeout"
    for name in QUEUE_RESET_VARS:
        sim.varset(channel, name, "")
    sim.unset(channel, "ABANDONED")
    now = sim.clock.time()
    position = len(queue.entries) + 1
    for index, other in enumerate(queue.entries):
        if other.priority < priority:
            position = index + 1
            break
    entry = QueueEntry(channel, queue_name, now, position, priority)
    entry.withdrawn = asyncio.get_running_loop().create_future()
    queue.entries.insert(position - 1, entry)
    sim.refresh_queue_devices(queue)
    sim.channel_event(
        "QueueCallerJoin",
        channel,
        [("Queue", queue_name), ("Position", str(position)), ("Count", str(len(queue.entries)))],
        "agent,all",
    )
    sim.channel_event("MusicOnHoldStart", channel, [("Class", "default")])
    if record.queued is None:
        record.queued = now
    sim.queue_changed()
    deadline = sim.clock.timer(timeout_s)
    try:
        while True:
            reason = _exit_reason(sim, leg, entry, deadline)
            if reason is not None:
                target = leg.redirect.result() if reason == "redirect" else None
                return queue_exits.leave_unserved(sim, leg, queue, entry, reason, target)
            members = _members_for(queue, entry)
            queue_exits.announcements(sim, queue, entry, served=bool(members))
            if members and not queue_exits.announcing(entry, sim.clock.time()):
                entry.rang = True
                outcome = await _ring(sim, leg, record, queue, entry, members[0])
                if outcome in ("completed", "abandoned", "agent_hangup"):
                    return outcome
                if outcome == "redirect":
                    if entry not in queue.entries:
                        return outcome  # moved out of the agent's bridge (a transfer)
                    continue  # moved while the member rang: Queue() ends as for any Redirect
                retry = sim.clock.timer(queue.retry_s)
                await first_of(retry, leg.gone, leg.redirect, deadline, _pending(entry.withdrawn))
                retry.cancel()
                continue
            await _wait_for_change(sim, leg, queue, entry, deadline)
    finally:
        deadline.cancel()
        queue.waiters.pop(entry, None)


def _exit_reason(
    sim: SwitchSimulator, leg: Leg, entry: QueueEntry, deadline: asyncio.Future[None]
) -> str | None:
    if leg.gone.done():
        return "abandoned"
    if leg.redirect.done():
        return "redirect"
    if entry.withdraw_info is not None and sim.clock.time() >= queue_exits.withdraw_moment(entry):
        return "withdrawn"
    if deadline.done():
        return "timeout"
    return None


async def _wait_for_change(
    sim: SwitchSimulator, leg: Leg, queue: Queue, entry: QueueEntry, deadline: asyncio.Future[None]
) -> None:
    """Until a member may be free, the caller leaves, or the announcements or a withdraw need
    the clock."""
    now = sim.clock.time()
    moments = [queue_exits.next_moment(entry, queue, now)]
    if entry.withdraw_info is not None:
        moments.append(queue_exits.withdraw_moment(entry))
    soonest = min((m for m in moments if m is not None), default=None)
    wake = sim.clock.timer(soonest - now) if soonest is not None else None
    changed = sim.queue_changed_future(queue, entry)
    try:
        await first_of(changed, leg.gone, leg.redirect, deadline, wake, _pending(entry.withdrawn))
    finally:
        queue.waiters.pop(entry, None)
        if wake is not None:
            wake.cancel()


def _pending(future: asyncio.Future[None] | None) -> asyncio.Future[None] | None:
    """A withdraw wakes the caller once; after that its moment is a timer."""
    return future if future is not None and not future.done() else None


def _members_for(queue: Queue, entry: QueueEntry) -> list[Member]:
    position = queue.position(entry)
    available = [m for m in queue.members.values() if m.available]
    if position > len(available):
        return []
    return queue.pick_members()


async def _ring(
    sim: SwitchSimulator, leg: Leg, record: CallRecord, queue: Queue, entry: QueueEntry, member: Member
) -> str:
    context = QueueContext(queue, member, entry)
    extension = member.interface.partition("/")[2]
    phone = sim.phones.get(extension)
    answer_after = phone.answer_after_s if phone is not None and phone.reachable else None
    return await dial_and_bridge(sim, leg, record, extension, queue.timeout_s, context, answer_after)


def _agent_channel(
    sim: SwitchSimulator, caller: Channel, extension: str, queued: bool
) -> tuple[Channel, Channel]:
    """The outgoing leg, and the stale copy of it that DialBegin carries (as Asterisk's snapshot)."""
    agent = sim.new_channel(f"PJSIP/{extension}", context="agents", exten="s", linkedid=caller.linkedid)
    agent.caller_num = caller.exten
    sim.newexten(agent, 1, "AppQueue" if queued else "AppDial", "(Outgoing Line)")
    sim.channel_event("NewCallerid", agent, [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")])
    sim.varset(agent, "DIALEDPEERNUMBER", extension)
    stale = Channel(**{name: getattr(agent, name) for name in Channel.__slots__})
    agent.connected_num, agent.connected_name = caller.caller_num, caller.caller_name
    agent.exten = caller.exten
    return agent, stale


async def dial_and_bridge(
    sim: SwitchSimulator,
    leg: Leg,
    record: CallRecord,
    extension: str,
    ring_timeout_s: float,
    queued: QueueContext | None,
    answer_after_s: float | None = None,
) -> str:
    """Ring one phone for the caller; returns completed, noanswer, abandoned or redirect."""
    caller = leg.channel
    if queued is None:
        phone = sim.phones.get(extension)
        answer_after_s = phone.answer_after_s if phone is not None and phone.reachable else None
    agent, stale = _agent_channel(sim, caller, extension, queued is not None)
    dial_string = f"PJSIP/{extension}"
    if queued is not None:
        sim.pair_event(
            "AgentCalled",
            caller,
            agent,
            [
                ("Queue", queued.queue.name),
                ("Interface", queued.member.interface),
                ("MemberName", queued.member.name),
            ],
            "agent,all",
        )
    sim.pair_event("DialBegin", caller, stale, [("DialString", dial_string)], "call,all")
    caller.connected_num, caller.connected_name = caller.exten, ""
    sim.channel_event("NewConnectedLine", caller)
    sim.newstate(agent, 5)
    sim.newexten(agent, 1, "AppQueue" if queued else "AppDial", "(Outgoing Line)")
    sim.channel_event("NewConnectedLine", agent)
    sim.refresh_endpoint(agent.device)
    sim.update_member_status(agent.device)
    sim.pair_event("DialState", caller, agent, [("DialStatus", "RINGING")], "call,all")
    ring_started = sim.clock.time()
    outcome = await ring_phone(sim, leg, agent, ring_timeout_s, answer_after_s)
    if outcome != "answered":
        status = outcome.upper()
        sim.pair_event("DialEnd", caller, agent, [("DialStatus", status)], "call,all")
        if queued is not None and status in ("NOANSWER", "BUSY"):
            sim.pair_event(
                "AgentRingNoAnswer",
                caller,
                agent,
                [
                    ("Queue", queued.queue.name),
                    ("Interface", queued.member.interface),
                    ("MemberName", queued.member.name),
                    ("RingTime", str(int(sim.clock.time() - ring_started))),
                ],
                "agent,all",
            )
        sim.hangup_channel(agent, {"CANCEL": 0, "BUSY": 17}.get(status, 16))
        sim.refresh_endpoint(agent.device)
        sim.update_member_status(agent.device)
        if leg.gone.done():
            if queued is not None:
                queue_exits.leave_unserved(sim, leg, queued.queue, queued.entry, "abandoned")
            return "abandoned"
        return "redirect" if leg.redirect.done() else "noanswer"
    sim.newstate(agent, 6)
    sim.pair_event("DialEnd", caller, agent, [("DialStatus", "ANSWER")], "call,all")
    ring_time = int(sim.clock.time() - ring_started)
    if queued is not None:
        _connect_from_queue(sim, caller, agent, queued, ring_time)
    else:
        sim.refresh_endpoint(agent.device)
        sim.update_member_status(agent.device)
    record.answered = sim.clock.time()
    record.agent = extension
    return await bridged(sim, leg, agent, record, queued)


def _connect_from_queue(
    sim: SwitchSimulator, caller: Channel, agent: Channel, queued: QueueContext, ring_time: int
) -> None:
    queue, member, entry = queued.queue, queued.member, queued.entry
    now = sim.clock.time()
    hold = int(now - entry.joined)
    sim.channel_event("MusicOnHoldStop", caller)
    entry.music = False
    for channel in (caller, agent):
        for name, value in (
            ("MEMBERINTERFACE", member.interface),
            ("MEMBERNAME", member.name),
            ("MEMBERCALLS", str(member.calls_taken)),
            ("MEMBERLASTCALL", str(int(member.last_call))),
            ("MEMBERPENALTY", str(member.penalty)),
            ("MEMBERDYNAMIC", "1" if member.membership == "dynamic" else "0"),
            ("MEMBERREALTIME", "0"),
        ):
            sim.varset(channel, name, value)
    for channel in (caller, agent):
        sim.varset(channel, "QEHOLDTIME", str(hold))
        sim.varset(channel, "QEORIGINALPOS", str(entry.original_position))
    queue_vars(sim, caller, queue)
    queue_vars(sim, agent, queue)
    sim.refresh_endpoint(agent.device)
    queue_exits.leave_queue(sim, queue, entry)
    sim.update_member_status(agent.device)
    sim.varset(caller, "QUEUEWAIT", str(hold))
    sim.varset(caller, "QUEUEWAIT_MS", str(hold * 1000))
    queue.record_connected_hold(hold)
    sim.pair_event(
        "AgentConnect",
        caller,
        agent,
        [
            ("Queue", queue.name),
            ("Interface", member.interface),
            ("MemberName", member.name),
            ("HoldTime", str(hold)),
            ("RingTime", str(ring_time)),
        ],
        "agent,all",
    )
