"""Bridges and transfers: BlindTransfer, AttendedTransfer, and a Redirect out of an agent's bridge.

Handlers of the call tracker, one function per AMI event: ``handler(tracker, message)`` returns
the domain events. docs/tracker.md explains how a Redirect is told apart from a hangup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cti.channels import Call, Channel, TalkSegment, integer, interface_of, moment, text
from cti.events import CallTransferred, SwitchEvent, TransferKind

if TYPE_CHECKING:
    from cti.tracker import AmiMessage, CallTracker


def bridge_enter(tracker: CallTracker, message: AmiMessage) -> list[SwitchEvent]:
    channel = tracker.channel_of(message)
    if channel is not None:
        channel.bridge = text(message.get("BridgeUniqueid"))
        tracker.redirect_pending.discard(channel.uniqueid)
        if channel.uniqueid == channel.call.primary:
            channel.call.transfer_reported = False
            tracker.bridged_callers.add(channel.uniqueid)
    return []


def bridge_leave(tracker: CallTracker, message: AmiMessage) -> list[SwitchEvent]:
    channel = tracker.channel_of(message)
    if channel is None:
        return []
    channel.bridge = ""
    tracker.bridged_callers.discard(channel.uniqueid)
    call = channel.call
    if (
        channel.uniqueid == call.primary
        and call.answered
        and not channel.hanging
        and not call.transfer_reported
        and integer(message.get("BridgeNumChannels")) > 0
    ):
        # The caller left first while the agent stayed: a Redirect, if dialplan follows.
        tracker.redirect_pending.add(channel.uniqueid)
    return []


def transferred(
    tracker: CallTracker, call: Call, at: float, from_agent: str, to: str, kind: TransferKind
) -> list[SwitchEvent]:
    call.transfer_reported = True
    call.queue = ""
    call.queued_at = None
    call.announced = True
    return [CallTransferred(at=moment(at), call_id=call.call_id, from_agent=from_agent, to=to, kind=kind)]


def redirected(tracker: CallTracker, channel: Channel, at: float, extension: str) -> list[SwitchEvent]:
    """The caller left an agent's bridge alive and now runs dialplan again: a Redirect."""
    tracker.redirect_pending.discard(channel.uniqueid)
    call = channel.call
    if call.transfer_reported:
        return []
    return transferred(tracker, call, at, call.agent, extension, TransferKind.BLIND)


def agent_of(tracker: CallTracker, message: AmiMessage, prefix: str) -> str:
    leg = tracker.channel_of(message, prefix + "Uniqueid")
    if leg is not None and leg.agent:
        return leg.agent
    name = text(message.get(prefix + "Channel"))
    return interface_of(name) if name else ""


def blind_transfer(tracker: CallTracker, message: AmiMessage) -> list[SwitchEvent]:
    if text(message.get("Result")) not in ("", "Success"):
        return []
    leg = tracker.channel_of(message, "TransfereeUniqueid") or tracker.channel_of(
        message, "TransfererUniqueid"
    )
    if leg is None or leg.call.transfer_reported:
        return []
    tracker.redirect_pending.discard(leg.call.primary)
    return transferred(
        tracker,
        leg.call,
        tracker.now(message),
        agent_of(tracker, message, "Transferer"),
        text(message.get("Extension")),
        TransferKind.BLIND,
    )


def attended_transfer(tracker: CallTracker, message: AmiMessage) -> list[SwitchEvent]:
    if text(message.get("Result")) not in ("", "Success"):
        return []
    leg = tracker.channel_of(message, "TransfereeUniqueid") or tracker.channel_of(
        message, "OrigTransfererUniqueid"
    )
    if leg is None:
        return []
    call = leg.call
    target = tracker.channel_of(message, "TransferTargetUniqueid")
    target_id = text(message.get("TransferTargetUniqueid"))
    if target_id and call.attended_target == target_id:
        return []
    call.attended_target = target_id
    at = tracker.now(message)
    to = agent_of(tracker, message, "TransferTarget") or text(message.get("DestApp"))
    events = transferred(
        tracker, call, at, agent_of(tracker, message, "OrigTransferer"), to, TransferKind.ATTENDED
    )
    if target is not None and target.call is not call:
        consult = target.call
        if consult.agent_uniqueid == target.uniqueid:
            # The target now talks with our caller; the consultation call no longer has it.
            consult.agent = ""
            consult.agent_uniqueid = ""
            segment = consult.talk.get(target.uniqueid)
            if segment is not None and segment.duration is None:
                segment.duration = max(0.0, at - segment.start)
        events.extend(tracker.move(target, call, at))
    if target is not None:
        target.agent = target.agent or interface_of(target.name)
        target.delivery = True
        call.agent = target.agent
        call.agent_uniqueid = target.uniqueid
        call.answered = True
        call.talk.setdefault(target.uniqueid, TalkSegment(start=at))
    return events
