"""Queue members as app_queue reports them, turned into MemberStatusChanged events.

The book remembers each (queue, interface) so that a repeated event (QueueMemberStatus is sent
again when only CallsTaken changed) produces nothing, and so that a resync can tell what
changed while the link was down.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from cti.channels import DEVICE_STATES, moment, text
from cti.events import UNREACHABLE_STATES, MemberChange, MemberStatusChanged, SwitchEvent

AmiMessage = Mapping[str, "str | list[str]"]


@dataclass(slots=True)
class Member:
    name: str
    paused: bool
    reason: str
    device_state: str


def _state(message: AmiMessage, name_key: str) -> tuple[str, str, Member]:
    queue = text(message.get("Queue"))
    interface = text(message.get("Interface")) or text(message.get("Location"))
    paused = text(message.get("Paused")) == "1"
    member = Member(
        name=text(message.get(name_key)),
        paused=paused,
        reason=text(message.get("PausedReason")) if paused else "",
        device_state=DEVICE_STATES.get(text(message.get("Status")), ""),
    )
    return queue, interface, member


class MemberBook:
    def __init__(self, server: str = "") -> None:
        self.server = server
        self.members: dict[tuple[str, str], Member] = {}
        self._queues: set[str] = set()  # every queue a member was seen in (a handful)

    def phones(self) -> set[str]:
        """The members' interfaces whose device this server can ring: the phones homed here."""
        return {i for (_, i), m in self.members.items() if m.device_state not in UNREACHABLE_STATES}

    def can_ring(self, interface: str) -> bool:
        """``interface`` is a member here and its device can be rung: a phone homed here. Asked
        for every switch action with several servers, so a look-up per queue, not a scan."""
        found = (self.members.get((queue, interface)) for queue in self._queues)
        return any(m is not None and m.device_state not in UNREACHABLE_STATES for m in found)

    def feed(self, message: AmiMessage, now: Callable[[AmiMessage], float]) -> list[SwitchEvent]:
        queue, interface, member = _state(message, "MemberName")
        if not queue or not interface:
            return []
        key = (queue, interface)
        known = self.members.get(key)
        kind = message.get("Event")
        if kind == "QueueMemberRemoved":
            if self.members.pop(key, None) is None:
                return []
            return [self._event(now(message), queue, interface, member, MemberChange.REMOVED)]
        self.members[key] = member
        self._queues.add(queue)
        if known is None:
            # A status or pause for a member we never saw added still tells us it exists.
            return [self._event(now(message), queue, interface, member, MemberChange.ADDED)]
        return self._changes(now(message), queue, interface, known, member)

    def reconcile(self, at: float, queues: set[str], items: Iterable[AmiMessage]) -> list[SwitchEvent]:
        """QueueMember items of a snapshot against the book, for the queues the snapshot lists."""
        seen: dict[tuple[str, str], Member] = {}
        for item in items:
            queue, interface, member = _state(item, "Name")
            if queue and interface:
                seen[(queue, interface)] = member
        events: list[SwitchEvent] = []
        for key, known in list(self.members.items()):
            if key[0] in queues and key not in seen:
                del self.members[key]
                events.append(self._event(at, key[0], key[1], known, MemberChange.REMOVED))
        for key, member in seen.items():
            known = self.members.get(key)
            self.members[key] = member
            self._queues.add(key[0])
            if known is None:
                events.append(self._event(at, key[0], key[1], member, MemberChange.ADDED))
            else:
                events.extend(self._changes(at, key[0], key[1], known, member))
        return events

    def _changes(
        self, at: float, queue: str, interface: str, known: Member, member: Member
    ) -> list[SwitchEvent]:
        events: list[SwitchEvent] = []
        if (known.paused, known.reason) != (member.paused, member.reason):
            change = MemberChange.PAUSED if member.paused else MemberChange.UNPAUSED
            events.append(self._event(at, queue, interface, member, change))
        if member.device_state and known.device_state != member.device_state:
            events.append(self._event(at, queue, interface, member, MemberChange.DEVICE))
        return events

    def _event(
        self, at: float, queue: str, interface: str, member: Member, change: MemberChange
    ) -> SwitchEvent:
        return MemberStatusChanged(
            at=moment(at),
            queue=queue,
            interface=interface,
            member_name=member.name,
            change=change,
            paused=member.paused,
            reason=member.reason,
            device_state=member.device_state,
            server=self.server,
        )
