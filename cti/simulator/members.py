"""Device states and app_queue's members: what the switch announces when phones ring, answer and
hang up, and when members are added, removed or paused. A part of ``SwitchSimulator``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from cti.simulator import wire
from cti.simulator.queue import DEVICE_STATE_NAME, DeviceStatus, Member, Queue, QueueEntry

if TYPE_CHECKING:
    from cti.simulator.channels import Channel
    from cti.simulator.clock import Clock
    from cti.simulator.scripts import AgentScript

TRUNK_DEVICE = "PJSIP/trunk"
# The captured phones answered the qualify OPTIONS that follows a registration after 0.5 s
# (16, 17: ContactStatus NonQualified, then Reachable with RoundtripUsec ~501000).
QUALIFY_S = 0.5


class QueueMembers:
    devices: dict[str, str]
    queues: dict[str, Queue]
    channels: dict[str, Channel]
    by_device: dict[str, set[Channel]]
    clock: Clock
    emit: Callable[..., None]
    trunk_device: str  # the carrier's endpoint (PJSIP/trunk)
    offline: set[str]  # phones' devices that are not registered: UNAVAILABLE
    busy_at_one: bool  # the phones' endpoints have device_state_busy_at = 1
    phones: dict[str, AgentScript]
    spawn: Callable[..., object]

    def set_device(self, device: str, state: str) -> None:
        if self.devices.get(device) == state:
            return
        self.devices[device] = state
        self.emit("DeviceStateChange", "call,all", [("Device", device), ("State", state)])

    def endpoint_state(self, device: str) -> str:
        """What PJSIP reports for an endpoint from the channels on it now."""
        states = [c for c in self.by_device.get(device, ()) if not c.hung_up]
        if self.busy_at_one and device.partition("/")[2] in self.phones and any(c.state for c in states):
            return "BUSY"  # chan_pjsip: one channel that is not Down reaches device_state_busy_at
        if any(c.state == 6 and c.on_hold for c in states):
            return "ONHOLD"
        if any(c.state == 6 for c in states):
            return "INUSE"
        if any(c.state == 5 for c in states):
            return "RINGING"
        return "UNAVAILABLE" if device == self.trunk_device or device in self.offline else "NOT_INUSE"

    def refresh_endpoint(self, device: str) -> None:
        self.set_device(device, self.endpoint_state(device))

    def refresh_queue_devices(self, queue: Queue) -> None:
        self.set_device(f"Queue:{queue.name}", "RINGING" if queue.entries else "NOT_INUSE")

    def refresh_avail(self, queue: Queue) -> None:
        available = any(m.available for m in queue.members.values())
        self.set_device(f"Queue:{queue.name}_avail", "NOT_INUSE" if available else "INUSE")

    # -- phones registering --------------------------------------------------------------------

    def register_phone(self, extension: str) -> None:
        """The phone registers: its contact is announced at once, and once it has answered the
        qualify the endpoint is Reachable and its device NOT_INUSE (its members' Status 1)."""
        self.emit("ContactStatus", "system,all", _contact(extension, "NonQualified", 0))
        self.spawn(self._qualified(extension), name=f"qualify-{extension}")

    async def _qualified(self, extension: str) -> None:
        await self.clock.sleep(QUALIFY_S)
        device = f"PJSIP/{extension}"
        self.offline.discard(device)
        self.emit("PeerStatus", "system,all", _peer(device, "Reachable"))
        self.refresh_endpoint(device)
        self.update_member_status(device)
        self.emit("ContactStatus", "system,all", _contact(extension, "Reachable", int(QUALIFY_S * 1e6)))

    def unregister_phone(self, extension: str) -> None:
        """The phone's registration is gone: UNAVAILABLE (its members' Status 5)."""
        device = f"PJSIP/{extension}"
        self.offline.add(device)
        self.emit("PeerStatus", "system,all", _peer(device, "Unreachable"))
        self.refresh_endpoint(device)
        self.update_member_status(device)
        self.emit("ContactStatus", "system,all", _contact(extension, "Removed", 0))

    # -- queue members ---------------------------------------------------------------------------

    def member_event(self, event: str, member: Member) -> None:
        self.emit(event, "agent,all", wire.member_block(member))

    def add_member(
        self,
        queue_name: str,
        interface: str,
        *,
        name: str = "",
        state_interface: str = "",
        penalty: int = 0,
        paused: bool = False,
        reason: str = "",
        membership: str = "dynamic",
        quiet: bool = False,
    ) -> Member:
        queue = self.queues[queue_name]
        now = int(self.clock.time())
        member = Member(
            queue=queue_name,
            interface=interface,
            name=name or interface,
            state_interface=state_interface or interface,
            penalty=penalty,
            membership=membership,
            login_time=now,
            paused=paused,
            paused_reason=reason if paused else "",
            last_pause=now if paused else 0,
        )
        member.status = member_status(self.endpoint_state(member.state_interface))
        queue.members[interface] = member
        if quiet:
            self.devices[f"Queue:{queue_name}_pause_{interface}"] = "INUSE" if paused else "NOT_INUSE"
            self.devices[f"Queue:{queue_name}_avail"] = (
                "NOT_INUSE" if any(m.available for m in queue.members.values()) else "INUSE"
            )
        else:
            self.set_device(f"Queue:{queue_name}_pause_{interface}", "INUSE" if paused else "NOT_INUSE")
            self.member_event("QueueMemberAdded", member)
            self.refresh_avail(queue)
        self.queue_changed()
        return member

    def remove_member(self, queue_name: str, interface: str) -> Member:
        queue = self.queues[queue_name]
        member = queue.members.pop(interface)
        self.member_event("QueueMemberRemoved", member)
        self.refresh_avail(queue)
        return member

    def pause_member(self, member: Member, paused: bool, reason: str) -> None:
        member.paused = paused
        member.paused_reason = reason if paused else ""
        if paused:
            member.last_pause = int(self.clock.time())
        queue = self.queues[member.queue]
        self.set_device(f"Queue:{member.queue}_pause_{member.interface}", "INUSE" if paused else "NOT_INUSE")
        self.refresh_avail(queue)
        self.member_event("QueueMemberPause", member)
        self.queue_changed()

    def update_member_status(self, interface: str) -> None:
        """Device state moved: every queue the interface is a member of reports it."""
        state = self.endpoint_state(interface)
        for queue in self.queues.values():
            member = queue.members.get(interface)
            if member is None:
                continue
            status = member_status(state)
            if status != member.status:
                member.status = status
                self.member_event("QueueMemberStatus", member)
                self.refresh_avail(queue)
        self.queue_changed()

    def queue_changed(self) -> None:
        """Members, callers or devices moved: wake the waiting callers who could now ring someone.

        Only the first callers, as many as there are free members, can ring, so only they are
        woken; the others wake when those leave. Waking every caller on every change would make a
        long queue quadratic.
        """
        for queue in self.queues.values():
            if not queue.waiters:
                continue
            free = sum(1 for m in queue.members.values() if m.available)
            for entry in queue.entries[:free]:
                waiter = queue.waiters.pop(entry, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)

    def queue_changed_future(self, queue: Queue, entry: QueueEntry) -> asyncio.Future[None]:
        """A future that completes when this waiting caller may be able to ring a member."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.waiters[entry] = waiter
        return waiter


def _contact(extension: str, status: str, roundtrip_us: int) -> wire.Headers:
    # SIPp's phones of the captures listen on 5081-5084 for 1001-1004.
    port = 5080 + int(extension[-2:]) if extension[-2:].isdigit() else 5060
    return [
        ("URI", f"sip:{extension}@127.0.0.1:{port}"),
        ("ContactStatus", status),
        ("AOR", extension),
        ("EndpointName", extension),
        ("RoundtripUsec", str(roundtrip_us)),
    ]


def _peer(device: str, status: str) -> wire.Headers:
    return [("ChannelType", "PJSIP"), ("Peer", device), ("PeerStatus", status)]


def member_status(endpoint_state: str) -> int:
    for status, name in DEVICE_STATE_NAME.items():
        if name == endpoint_state:
            return int(status)
    return int(DeviceStatus.UNKNOWN)
