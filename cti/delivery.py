"""How a call reaches an agent: queues (app_queue's events) and Dial delivery (docs/routing.md).

Handlers of the call tracker, one function per AMI event: ``handler(tracker, message)`` returns
the domain events. A caller waits in a queue (QueueCallerJoin → CallQueued); app_queue rings a
member (AgentCalled → CallRinging, AgentConnect → CallAnswered with Asterisk's HoldTime and
RingTime), or Hotline redirects the caller out of the queue and the dialplan dials the agent
(DialBegin → CallRinging, DialEnd ANSWER → CallAnswered, with the queue the caller left).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cti import consult
from cti.channels import TalkSegment, integer, interface_of, is_local, moment, seconds, text
from cti.events import CallAbandoned, CallQueued, CallRinging, SwitchEvent

if TYPE_CHECKING:
    from cti.tracker import AmiMessage, CallTracker


def dial_begin(tracker: CallTracker, message: AmiMessage) -> list[SwitchEvent]:
    dest = tracker.channel_of(message, "DestUniqueid")
    if dest is None:
        return []
    source = tracker.channel_of(message)
    at = tracker.now(message)
    if source is not None and dest.call is not source.call and not dest.call.announced:
        tracker.move(dest, source.call, at)
    call = dest.call
    if source is not None and source.call is call and consult.is_consult_leg(source):
        return consult.dial_begin(tracker, source, dest, at)
    if dest.queue_rung or dest.delivery:
        return []
    peer = tracker.channels.get(source.local_peer) if source is not None and source.local_peer else None
    if peer is not None and peer.delivery:
        # The ;2 half of a Local channel dials the real phone on behalf of its ;1 half.
        if peer.queue_rung:
            dest.delivery = dest.queue_rung = True
            dest.agent = peer.agent
            dest.dial_begin_at = at
            return []
    elif source is not None and (source.uniqueid != call.primary or source.delivery):
        return []  # an agent's own leg dialing out (the customer on a click-to-dial)
    # Otherwise the caller dials an agent, or Originate rings its first leg (click-to-dial).
    dest.delivery = True
    dest.dial_begin_at = at
    if is_local(dest.name):
        return []  # the agent is known when its ;2 half dials the phone
    dest.agent = interface_of(dest.name)
    call.announced = True
    return [
        CallRinging(
            at=moment(at),
            call_id=call.call_id,
            agent=dest.agent,
            queue=call.queue,
            agent_channel=dest.name,
        )
    ]


def dial_end(tracker: CallTracker, message: AmiMessage) -> list[SwitchEvent]:
    dest = tracker.channel_of(message, "DestUniqueid")
    if dest is not None and consult.is_consulted_phone(dest):
        return consult.dial_end(tracker, dest, message)
    if dest is None or not dest.delivery or dest.queue_rung or is_local(dest.name):
        return []
    if message.get("DialStatus") != "ANSWER":
        return []
    call = dest.call
    at = tracker.now(message)
    wait = at - call.queued_at if call.queued_at is not None else 0.0
    ring = at - dest.dial_begin_at if dest.dial_begin_at is not None else 0.0
    return tracker.answer(call, dest, at, call.queue, wait, ring)


def agent_called(tracker: CallTracker, message: AmiMessage) -> list[SwitchEvent]:
    dest = tracker.channel_of(message, "DestUniqueid")
    if dest is None or dest.queue_rung:
        return []
    call = dest.call
    at = tracker.now(message)
    dest.queue_rung = dest.delivery = True
    dest.agent = text(message.get("Interface")) or interface_of(dest.name)
    dest.dial_begin_at = at
    call.announced = True
    return [
        CallRinging(
            at=moment(at),
            call_id=call.call_id,
            agent=dest.agent,
            queue=text(message.get("Queue")),
            agent_channel=dest.name,
            member_name=text(message.get("MemberName")),
        )
    ]


def agent_connect(tracker: CallTracker, message: AmiMessage) -> list[SwitchEvent]:
    dest = tracker.channel_of(message, "DestUniqueid")
    if dest is None:
        return []
    dest.agent = text(message.get("Interface")) or dest.agent or interface_of(dest.name)
    dest.delivery = True
    return tracker.answer(
        dest.call,
        dest,
        tracker.now(message),
        text(message.get("Queue")),
        seconds(message.get("HoldTime")),
        seconds(message.get("RingTime")),
    )


def agent_complete(tracker: CallTracker, message: AmiMessage) -> list[SwitchEvent]:
    leg = tracker.channel_of(message, "DestUniqueid") or tracker.channel_of(message)
    if leg is None:
        return []
    talk = seconds(message.get("TalkTime"))
    uniqueid = text(message.get("DestUniqueid"))
    segment = leg.call.talk.get(uniqueid)
    if segment is None:
        segment = leg.call.talk[uniqueid] = TalkSegment(start=tracker.now(message) - talk)
    segment.duration = talk
    segment.reported = True
    return []


def queue_join(tracker: CallTracker, message: AmiMessage) -> list[SwitchEvent]:
    channel = tracker.channel_of(message)
    if channel is None:
        return []
    call = channel.call
    queue = text(message.get("Queue"))
    if call.in_queue and call.queue == queue:
        return []
    at = tracker.now(message)
    position = integer(message.get("Position"))
    if call.queued_at is None:
        call.queued_at = at
        call.original_position = position
    call.queue = queue
    call.in_queue = True
    call.position = position
    call.announced = True
    return [
        CallQueued(
            at=moment(at),
            call_id=call.call_id,
            queue=queue,
            position=position,
            priority=channel.queue_priority,
        )
    ]


def queue_leave(tracker: CallTracker, message: AmiMessage) -> list[SwitchEvent]:
    channel = tracker.channel_of(message)
    if channel is not None:
        channel.call.in_queue = False
    return []


def queue_abandon(tracker: CallTracker, message: AmiMessage) -> list[SwitchEvent]:
    """app_queue says "abandon" whenever a caller leaves ``Queue()`` unserved: when they hang up,
    but also when a Redirect (Hotline's delivery, capture 16) or ``QueueWithdrawCaller`` (19)
    takes them out alive. Only a caller whose channel is being hung up has abandoned; the others
    go on in the dialplan, and if they hang up unanswered later, the end of the call says so."""
    channel = tracker.channel_of(message)
    if channel is None or channel.call.abandoned or not channel.hanging:
        return []
    call = channel.call
    call.abandoned = True
    call.announced = True
    return [
        CallAbandoned(
            at=moment(tracker.now(message)),
            call_id=call.call_id,
            queue=text(message.get("Queue")) or call.queue,
            wait_seconds=seconds(message.get("HoldTime")),
            position=integer(message.get("Position")),
            original_position=integer(message.get("OriginalPosition")),
        )
    ]
