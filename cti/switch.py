"""What Hotline may ask of the switch: the only way any package commands Asterisk.

Consumers (ivr/, acd/, recording/, agent_api/) depend on the ``Switch`` protocol and pass a
small fake in their tests; ``cti.ami_switch.AmiSwitch`` carries each request as AMI actions.
Every method either completes (returning a typed result) or raises a ``cti.errors.SwitchError``.
A ``request_id`` makes a request idempotent: the same id again returns the first outcome and
sends nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


class SpyMode(enum.StrEnum):
    LISTEN = "listen"  # the supervisor hears both sides, nobody hears the supervisor
    WHISPER = "whisper"  # the agent hears the supervisor, the caller does not
    BARGE = "barge"  # everyone hears everyone


@dataclass(frozen=True, slots=True)
class OriginateResult:
    action_id: str
    success: bool
    channel: str = ""
    reason: str = ""  # Asterisk's Reason code on failure (e.g. "0", "3", "5", "8")


class Switch(Protocol):
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
    ) -> OriginateResult: ...

    async def redirect(
        self,
        channel: str,
        *,
        context: str,
        exten: str,
        priority: int = 1,
        extra_channel: str = "",
        request_id: str | None = None,
    ) -> None: ...

    async def hangup(self, channel: str, *, cause: int = 16, request_id: str | None = None) -> None: ...

    async def hold(self, caller_channel: str, agent_channel: str, *, request_id: str | None = None) -> None:
        """Put the caller on music on hold and keep the agent's leg up, silent (docs/hold.md)."""
        ...

    async def resume(self, caller_channel: str, agent_channel: str, *, request_id: str | None = None) -> None:
        """Bridge the held caller with the agent's leg again."""
        ...

    async def consult(self, agent_channel: str, extension: str, *, request_id: str | None = None) -> None:
        """Attended transfer, first step: the caller of ``agent_channel``'s call hears music on
        hold while the agent's phone calls ``extension`` (docs/transfers.md)."""
        ...

    async def consult_complete(self, agent_channel: str, *, request_id: str | None = None) -> None:
        """The consulted party takes the caller; the agent's leg is hung up."""
        ...

    async def consult_cancel(self, agent_channel: str, *, request_id: str | None = None) -> None:
        """The consult leg is hung up; the agent talks with the caller again."""
        ...

    async def consult_conference(self, agent_channel: str, *, request_id: str | None = None) -> None:
        """The caller, the agent and the consulted party all talk together."""
        ...

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
    ) -> None: ...

    async def queue_remove(self, queue: str, interface: str, *, request_id: str | None = None) -> None: ...

    async def queue_pause(
        self,
        interface: str,
        *,
        paused: bool,
        queue: str = "",
        reason: str = "",
        request_id: str | None = None,
    ) -> None: ...

    async def mixmonitor_start(
        self, channel: str, *, file: str, options: str = "", request_id: str | None = None
    ) -> None: ...

    async def mixmonitor_stop(self, channel: str, *, request_id: str | None = None) -> None: ...

    async def mixmonitor_mute(
        self, channel: str, *, mute: bool, direction: str = "both", request_id: str | None = None
    ) -> None: ...

    async def send_dtmf(self, channel: str, digit: str, *, request_id: str | None = None) -> None:
        """Send one DTMF digit to the party of ``channel`` (an IVR the agent reached, say)."""
        ...

    async def mute(self, channel: str, on: bool, *, request_id: str | None = None) -> None:
        """Mute (``on``) or unmute the audio ``channel``'s phone sends: its party no longer hears
        it, while it still hears its party."""
        ...

    async def get_var(self, channel: str, name: str) -> str: ...

    async def set_var(
        self, channel: str, name: str, value: str, *, request_id: str | None = None
    ) -> None: ...

    async def spy(
        self, supervisor: str, agent_extension: str, mode: SpyMode, *, request_id: str | None = None
    ) -> OriginateResult: ...

    async def play(self, channel: str, prompt: str, *, request_id: str | None = None) -> None: ...

    async def queue_log(
        self, queue: str, call_id: str, event: str, *, agent: str = "", message: str = ""
    ) -> None: ...
