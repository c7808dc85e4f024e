"""The desktop's consult (attended) transfer, as the call tracker reads it (docs/transfers.md).

AMI ``Atxfer`` on the agent's leg: the agent's leg is put on hold (``Hold``, the caller hears
music), Asterisk requests ``Local/<ext>@hotline-consult`` for it (same Linkedid: the consult is
part of the caller's call) and that Local channel's ``;2`` half dials the consulted phone. Then
(captured on Asterisk 22, tests/transcripts/live/test_a_consult_on_the_switch_*):

- cancel (``CancelAtxfer``, or the target hangs up or does not answer): the agent's leg goes
  back to the caller's bridge, ``Unhold``, the Local pair hangs up — no transfer event;
- complete (the atxfercomplete keys): ``AttendedTransfer`` with ``DestType: Bridge`` naming the
  Local ``;1`` as the target, the agent's leg hangs up, the Local pair optimizes away and the
  consulted phone's leg ends up bridged with the caller (no ``Unhold``);
- three-way (the atxferthreeway keys): ``AttendedTransfer`` with ``DestType: Threeway``; the
  caller, the agent and the consulted phone end up in one bridge; whoever hangs up, the other
  two stay connected.

The consulted phone's answer is the ``DialEnd`` (``DialStatus: ANSWER``) of ``;2`` to it, just
after its ``Newstate`` Up and before it enters the consult's bridge.

Handlers of the call tracker: ``dial_begin`` (the consult rings), ``dial_end`` (the consulted
agent picks up), ``attended_transfer``,
``hangup`` (a consult leg or a conference member gone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cti import transfers as _transfers
from cti.channels import Channel, Consult, TalkSegment, interface_of, moment, text
from cti.events import (
    CallResumed,
    ConferenceLeft,
    ConferenceStarted,
    ConsultAnswered,
    ConsultCancelled,
    ConsultStarted,
    SwitchEvent,
    TransferKind,
)
from cti.transfers import transferred

if TYPE_CHECKING:
    from cti.tracker import AmiMessage, CallTracker

CONSULT_CONTEXT = "hotline-consult"
_CONSULT_LOCAL = f"@{CONSULT_CONTEXT}-"


def is_consult_leg(channel: Channel) -> bool:
    """A half of the Local channel an Atxfer into hotline-consult dials through."""
    return channel.name.startswith("Local/") and _CONSULT_LOCAL in channel.name


def dial_begin(tracker: CallTracker, source: Channel, dest: Channel, at: float) -> list[SwitchEvent]:
    """The consult's Local ``;2`` half dials the consulted phone."""
    call = source.call
    if call.consult is not None or not call.answered:
        return []
    dest.agent = interface_of(dest.name)
    agent_leg = tracker.channels.get(call.agent_uniqueid)
    call.consult = Consult(
        agent=call.agent,
        agent_uniqueid=call.agent_uniqueid,
        target=dest.agent,
        target_uniqueid=dest.uniqueid,
        local_uniqueids=frozenset({source.uniqueid, source.local_peer} - {""}),
        rung_at=at,
    )
    return [
        ConsultStarted(
            at=moment(at),
            call_id=call.call_id,
            agent=call.agent or (interface_of(agent_leg.name) if agent_leg else ""),
            target=dest.agent,
            target_channel=dest.name,
        )
    ]


def is_consulted_phone(channel: Channel) -> bool:
    """The consulted agent's phone while its consult is in progress."""
    consult = channel.call.consult
    return consult is not None and consult.target_uniqueid == channel.uniqueid


def dial_end(tracker: CallTracker, phone: Channel, message: AmiMessage) -> list[SwitchEvent]:
    """The consulted phone's dial ended: picked up, the two agents now talk. Any other outcome
    (no answer, cancelled) is the Local pair's hang-up, which ``hangup`` reports. The call's
    talk time is untouched: the consulted agent's talk with the caller starts at the completion
    (or the three-way call)."""
    consult = phone.call.consult
    if consult is None or text(message.get("DialStatus")) != "ANSWER":
        return []
    at = tracker.now(message)
    return [
        ConsultAnswered(
            at=moment(at),
            call_id=phone.call.call_id,
            agent=consult.agent,
            target=consult.target,
            target_channel=phone.name,
            ring_seconds=round(max(0.0, at - consult.rung_at), 3),
        )
    ]


