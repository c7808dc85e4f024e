"""The call tracker: the only code that interprets raw AMI events.

A pure class. ``feed(message)`` takes one AMI message (a plain mapping from ``AmiParser``) and
returns everything it tells us as domain events; ``resync(snapshot)`` reconciles memory with
what the switch lists after a (re)connect. No socket, no clock but the injected one. Channels
are followed into calls by Linkedid / Uniqueid; a call whose every channel has hung up has
ended and is forgotten. docs/tracker.md explains each mapping and the decisions behind it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from cti import consult, delivery, hold, transfers
from cti.ami_protocol import EventFilter
from cti.channels import (
    Call,
    Channel,
    TalkSegment,
    end_cause,
    integer,
    interface_of,
    is_local,
    moment,
    seconds,
    text,
)
from cti.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    EndCause,
    IvrLeft,
    IvrStarted,
    MessageLeft,
    RecordingStarted,
    RecordingStopped,
    SwitchEvent,
)
from cti.members import MemberBook
from cti.resync import reconcile
from cti.snapshot import SwitchSnapshot

AmiMessage = Mapping[str, "str | list[str]"]
Handler = Callable[["CallTracker", AmiMessage], list[SwitchEvent]]

# Call ids that ended are remembered this long (in number of calls) so that a late duplicate
# (a second Hangup, an AgentConnect after the end) cannot bring a call back to life.
ENDED_MEMORY = 4096
# The dialplan's post-call survey context: a call whose channel enters it has ended.
SURVEY_CONTEXT = "hotline-survey"


def _system_clock() -> datetime:
    return datetime.now(UTC)


class CallTracker:
    def __init__(self, clock: Callable[[], datetime] | None = None, *, server: str = "") -> None:
        self._clock = clock or _system_clock
        self.calls: dict[str, Call] = {}
        self.channels: dict[str, Channel] = {}
        self.members = MemberBook(server)  # server: the systemname of the Asterisk followed
        self._ended: set[str] = set()
        self._ended_order: deque[str] = deque()
        self._local_first_halves: dict[str, str] = {}  # "Local/x@y-0001" → uniqueid of its ;1
        self.redirect_pending: set[str] = set()  # callers who left an agent's bridge, not hung up
        self.bridged_callers: set[str] = set()  # callers in a bridge: dialplan there is a Redirect
        self._handlers = HANDLERS

    # --- public interface ------------------------------------------------------------------

    def feed(self, message: AmiMessage) -> list[SwitchEvent]:
        """Everything one AMI message tells us, as domain events (often none)."""
        try:
            handler = self._handlers.get(message.get("Event"))  # type: ignore[arg-type]
        except TypeError:
            return []  # "Event" repeated in one message: a list, not an event name
        if handler is None:
            return []
        return handler(self, message)

    def resync(self, snapshot: SwitchSnapshot) -> list[SwitchEvent]:
        """After a (re)connect: end what is gone, adopt what is new, then SwitchResynced."""
        return reconcile(self, snapshot)

    def open_call_ids(self) -> set[str]:
        return {call_id for call_id, call in self.calls.items() if call.announced}

    @property
    def server(self) -> str:
        """The systemname of the Asterisk it follows (the prefix of its ids; often "")."""
        return self.members.server

    @server.setter
    def server(self, name: str) -> None:
        self.members.server = name

    def has_channel(self, name: str) -> bool:
        """A channel of this name is up on this server."""
        return any(channel.name == name for channel in self.channels.values())

    def homes(self, interface: str) -> bool:
        """``interface`` is a member of this server's queues and registered here: its home."""
        return self.members.can_ring(interface)

    # --- memory operations, shared with resync ------------------------------------------------

    def now(self, message: AmiMessage) -> float:
        stamp = message.get("Timestamp")
        if stamp:
            value = seconds(stamp, -1.0)
            if value >= 0.0:
                return value
        return self._clock().timestamp()

    def new_call(self, call_id: str, at: float) -> Call:
        call = Call(call_id=call_id, created_at=at)
        self.calls[call_id] = call
        return call

    def add_channel(self, call: Call, uniqueid: str, name: str, at: float) -> Channel:
        channel = Channel(uniqueid=uniqueid, name=name, call=call, created_at=at)
        self.channels[uniqueid] = channel
        call.channels[uniqueid] = channel
        if not call.primary:
            call.primary = uniqueid
        if is_local(name):
            self._pair_local_half(channel)
        return channel

    def answer(
        self, call: Call, leg: Channel, at: float, queue: str, wait: float, ring: float
    ) -> list[SwitchEvent]:
        if leg.uniqueid in call.talk:
            return []
        call.announced = True
        call.answered = True
        call.in_queue = False
        call.agent = leg.agent or interface_of(leg.name)
        call.agent_uniqueid = leg.uniqueid
        call.talk[leg.uniqueid] = TalkSegment(start=at)
        return [
            CallAnswered(
                at=moment(at),
                call_id=call.call_id,
                agent=call.agent,
                queue=queue,
                wait_seconds=round(wait, 3),
                agent_channel=leg.name,
                ring_seconds=round(ring, 3),
            )
        ]

    def stop_recordings(self, channel: Channel, at: float) -> list[SwitchEvent]:
        """The channel's recordings are over (it left, or the call it recorded did)."""
        stopped: list[SwitchEvent] = [
            RecordingStopped(at=moment(at), call_id=channel.call.call_id, channel=channel.name, file=file)
            for file in channel.recordings
        ]
        channel.recordings = []
        return stopped

    def drop_channel(self, channel: Channel, at: float, lost: bool = False) -> list[SwitchEvent]:
        """The channel is gone: stop its recordings, close its talk, end the call if it was the last."""
        self.channels.pop(channel.uniqueid, None)
        self.redirect_pending.discard(channel.uniqueid)
        self.bridged_callers.discard(channel.uniqueid)
        if channel.local_peer == "" and channel.name.endswith(";1"):
            self._local_first_halves.pop(channel.name[:-2], None)
        call = channel.call
        call.channels.pop(channel.uniqueid, None)
        events = self.stop_recordings(channel, at)
        segment = call.talk.get(channel.uniqueid)
        if segment is not None and segment.duration is None:
            segment.duration = max(0.0, at - segment.start)
        if not call.channels:
            events.extend(self.end_call(call, at, lost))
        return events

    def end_call(self, call: Call, at: float, lost: bool = False) -> list[SwitchEvent]:
        self.calls.pop(call.call_id, None)
        for uniqueid in list(call.channels):
            self.channels.pop(uniqueid, None)
            self.redirect_pending.discard(uniqueid)
            self.bridged_callers.discard(uniqueid)
        self._remember_ended(call.call_id)
        if not call.announced:
            return []
        events: list[SwitchEvent] = []
        when = moment(at)
        if not lost and call.queued_at is not None and not call.answered and not call.abandoned:
            call.abandoned = True
            events.append(
                CallAbandoned(
                    at=when,
                    call_id=call.call_id,
                    queue=call.queue,
                    wait_seconds=round(max(0.0, at - call.queued_at), 3),
                    position=call.position,
                    original_position=call.original_position,
                )
            )
        code = call.cause_code if call.cause_code is not None else call.last_cause
        if lost:
            code = 0
        events.append(
            CallEnded(
                at=when,
                call_id=call.call_id,
                cause=end_cause(code or 0) if not lost else EndCause.LOST_DURING_DISCONNECT,
                talk_seconds=call.talk_seconds(at),
                cause_code=code or 0,
                agent=call.agent,
            )
        )
        return events

    def was_ended(self, call_id: str) -> bool:
        return call_id in self._ended

    # --- channels and calls ----------------------------------------------------------------

    def _remember_ended(self, call_id: str) -> None:
        if call_id in self._ended:
            return
        self._ended.add(call_id)
        self._ended_order.append(call_id)
        if len(self._ended_order) > ENDED_MEMORY:
            self._ended.discard(self._ended_order.popleft())

    def _pair_local_half(self, channel: Channel) -> None:
        name = channel.name
        if name.endswith(";1"):
            self._local_first_halves[name[:-2]] = channel.uniqueid
        elif name.endswith(";2"):
            first = self.channels.get(self._local_first_halves.pop(name[:-2], ""))
            if first is not None:
                first.local_peer = channel.uniqueid
                channel.local_peer = first.uniqueid
                if first.call is not channel.call:
                    self.move(channel, first.call, channel.created_at)

    def move(self, channel: Channel, call: Call, at: float) -> list[SwitchEvent]:
        """Put a leg into another call; the call it leaves ends if that was its last leg."""
        old = channel.call
        old.channels.pop(channel.uniqueid, None)
        if old.primary == channel.uniqueid:
            old.primary = next(iter(old.channels), "")
        channel.call = call
        call.channels[channel.uniqueid] = channel
        if old.channels:
            return []
        self.calls.pop(old.call_id, None)
        return self.end_call(old, at) if old.announced else []

    def channel_of(self, message: AmiMessage, key: str = "Uniqueid") -> Channel | None:
        uniqueid = message.get(key)
        return self.channels.get(uniqueid) if isinstance(uniqueid, str) else None

    def _newchannel(self, message: AmiMessage) -> list[SwitchEvent]:
        uniqueid = text(message.get("Uniqueid"))
        if not uniqueid or uniqueid in self.channels:
            return []
        call_id = text(message.get("Linkedid")) or uniqueid
        if call_id in self._ended:
            return []
        at = self.now(message)
        call = self.calls.get(call_id)
        is_new = call is None
        if call is None:
            call = self.new_call(call_id, at)
        name = text(message.get("Channel"))
        channel = self.add_channel(call, uniqueid, name, at)
        # A channel born ringing (state 4) is someone calling in; one born down was created by
        # the switch (Originate, Dial) and is not an offered call.
        if not (is_new and text(message.get("ChannelState")) == "4" and not is_local(name)):
            return []
        call.announced = True
        return [
            CallOffered(
                at=moment(at),
                call_id=call.call_id,
                caller=text(message.get("CallerIDNum")),
                caller_name=text(message.get("CallerIDName")),
                dialed=text(message.get("Exten")),
                channel=channel.name,
            )
        ]

    def _rename(self, message: AmiMessage) -> list[SwitchEvent]:
        channel = self.channel_of(message)
        if channel is not None:
            channel.name = text(message.get("Newname")) or channel.name
        return []

    def _newexten(self, message: AmiMessage) -> list[SwitchEvent]:
        application = message.get("Application")
        context = message.get("Context")
        uniqueid = message.get("Uniqueid")
        if (
            application != "AGI"
            and context not in hold.DESK_CONTEXTS
            and context != SURVEY_CONTEXT
            and (
                not isinstance(uniqueid, str)
                or (uniqueid not in self.redirect_pending and uniqueid not in self.bridged_callers)
            )
        ):
            return []  # the noise: over half of all events, dropped on set look-ups
        channel = self.channel_of(message)
        if channel is None:
            return []
        call = channel.call
        at = self.now(message)
        if context == SURVEY_CONTEXT:
            # The post-call survey (docs/survey.md): the call with the agent is over; what the
            # caller's channel does next is the survey's, not the call's. The survey stops the
            # caller's recording first, so its file is complete when the call's end is told.
            stopped = [event for leg in call.channels.values() for event in self.stop_recordings(leg, at)]
            return stopped + self.end_call(call, at)
        if context in hold.DESK_CONTEXTS:
            return hold.entered(self, channel, message, context, at)  # type: ignore[arg-type]
        events: list[SwitchEvent] = []
        extension = text(message.get("Extension"))
        if channel.uniqueid in self.bridged_callers and extension != "h" and not channel.hanging:
            # A bridged caller runs dialplan only when a Redirect took it: Asterisk writes the
            # new place (with the old application) before the BridgeLeave (capture 17).
            self.bridged_callers.discard(channel.uniqueid)
            if call.answered:
                events.extend(transfers.redirected(self, channel, at, extension))
        elif channel.uniqueid in self.redirect_pending and extension != "h":
            if call.desk_held:
                events.extend(hold.left(self, channel, at, extension))
            else:
                events.extend(transfers.redirected(self, channel, at, extension))
        if application == "AGI" and not channel.in_ivr:
            channel.in_ivr = True
            call.announced = True
            events.append(
                IvrStarted(
                    at=moment(at),
                    call_id=call.call_id,
                    channel=channel.name,
                    script=text(message.get("AppData")),
                )
            )
        return events

    def _varset(self, message: AmiMessage) -> list[SwitchEvent]:
        variable = message.get("Variable")
        if variable == "AGISTATUS":
            channel = self.channel_of(message)
            if channel is None or not channel.in_ivr:
                return []
            channel.in_ivr = False
            return [
                IvrLeft(
                    at=moment(self.now(message)),
                    call_id=channel.call.call_id,
                    channel=channel.name,
                    status=text(message.get("Value")),
                )
            ]
        if variable == "MIXMONITOR_FILENAME":
            channel = self.channel_of(message)
            if channel is not None:
                channel.pending_file = text(message.get("Value"))
        elif variable == "QUEUE_PRIO":
            # QueueCallerJoin's Priority header is the dialplan priority, not the queue's.
            channel = self.channel_of(message)
            if channel is not None:
                channel.queue_priority = integer(message.get("Value"))
        return []

    # --- hold, recording, hangup -----------------------------------------------------------

    def _hold(self, message: AmiMessage) -> list[SwitchEvent]:
        channel = self.channel_of(message)
        if channel is None or channel.held:
            return []
        channel.held = True
        channel.call.announced = True
        return [CallHeld(at=moment(self.now(message)), call_id=channel.call.call_id, channel=channel.name)]

    def _unhold(self, message: AmiMessage) -> list[SwitchEvent]:
        channel = self.channel_of(message)
        if channel is None or not channel.held:
            return []
        channel.held = False
        return [CallResumed(at=moment(self.now(message)), call_id=channel.call.call_id, channel=channel.name)]

    def _mixmonitor_start(self, message: AmiMessage) -> list[SwitchEvent]:
        channel = self.channel_of(message)
        if channel is None:
            return []
        file, channel.pending_file = channel.pending_file, ""
        if (not file and channel.recordings) or file in channel.recordings:
            return []  # a repeat: Asterisk always names the file just before a real start
        channel.recordings.append(file)
        channel.call.announced = True
        return [
            RecordingStarted(
                at=moment(self.now(message)), call_id=channel.call.call_id, channel=channel.name, file=file
            )
        ]

    def _mixmonitor_stop(self, message: AmiMessage) -> list[SwitchEvent]:
        channel = self.channel_of(message)
        if channel is None or not channel.recordings:
            return []
        file = channel.recordings.pop()
        return [
            RecordingStopped(
                at=moment(self.now(message)), call_id=channel.call.call_id, channel=channel.name, file=file
            )
        ]

    def _hangup_request(self, message: AmiMessage) -> list[SwitchEvent]:
        channel = self.channel_of(message)
        if channel is not None:
            channel.hanging = True
            self.redirect_pending.discard(channel.uniqueid)
        return []

    def _hangup(self, message: AmiMessage) -> list[SwitchEvent]:
        channel = self.channel_of(message)
        if channel is None:
            return []
        call = channel.call
        cause = integer(message.get("Cause"))
        call.last_cause = cause
        if channel.uniqueid == call.primary:
            call.cause_code = cause
        at = self.now(message)
        events = consult.hangup(self, channel, at) if call.consult or call.conference else []
        return events + self.drop_channel(channel, at)

    def _user_event(self, message: AmiMessage) -> list[SwitchEvent]:
        if message.get("UserEvent") != "HotlineMessage":
            return []
        channel = self.channel_of(message)
        if channel is None:
            return []
        return [
            MessageLeft(
                at=moment(self.now(message)),
                call_id=channel.call.call_id,
                caller=text(message.get("CallerIDNum")),
                queue=text(message.get("Queue")),
                file=text(message.get("File")),
                status=text(message.get("Status")),
            )
        ]

    # --- queue members ---------------------------------------------------------------------

    def _member(self, message: AmiMessage) -> list[SwitchEvent]:
        return self.members.feed(message, self.now)


