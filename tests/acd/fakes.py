"""Small fakes for the ACD service: a switch that records what it is asked, a clock to turn."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cti.errors import AmiActionFailed, SwitchError
from cti.switch import OriginateResult


class FakeClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class FakeSwitch:
    """Records every request as (method, args…); ``fail_next`` makes the next redirects raise."""

    requests: list[tuple] = field(default_factory=list)
    fail_redirects: int = 0
    fail_members: bool = False
    redirected: asyncio.Event = field(default_factory=asyncio.Event)
    redirect_ids: list[str | None] = field(default_factory=list)  # each redirect's request id
    # What the next originates answer, in order (an OriginateResult, or an exception to raise);
    # when empty, the phone answers.
    originate_results: list = field(default_factory=list)

    async def originate(
        self,
        *,
        channel: str,
        context: str,
        exten: str,
        priority: int = 1,
        caller_id: str = "",
        variables=None,
        timeout_s: float = 30.0,
        request_id: str | None = None,
    ) -> OriginateResult:
        self.requests.append(("originate", channel, context, exten, caller_id))
        outcome = self.originate_results.pop(0) if self.originate_results else None
        if isinstance(outcome, Exception):
            raise outcome
        return outcome or OriginateResult(action_id="o1", success=True, channel=f"{channel}-0001")

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
        self.requests.append(("redirect", channel, context, exten))
        self.redirect_ids.append(request_id)
        if self.fail_redirects:
            self.fail_redirects -= 1
            raise AmiActionFailed("Redirect", "Channel not specified")
        self.redirected.set()

    async def set_var(self, channel: str, name: str, value: str, *, request_id: str | None = None) -> None:
        self.requests.append(("set_var", channel, name, value))

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
        self.requests.append(("queue_add", queue, interface, penalty, paused, reason))
        self._member_result()

    async def queue_remove(self, queue: str, interface: str, *, request_id: str | None = None) -> None:
        self.requests.append(("queue_remove", queue, interface))
        self._member_result()

    async def queue_pause(
        self,
        interface: str,
        *,
        paused: bool,
        queue: str = "",
        reason: str = "",
        request_id: str | None = None,
    ) -> None:
        self.requests.append(("queue_pause", interface, paused, reason))
        self._member_result()

    def _member_result(self) -> None:
        if self.fail_members:
            raise SwitchError("switch unavailable: link down")

    def of(self, method: str) -> list[tuple]:
        return [request for request in self.requests if request[0] == method]
