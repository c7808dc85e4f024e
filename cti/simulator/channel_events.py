"""What the switch writes about channels: their birth, variables, dialplan steps, states and
hang-up, as Asterisk 22 lays them out. A part of ``SwitchSimulator``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from cti.simulator import wire
from cti.simulator.channels import Channel, Numbering

if TYPE_CHECKING:
    from cti.simulator.clock import Clock
    from cti.simulator.recordings import Recorder


class ChannelEvents:
    clock: Clock
    numbering: Numbering
    channels: dict[str, Channel]
    by_device: dict[str, set[Channel]]
    recorder: Recorder
    emit: Callable[..., None]

    def new_channel(
        self,
        device: str,
        *,
        context: str,
        exten: str,
        linkedid: str = "",
        state: int = 0,
        caller_num: str = "",
        caller_name: str = "",
        has_media: bool = True,
    ) -> Channel:
        now = self.clock.time()
        uniqueid = self.numbering.uniqueid(now)
        channel = Channel(
            name=self.numbering.channel_name(device),
            uniqueid=uniqueid,
            linkedid=linkedid or uniqueid,
            context=context,
            exten=exten,
            state=state,
            caller_num=caller_num,
            caller_name=caller_name,
            created=now,
            has_media=has_media,
        )
        self.channels[channel.name] = channel
        self.by_device.setdefault(channel.device, set()).add(channel)
        self.emit("Newchannel", "call,all", wire.channel_block(channel))
        return channel

    def varset(self, channel: Channel, variable: str, value: str) -> None:
        channel.variables[variable] = value
        self.emit(
            "VarSet", "dialplan,all", [*wire.channel_block(channel), ("Variable", variable), ("Value", value)]
        )

    def newexten(self, channel: Channel, priority: int, application: str, data: str) -> None:
        """The channel runs ``application`` at ``priority`` of its context and extension.

        Asterisk writes Newexten only when the context, extension or priority differ from the
        channel's last published snapshot (manager_channels.c, channel_newexten): so after a
        Redirect that an application published (``redirected``), the target's first priority
        runs without a Newexten of its own."""
        channel.priority = priority
        channel.application = application
        channel.application_data = data
        place = (channel.context, channel.exten, priority)
        if not application or (channel.published and channel.published == place):
            return
        channel.published = place
        self.emit(
            "Newexten",
            "dialplan,all",
            [
                *wire.channel_block(channel),
                ("Extension", channel.exten),
                ("Application", application),
                ("AppData", data),
            ],
        )

    def redirected(self, channel: Channel, context: str, exten: str, priority: int) -> None:
        """A Redirect moved the channel while an application ran: the snapshot that application
        publishes on its way out carries the new place with the old application."""
        channel.context, channel.exten = context, exten
        self.newexten(channel, priority, channel.application, channel.application_data)

    def unset(self, channel: Channel, variable: str) -> None:
        """pbx_builtin_setvar_helper(…, NULL): a VarSet with no value, only if it was set."""
        if channel.variables.pop(variable, None) is not None:
            self.emit(
                "VarSet",
                "dialplan,all",
                [*wire.channel_block(channel), ("Variable", variable), ("Value", "")],
            )

    def newstate(self, channel: Channel, state: int) -> None:
        channel.state = state
        self.emit("Newstate", "call,all", wire.channel_block(channel))

    def channel_event(
        self, event: str, channel: Channel, extra: Sequence[tuple[str, str]] = (), privilege: str = "call,all"
    ) -> None:
        self.emit(event, privilege, [*wire.channel_block(channel), *extra])

    def pair_event(
        self, event: str, channel: Channel | None, dest: Channel, extra: wire.Headers, privilege: str
    ) -> None:
        headers = wire.channel_block(channel) if channel is not None else []
        self.emit(event, privilege, [*headers, *wire.channel_block(dest, "Dest"), *extra])

    def hangup_channel(self, channel: Channel, cause: int = 16, tech_cause: str | None = None) -> None:
        if channel.hung_up:
            return
        channel.hung_up = True
        if channel.recording:
            self.recorder.stopped(channel)
        extra: wire.Headers = [("Cause", str(cause)), ("Cause-txt", wire.CAUSE_TEXT.get(cause, "Unknown"))]
        if tech_cause is not None:
            extra.append(("TechCause", tech_cause))
        self.emit("Hangup", "call,all", [*wire.channel_block(channel), *extra])
        self.channels.pop(channel.name, None)
        on_device = self.by_device.get(channel.device)
        if on_device is not None:
            on_device.discard(channel)