HANDLERS: dict[str, Handler] = {
    "Newchannel": CallTracker._newchannel,
    "Newexten": CallTracker._newexten,
    "VarSet": CallTracker._varset,
    "Rename": CallTracker._rename,
    "DialBegin": delivery.dial_begin,
    "DialEnd": delivery.dial_end,
    "AgentCalled": delivery.agent_called,
    "AgentConnect": delivery.agent_connect,
    "AgentComplete": delivery.agent_complete,
    "QueueCallerJoin": delivery.queue_join,
    "QueueCallerLeave": delivery.queue_leave,
    "QueueCallerAbandon": delivery.queue_abandon,
    "BridgeEnter": hold.bridge_enter,
    "BridgeLeave": transfers.bridge_leave,
    "BlindTransfer": transfers.blind_transfer,
    "AttendedTransfer": consult.any_attended_transfer,
    "Hold": CallTracker._hold,
    "Unhold": CallTracker._unhold,
    "MixMonitorStart": CallTracker._mixmonitor_start,
    "MixMonitorStop": CallTracker._mixmonitor_stop,
    "HangupRequest": CallTracker._hangup_request,
    "SoftHangupRequest": CallTracker._hangup_request,
    "Hangup": CallTracker._hangup,
    "UserEvent": CallTracker._user_event,
    "QueueMemberAdded": CallTracker._member,
    "QueueMemberRemoved": CallTracker._member,
    "QueueMemberPause": CallTracker._member,
    "QueueMemberStatus": CallTracker._member,
}
"""The AMI events the tracker reads; every other event costs one dictionary look-up."""

WANTED = EventFilter(
    events=frozenset(HANDLERS),
    variables=frozenset({"AGISTATUS", "MIXMONITOR_FILENAME", "QUEUE_PRIO"}),
)
"""What the AMI link needs to parse at all for the tracker: the rest is dropped unread.
A new VarSet the tracker reads must be named here too (a test checks the two agree)."""
