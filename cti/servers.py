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
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from cti.channels import interface_of
from cti.errors import AmiActionFailed, SwitchError
from cti.events import server_of
from cti.switch import Switch


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
    """The ``Switch`` of several servers: each request goes to the one it concerns. Every action
    but ``queue_pause`` is passed on as it is to the server ``_ROUTES`` picks from its
    arguments."""

    def __init__(self, servers: Sequence[Server]) -> None:
        if not servers:
            raise ValueError("at least one server")
        self._servers = tuple(servers)
        self._by_name = {server.name: server for server in servers}

    def __getattr__(self, action: str) -> Callable[..., Awaitable[Any]]:
        route = _ROUTES.get(action)
        if route is None:
            raise AttributeError(action)
        pick, index, name = route

        async def routed(*args: Any, **kwargs: Any) -> Any:
            target = args[index] if index is not None and len(args) > index else kwargs[name]
            return await getattr(pick(self, target), action)(*args, **kwargs)

        return routed

    # --- which server --------------------------------------------------------------------------

    def _home(self, interface: str) -> Server | None:
        return next((server for server in self._servers if server.homes(interface)), None)

    def for_channel(self, channel: str) -> Switch:
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

    def for_interface(self, interface: str) -> Switch:
        home = self._home(interface)
        return (home or self._servers[0]).switch

    def for_extension(self, extension: str) -> Switch:
        # ChanSpy listens on the server it runs on: the one the agent's phone is homed on.
        return self.for_interface(f"PJSIP/{extension}")

    def for_call(self, call_id: str) -> Switch:
        return self._by_name.get(server_of(call_id), self._servers[0]).switch

    # --- the one action that is not passed on as it is ---------------------------------------

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
        servers = [home] if home is not None else self._servers
        # Homed nowhere yet (a server not resynced): every server is asked; one member is enough.
        outcomes = await asyncio.gather(
            *(
                server.switch.queue_pause(
                    interface, paused=paused, queue=queue, reason=reason, request_id=request_id
                )
                for server in servers
            ),
            return_exceptions=True,
        )
        errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if len(errors) == len(outcomes):
            raise next((e for e in errors if not isinstance(e, AmiActionFailed)), errors[0])


Pick = Callable[[SwitchPerServer, str], Switch]
# action → (how its server is picked, from which argument: position, name)
_CHANNEL: tuple[Pick, int | None, str] = (SwitchPerServer.for_channel, 0, "channel")
_AGENT_CHANNEL: tuple[Pick, int | None, str] = (SwitchPerServer.for_channel, 0, "agent_channel")
_ROUTES: dict[str, tuple[Pick, int | None, str]] = {
    **dict.fromkeys(
        ("redirect", "hangup", "mixmonitor_start", "mixmonitor_stop", "mixmonitor_mute", "send_dtmf"),
        _CHANNEL,
    ),
    **dict.fromkeys(("mute", "get_var", "set_var", "play"), _CHANNEL),
    **dict.fromkeys(("consult", "consult_complete", "consult_cancel", "consult_conference"), _AGENT_CHANNEL),
    # The caller is held in the bridge on the agent's server (callers reach their server's agents).
    **dict.fromkeys(("hold", "resume"), (SwitchPerServer.for_channel, 1, "agent_channel")),
    "originate": (SwitchPerServer.for_interface, None, "channel"),  # its first leg, a keyword
    **dict.fromkeys(("queue_add", "queue_remove"), (SwitchPerServer.for_interface, 1, "interface")),
    "spy": (SwitchPerServer.for_extension, 1, "agent_extension"),
    "queue_log": (SwitchPerServer.for_call, 1, "call_id"),
}
