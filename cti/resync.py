"""Reconcile the tracker's memory with a SwitchSnapshot taken after a (re)connect.

Nothing of the past is replayed after a reconnect (tests/transcripts/README.md), so what the
switch lists now is the truth: calls we remember that it no longer has ended while we were
away (EndCause.LOST_DURING_DISCONNECT); calls it has that we never saw are adopted with the
events a consumer needs to reach the same state (CallOffered, then CallQueued or CallAnswered);
members are diffed. SwitchResynced comes last.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from cti.channels import Call, integer, interface_of, is_local, moment, seconds, text
from cti.events import CallOffered, CallQueued, SwitchEvent, SwitchResynced

if TYPE_CHECKING:
    from cti.snapshot import SwitchSnapshot
    from cti.tracker import CallTracker

AmiMessage = Mapping[str, "str | list[str]"]


def reconcile(tracker: CallTracker, snapshot: SwitchSnapshot) -> list[SwitchEvent]:
    at = snapshot.at.timestamp()
    listed: dict[str, AmiMessage] = {}
    for item in snapshot.channels:
        uniqueid = text(item.get("Uniqueid"))
        if uniqueid:
            listed[uniqueid] = item
    events: list[SwitchEvent] = []
    for call in list(tracker.calls.values()):
        events.extend(_forget_gone(tracker, call, listed, at))
    entries = _queue_entries(snapshot.queue_status)
    for call_id, items in sorted(_by_call(listed).items(), key=lambda pair: _age(pair[0])):
        if not tracker.was_ended(call_id):
            events.extend(_adopt(tracker, call_id, items, entries, at))
    queues = {text(item.get("Queue")) for item in snapshot.queue_status if item.get("Event") == "QueueParams"}
    members = [item for item in snapshot.queue_status if item.get("Event") == "QueueMember"]
    if queues:
        events.extend(tracker.members.reconcile(at, queues, members))
    events.append(
        SwitchResynced(
            at=snapshot.at,
            calls=tuple(sorted(tracker.open_call_ids())),
            members=len(members),
            server=tracker.server,
            phones=tuple(sorted(tracker.members.phones())),
        )
    )
    return events


def _forget_gone(
    tracker: CallTracker, call: Call, listed: Mapping[str, AmiMessage], at: float
) -> list[SwitchEvent]:
    gone = [channel for uniqueid, channel in call.channels.items() if uniqueid not in listed]
    lost = len(gone) == len(call.channels)
    events: list[SwitchEvent] = []
    for channel in gone:
        events.extend(tracker.drop_channel(channel, at, lost=lost))
    return events


def _by_call(listed: Mapping[str, AmiMessage]) -> dict[str, list[AmiMessage]]:
    calls: dict[str, list[AmiMessage]] = {}
    for uniqueid, item in listed.items():
        calls.setdefault(text(item.get("Linkedid")) or uniqueid, []).append(item)
    return calls


def _age(uniqueid: str) -> tuple[float, float]:
    """Asterisk's ids are "[systemname-]epoch.sequence": the older call sorts first."""
    head, _, tail = uniqueid.rpartition("-")[2].partition(".")
    try:
        return float(head), float(tail or 0)
    except ValueError:
        return float("inf"), 0.0


def _queue_entries(items: list[AmiMessage]) -> dict[str, AmiMessage]:
    entries: dict[str, AmiMessage] = {}
    for item in items:
        if item.get("Event") == "QueueEntry":
            entries[text(item.get("Uniqueid")) or text(item.get("Channel"))] = item
    return entries


def _adopt(
    tracker: CallTracker,
    call_id: str,
    items: list[AmiMessage],
    entries: Mapping[str, AmiMessage],
    at: float,
) -> list[SwitchEvent]:
    events: list[SwitchEvent] = []
    call = tracker.calls.get(call_id)
    # A channel we already follow in another call stays there: what we saw beats the listing.
    items = [item for item in items if _owner(tracker, item) in (None, call)]
    if not items:
        return events
    items.sort(key=lambda item: text(item.get("Uniqueid")) != call_id)  # the caller first
    if call is None:
        call = tracker.new_call(call_id, at)
        first = items[0]
        name = text(first.get("Channel"))
        if not is_local(name):
            call.announced = True
            events.append(
                CallOffered(
                    at=moment(at),
                    call_id=call_id,
                    caller=text(first.get("CallerIDNum")),
                    caller_name=text(first.get("CallerIDName")),
                    dialed=text(first.get("Exten")),
                    channel=name,
                )
            )
    for item in items:
        uniqueid = text(item.get("Uniqueid"))
        if uniqueid not in tracker.channels:
            tracker.add_channel(call, uniqueid, text(item.get("Channel")), at)
    caller = call.channels.get(call.primary)
    if caller is None:
        return events
    entry = entries.get(caller.uniqueid) or entries.get(caller.name)
    if entry is not None:
        queue = text(entry.get("Queue"))
        if not (call.in_queue and call.queue == queue):
            position = integer(entry.get("Position"))
            if call.queued_at is None:
                call.queued_at = at - seconds(entry.get("Wait"))
                call.original_position = position
            call.queue, call.in_queue, call.position = queue, True, position
            call.announced = True
            events.append(
                CallQueued(
                    at=moment(at),
                    call_id=call_id,
                    queue=queue,
                    position=position,
                    priority=integer(entry.get("Priority")),
                )
            )
        return events
    bridge = text(_item(items, caller.uniqueid).get("BridgeId"))
    if bridge and not call.answered:
        for item in items:
            uniqueid = text(item.get("Uniqueid"))
            if uniqueid != caller.uniqueid and text(item.get("BridgeId")) == bridge:
                leg = tracker.channels[uniqueid]
                leg.delivery = True
                leg.agent = leg.agent or interface_of(leg.name)
                queue = call.queue or _queue_of(_item(items, caller.uniqueid))
                wait = at - call.queued_at if call.queued_at is not None else 0.0
                call.announced = True
                events.extend(tracker.answer(call, leg, at, queue, wait, 0.0))
                break
    return events


def _owner(tracker: CallTracker, item: AmiMessage) -> Call | None:
    channel = tracker.channels.get(text(item.get("Uniqueid")))
    return channel.call if channel is not None else None


def _item(items: list[AmiMessage], uniqueid: str) -> AmiMessage:
    for item in items:
        if text(item.get("Uniqueid")) == uniqueid:
            return item
    return {}


def _queue_of(item: AmiMessage) -> str:
    if text(item.get("Application")) == "Queue":
        return text(item.get("ApplicationData")).split(",", 1)[0]
    return ""