def attended_transfer(tracker: CallTracker, message: AmiMessage) -> list[SwitchEvent] | None:
    """Completion or three-way of a consult; None when the transfer is not a consult's."""
    target = tracker.channel_of(message, "TransferTargetUniqueid")
    if target is not None and is_consult_leg(target):
        call = target.call
    else:
        # The agent's phone hung up mid-consult (atxferdropcall = no): Asterisk completes the
        # transfer and names no target at all (captured: [agent-hangs-up]).
        transferer = tracker.channel_of(message, "OrigTransfererUniqueid")
        if target is not None or transferer is None or transferer.call.consult is None:
            return None
        if transferer.call.consult.agent_uniqueid != transferer.uniqueid:
            return None
        call = transferer.call
    consult = call.consult
    if consult is None or text(message.get("Result")) not in ("", "Success"):
        return []
    call.consult = None
    call.attended_target = text(message.get("TransferTargetUniqueid"))
    at = tracker.now(message)
    events: list[SwitchEvent] = []
    agent_leg = tracker.channels.get(consult.agent_uniqueid)
    if agent_leg is not None and agent_leg.held:
        # The caller's music stops as the bridges merge; Asterisk sends no Unhold for it.
        agent_leg.held = False
        events.append(CallResumed(at=moment(at), call_id=call.call_id, channel=agent_leg.name))
    phone = tracker.channels.get(consult.target_uniqueid)
    if phone is None:
        return events  # the consulted phone hung up at that very moment: the Hangup tells the rest
    if text(message.get("DestType")) == "Threeway":
        call.conference = {consult.agent_uniqueid: consult.agent, phone.uniqueid: consult.target}
        call.talk.setdefault(phone.uniqueid, TalkSegment(start=at))
        events.append(
            ConferenceStarted(
                at=moment(at),
                call_id=call.call_id,
                agent=consult.agent,
                target=consult.target,
                target_channel=phone.name,
            )
        )
        return events
    queue = call.queue  # the transfer forgets it; the consulted agent answers for that queue
    events.extend(transferred(tracker, call, at, consult.agent, consult.target, TransferKind.ATTENDED))
    # The consulted agent now has the caller: answered by them, as a delivery would be.
    phone.delivery = True
    events.extend(tracker.answer(call, phone, at, queue, 0.0, at - consult.rung_at))
    return events


def hangup(tracker: CallTracker, channel: Channel, at: float) -> list[SwitchEvent]:
    """Before the tracker drops ``channel``: a consult leg gone before any transfer is the
    consult cancelled; a conference member gone leaves the others talking."""
    call = channel.call
    consult = call.consult
    if consult is not None and (
        channel.uniqueid in consult.local_uniqueids or channel.uniqueid == consult.target_uniqueid
    ):
        call.consult = None
        return [
            ConsultCancelled(at=moment(at), call_id=call.call_id, agent=consult.agent, target=consult.target)
        ]
    agent = call.conference.pop(channel.uniqueid, None)
    if agent is None or len(call.channels) <= 1:
        return []
    if call.agent_uniqueid == channel.uniqueid and call.conference:
        # The one who stays becomes the call's agent: its end is theirs to wrap up.
        call.agent_uniqueid, call.agent = next(iter(call.conference.items()))
    if len(call.conference) <= 1:
        call.conference = {}
    return [ConferenceLeft(at=moment(at), call_id=call.call_id, agent=agent)]


def any_attended_transfer(tracker: CallTracker, message: AmiMessage) -> list[SwitchEvent]:
    """Every ``AttendedTransfer``: a consult's, or one the agent made on their phone."""
    events = attended_transfer(tracker, message)
    return _transfers.attended_transfer(tracker, message) if events is None else events
