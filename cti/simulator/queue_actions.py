"""Queue actions: members in and out, pause, penalty, and the QueueStatus / QueueSummary lists."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cti.simulator import wire
from cti.simulator.responses import error, ok, respond_list, truthy

if TYPE_CHECKING:
    from cti.simulator.ami_server import Action, AmiServer, Session
    from cti.simulator.queue import Queue


def queue_add(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    queue = sim.queues.get(action.get("queue", ""))
    interface = action.get("interface", "")
    if queue is None or not interface:
        error(
            session,
            aid,
            "Unable to add interface to queue: No such queue" if interface else "'Interface' not specified.",
        )
        return
    if interface in queue.members:
        error(session, aid, "Unable to add interface: Already there")
        return
    ok(session, aid, "Added interface to queue")
    sim.add_member(
        queue.name,
        interface,
        name=action.get("membername", ""),
        state_interface=action.get("stateinterface", ""),
        penalty=int(action.get("penalty", "0") or 0),
        paused=truthy(action.get("paused", "")),
        reason=action.get("reason", ""),
    )


def queue_remove(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    queue = sim.queues.get(action.get("queue", ""))
    interface = action.get("interface", "")
    if queue is None:
        error(session, aid, "Unable to remove interface from queue: No such queue")
        return
    if interface not in queue.members:
        error(session, aid, "Unable to remove interface: Not there")
        return
    if queue.members[interface].membership != "dynamic":
        # queues.conf's members stay until the configuration changes.
        error(session, aid, "Member not dynamic")
        return
    ok(session, aid, "Removed interface from queue")
    sim.remove_member(queue.name, interface)


def queue_pause(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    interface = action.get("interface", "")
    paused = truthy(action.get("paused", ""))
    queue_name = action.get("queue", "")
    members = [
        q.members[interface]
        for q in sim.queues.values()
        if interface in q.members and (not queue_name or q.name == queue_name)
    ]
    if not interface:
        error(session, aid, "Need 'Interface' and 'Paused' fields.")
        return
    if not members:
        error(session, aid, "Interface not found")
        return
    ok(session, aid, "Interface paused successfully" if paused else "Interface unpaused successfully")
    for member in members:
        sim.pause_member(member, paused, action.get("reason", ""))


def queue_withdraw_caller(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    """Take a waiting caller out of Queue() and back to the dialplan (QUEUESTATUS=WITHDRAW); app_queue
    acts on it at its next look at the caller (queue_exits.withdraw_moment), not at once."""
    sim = server.sim
    queue_name, caller = action.get("queue", ""), action.get("caller", "")
    if not queue_name or not caller:
        error(session, aid, "'Queue' not specified." if not queue_name else "'Caller' not specified.")
        return
    queue = sim.queues.get(queue_name)
    if queue is None:
        error(session, aid, "Unable to request withdraw from queue: No such queue")
        return
    entry = next((e for e in queue.entries if e.channel.name == caller), None)
    if entry is None:
        error(session, aid, "Unable to request withdraw from queue: No such caller")
        return
    if entry.withdraw_info is not None:
        error(session, aid, "Unable to request withdraw from queue: Already requested")
        return
    ok(session, aid, "Withdraw requested successfully")
    entry.withdraw_info = action.get("withdrawinfo", "")
    entry.withdraw_asked_at = sim.clock.time()
    if entry.withdrawn is not None and not entry.withdrawn.done():
        entry.withdrawn.set_result(None)


def queue_log(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    """app_queue's manager_queue_log_custom: one line, as ast_queue_log writes it."""
    queue, event = action.get("queue", ""), action.get("event", "")
    if not queue or not event:
        error(session, aid, "Need 'Queue' and 'Event' parameters.")
        return
    sim = server.sim
    call_id = action.get("uniqueid", "") or "NONE"
    fields = (
        str(int(sim.clock.time())),
        call_id,
        queue,
        action.get("interface", ""),
        event,
        action.get("message", ""),
    )
    sim.queue_log.append("|".join(fields))
    ok(session, aid, "Event added successfully")


