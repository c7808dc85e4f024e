"""The delivery log's shell: the bus's call events in, AMI ``QueueLog`` actions out.

One task, so a call's lines reach Asterisk in the order its events came. A line the switch
refuses, or cannot take while the AMI link is down, is logged and dropped: queue_log is a
record for other tools, never a reason to hold a call up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from acd.queue_log import DeliveryLog
from cti.bus import EventBus, Subscription
from cti.errors import SwitchError
from cti.events import CallAbandoned, CallAnswered, CallEnded, CallQueued, CallRinging, CallTransferred
from cti.switch import Switch

log = logging.getLogger(__name__)

FOLLOWED = (CallQueued, CallRinging, CallAnswered, CallTransferred, CallAbandoned, CallEnded)


class QueueLogWriter:
    def __init__(
        self,
        bus: EventBus,
        switch: Switch,
        routed: Callable[[str], bool],
        *,
        after: DeliveryLog | None = None,
    ) -> None:
        self._bus = bus
        self._switch = switch
        self.deliveries = DeliveryLog(routed)
        if after is not None:  # a new leader: the calls the old one was following
            self.deliveries.carry_on(after)
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._subscription = self._bus.subscribe("queue-log", *FOLLOWED)
        self._task = asyncio.create_task(self._run(self._subscription), name="queue-log")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._subscription is not None:
            self._bus.unsubscribe(self._subscription)
            self._subscription = None

    async def _run(self, subscription: Subscription) -> None:
        async for event in subscription:
            for line in self.deliveries.feed(event):
                try:
                    await self._switch.queue_log(
                        line.queue, line.call_id, line.event, agent=line.agent, message=line.message
                    )
                except SwitchError as exc:
                    fields = {"call_id": line.call_id, "event": line.event, "error": str(exc)}
                    log.warning("queue_log_line_lost", extra={"kv": fields})
