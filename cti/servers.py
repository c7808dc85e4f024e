"""Several Asterisk servers behind one ``Switch`` (docs/scale.md, "Several Asterisk servers").

Each server has its own ``CtiService`` (its AMI link, its tracker, its resync), named by the
server's ``systemname``. An action goes to the server it concerns:

- a channel: the server where a channel of that name is up (a phone's channel, else its home);
- an interface (queue members, the first leg of an Originate, the agent a supervisor listens
  to): the server whose queues list it, its home — every agent's phone is a static member of
  its own server's fallback queues;
- a queue_log line: the server whose systemname the call id carries.

A channel name up on two servers at once (two servers with an endpoint of the same name, say
``trunk``) cannot be told apart: the action is refused with ``AmbiguousChannel`` rather than
sent to a guess. Endpoint names unique across servers avoid it (docs/scale.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Protocol

from cti.channels import interface_of
from cti.errors import AmiActionFailed, SwitchError
from cti.events import server_of
from cti.switch import OriginateResult, SpyMode, Switch


class Server(Protocol):
    """One Asterisk server as the switch sees it (``cti.service.CtiService``)."""

    name: str
    switch: Switch

    def has_channel(self, name: str) -> bool: ...

    def homes(self, interface: str) -> bool: ...


class AmbiguousChannel(SwitchError):
    """A channel name up on more than one server: which one is meant cannot be known."""

    def __init__(self, channel: str, servers: Sequence[str]) -> None:
        self.channel = channel
        self.servers = tuple(servers)
        super().__init__(
            f"channel {channel} is up on servers {', '.join(servers)}: give the servers' endpoints "
            "names of their own"
        )


class SwitchPerServer:
    """The ``Switch`` of several servers: each request goes to the one it concerns."""

    def __init__(self, servers: Sequence[Server]) -> None:
        if not servers:
            raise ValueError("at least one server")
        self._servers = tuple(servers)
        self._by_name = {server.name: server for server in servers}

    # --- which server --------------------------------------------------------------------------

    def _home(self, interface: str) -> Server | None:
        return next((server for server in self._servers if server.homes(interface)), None)

    def _for_channel(self, channel: str) -> Switch:
        home = self._home(interface_of(channel))
        if home is not None and home.has_channel(channel):
            return home.switch  # a phone's channel: on its home server (the usual case, quick)
        holders = [server for server in self._servers if server.has_channel(channel)]
        if len(holders) > 1:
            raise AmbiguousChannel(channel, [server.name for server in holders])
        if holders:
            return holders[0].switch
        if home is not None:
            return home.switch
        # Up nowhere: the first server answers as Asterisk does for a channel it does not have.
        return self._servers[0].switch

    def _for_interface(self, interface: str) -> Switch:
        home = self._home(interface)
        return (home or self._servers[0]).switch

    # --- actions -------------------------------------------------------------------------------

    async def originate(
        self,
        *,
        channel: str,
        context: str,
        exten: str,
        priority: int = 1,
        caller_id: str = "",
        variables: Mapping[str, str] | None = None,
        timeout_s: float = 30.0,
        request_id: str | None = None,
    ) -> OriginateResult:
        return await self._for_interface(channel).originate(
            channel=channel,
            context=context,
            exten=exten,
            priority=priority,
            caller_id=caller_id,
            variables=variables,
            timeout_s=timeout_s,
            request_id=request_id,
        )

    async def redirect(
        self,
        channel: str,
        *,
        context: str,
        exten: str,
        priority: int = 1,
        extra_channel: str = "",
        request_id: str | None = None,
    ) -> None:
        await self._for_channel(channel).redirect(
            channel,
            context=context,
            exten=exten,
            priority=priority,
            extra_channel=extra_channel,
            request_id=request_id,
        )

    async def hangup(self, channel: str, *, cause: int = 16, request_id: str | None = None) -> None:
        await self._for_channel(channel).hangup(channel, cause=cause, request_id=request_id)

    async def hold(self, caller_channel: str, agent_channel: str, *, request_id: str | None = None) -> None:
        await self._for_channel(agent_channel).hold(caller_channel, agent_channel, request_id=request_id)

    async def resume(self, caller_channel: str, agent_channel: str, *, request_id: str | None = None) -> None:
        await self._for_channel(agent_channel).resume(caller_channel, agent_channel, request_id=request_id)

    async def consult(self, agent_channel: str, extension: str, *, request_id: str | None = None) -> None:
        await self._for_channel(agent_channel).consult(agent_channel, extension, request_id=request_id)

    async def consult_complete(self, agent_channel: str, *, request_id: str | None = None) -> None:
        await self._for_channel(agent_channel).consult_complete(agent_channel, request_id=request_id)

    async def consult_cancel(self, agent_channel: str, *, request_id: str | None = None) -> None:
        await self._for_channel(agent_channel).consult_cancel(agent_channel, request_id=request_id)

    async def consult_conference(self, agent_channel: str, *, request_id: str | None = None) -> None:
        await self._for_channel(agent_channel).consult_conference(agent_channel, request_id=request_id)

    async def queue_add(
        self,
        queue: str,
        interface: str,
        *,
        member_name: str = "",
        penalty: int = 0,
        paused: bool = False,
        reason: str = "",
        state_interface: str = "",
        request_id: str | None = None,
    ) -> None:
        await self._for_interface(interface).queue_add(
            queue,
            interface,
            member_name=member_name,
            penalty=penalty,
            paused=paused,
            reason=reason,
            state_interface=state_interface,
            request_id=request_id,
        )

    async def queue_remove(self, queue: str, interface: str, *, request_id: str | None = None) -> None:
        await self._for_interface(interface).queue_remove(queue, interface, request_id=request_id)

    async def queue_pause(
        self,
        interface: str,
        *,
        paused: bool,
        queue: str = "",
        reason: str = "",
        request_id: str | None = None,
    ) -> None:
        home = self._home(interface)
        if home is not None:
            await home.switch.queue_pause(
                interface, paused=paused, queue=queue, reason=reason, request_id=request_id
            )
            return
        # Homed nowhere yet (a server not resynced): every server is asked; one member is enough.
        outcomes = await asyncio.gather(
            *(
                server.switch.queue_pause(
                    interface, paused=paused, queue=queue, reason=reason, request_id=request_id
                )
                for server in self._servers
            ),
            return_exceptions=True,
        )
        errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if len(errors) == len(outcomes):
            raise next((e for e in errors if not isinstance(e, AmiActionFailed)), errors[0])

    async def mixmonitor_start(
        self, channel: str, *, file: str, options: str = "", request_id: str | None = None
    ) -> None:
        await self._for_channel(channel).mixmonitor_start(
            channel, file=file, options=options, request_id=request_id
        )

    async def mixmonitor_stop(self, channel: str, *, request_id: str | None = None) -> None:
        await self._for_channel(channel).mixmonitor_stop(channel, request_id=request_id)

    async def mixmonitor_mute(
        self, channel: str, *, mute: bool, direction: str = "both", request_id: str | None = None
    ) -> None:
        await self._for_channel(channel).mixmonitor_mute(
            channel, mute=mute, direction=direction, request_id=request_id
        )

    async def send_dtmf(self, channel: str, digit: str, *, request_id: str | None = None) -> None:
        await self._for_channel(channel).send_dtmf(channel, digit, request_id=request_id)

    async def mute(self, channel: str, on: bool, *, request_id: str | None = None) -> None:
        await self._for_channel(channel).mute(channel, on, request_id=request_id)

    async def get_var(self, channel: str, name: str) -> str:
        return await self._for_channel(channel).get_var(channel, name)

    async def set_var(self, channel: str, name: str, value: str, *, request_id: str | None = None) -> None:
        await self._for_channel(channel).set_var(channel, name, value, request_id=request_id)

    async def spy(
        self, supervisor: str, agent_extension: str, mode: SpyMode, *, request_id: str | None = None
    ) -> OriginateResult:
        # ChanSpy listens on the server it runs on: the one the agent's phone is homed on.
        switch = self._for_interface(f"PJSIP/{agent_extension}")
        return await switch.spy(supervisor, agent_extension, mode, request_id=request_id)

    async def play(self, channel: str, prompt: str, *, request_id: str | None = None) -> None:
        await self._for_channel(channel).play(channel, prompt, request_id=request_id)

    async def queue_log(
        self, queue: str, call_id: str, event: str, *, agent: str = "", message: str = ""
    ) -> None:
        server = self._by_name.get(server_of(call_id), self._servers[0])
        await server.switch.queue_log(queue, call_id, event, agent=agent, message=message)