def queue_penalty(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    interface = action.get("interface", "")
    queue_name = action.get("queue", "")
    members = [
        q.members[interface]
        for q in sim.queues.values()
        if interface in q.members and (not queue_name or q.name == queue_name)
    ]
    if not members:
        error(session, aid, "Invalid interface, queuename or penalty")
        return
    ok(session, aid, "Interface penalty set successfully")
    for member in members:
        member.penalty = int(action.get("penalty", "0") or 0)
        sim.member_event("QueueMemberPenalty", member)


def queue_params(queue: Queue, aid: wire.Headers) -> wire.Headers:
    return [
        ("Event", "QueueParams"),
        ("Queue", queue.name),
        ("Max", "0"),
        ("Strategy", queue.strategy),
        ("Calls", str(len(queue.entries))),
        ("Holdtime", str(queue.holdtime)),
        ("TalkTime", str(queue.talktime)),
        ("Completed", str(queue.completed)),
        ("Abandoned", str(queue.abandoned)),
        ("ServiceLevel", "0"),
        ("ServicelevelPerf", "0.0"),
        ("ServicelevelPerf2", "0.0"),
        ("Weight", "0"),
        *aid,
    ]


def queue_status(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    wanted_queue = action.get("queue", "")
    wanted_member = action.get("member", "")
    now = sim.clock.time()
    items: list[wire.Headers] = []
    for queue in sim.queues.values():
        if wanted_queue and queue.name != wanted_queue:
            continue
        items.append(queue_params(queue, aid))
        for member in queue.members.values():
            if wanted_member and member.interface != wanted_member:
                continue
            block = dict(wire.member_block(member))
            items.append(
                [
                    ("Event", "QueueMember"),
                    ("Queue", queue.name),
                    ("Name", member.name),
                    ("Location", member.interface),
                    ("StateInterface", member.state_interface),
                    ("Membership", member.membership),
                    ("Penalty", str(member.penalty)),
                    ("CallsTaken", str(member.calls_taken)),
                    ("LastCall", block["LastCall"]),
                    ("LastPause", block["LastPause"]),
                    ("LoginTime", block["LoginTime"]),
                    ("InCall", "1" if member.status == 2 else "0"),
                    ("Status", str(member.status)),
                    ("Paused", block["Paused"]),
                    ("PausedReason", member.paused_reason),
                    ("Wrapuptime", "0"),
                    *aid,
                ]
            )
        for position, entry in enumerate(queue.entries, start=1):
            ch = entry.channel
            items.append(
                [
                    ("Event", "QueueEntry"),
                    ("Queue", queue.name),
                    ("Position", str(position)),
                    ("Channel", ch.name),
                    ("Uniqueid", ch.uniqueid),
                    ("CallerIDNum", ch.caller_num or "unknown"),
                    ("CallerIDName", ch.caller_name or "unknown"),
                    ("ConnectedLineNum", ch.connected_num or "unknown"),
                    ("ConnectedLineName", ch.connected_name or "unknown"),
                    ("Wait", str(int(now - entry.joined))),
                    ("Priority", str(entry.priority)),
                    *aid,
                ]
            )
    respond_list(session, aid, "Queue status will follow", "QueueStatusComplete", items)


def queue_summary(server: AmiServer, session: Session, action: Action, aid: wire.Headers) -> None:
    sim = server.sim
    now = sim.clock.time()
    wanted = action.get("queue", "")
    items = [
        [
            ("Event", "QueueSummary"),
            ("Queue", q.name),
            ("LoggedIn", str(len(q.members))),
            ("Available", str(sum(1 for m in q.members.values() if m.available))),
            ("Callers", str(len(q.entries))),
            ("HoldTime", str(q.holdtime)),
            ("TalkTime", str(q.talktime)),
            ("LongestHoldTime", str(int(max((now - e.joined for e in q.entries), default=0)))),
            *aid,
        ]
        for q in sim.queues.values()
        if not wanted or q.name == wanted
    ]
    respond_list(session, aid, "Queue summary will follow", "QueueSummaryComplete", items)
