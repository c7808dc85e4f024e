"""A caller who waited the queue's maximum: the message, or a callback at their place.

The caller is redirected to the queue's message or callback context; a caller told they will be
called back keeps the place they queued in (``acd.callbacks``). A redirect the switch refuses
leaves the caller in app_queue, whose own timeout sends them to the fallback queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from acd.callback_dialer import CallbackDialer
from acd.callbacks import CallbackRequest
from acd.errors import AcdError
from acd.events import CallbackSource, MaxWaitReached
from acd.models import AcdConfig, MaxWaitAction, WaitingCall
from acd.router import MaxWait
from cti.bus import EventBus
from cti.errors import SwitchError
from cti.switch import Switch

log = logging.getLogger(__name__)


class MaxWaitActions:
    def __init__(
        self,
        *,
        bus: EventBus,
        switch: Switch,
        config: AcdConfig,
        callbacks: CallbackDialer,
        dialed: Callable[[str], str],
    ) -> None:
        self._bus = bus
        self._switch = switch
        self._config = config
        self._callbacks = callbacks
        self._dialed = dialed

    def reconfigure(self, config: AcdConfig) -> None:
        """Queues changed at run time (AcdService.set_queue): the next decision uses ``config``."""
        self._config = config

    async def reached(self, now: datetime, outcome: MaxWait) -> None:
        call = outcome.call
        self._bus.publish(
            MaxWaitReached(
                now,
                call.call_id,
                call.queue,
                outcome.action,
                outcome.wait_seconds,
                call.caller,
                call.customer_id,
            )
        )
        context = (
            self._config.callback_context
            if outcome.action is MaxWaitAction.CALLBACK
            else self._config.message_context
        )
        try:
            await self._switch.redirect(
                call.channel,
                context=context,
                exten=call.queue,
                request_id=f"acd-maxwait-{call.call_id}-{call.queue}-{call.queued_at}",
            )
        except SwitchError as exc:
            # The caller stays in app_queue, whose own timeout sends them to the fallback queue.
            fields = {"call_id": call.call_id, "queue": call.queue, "error": str(exc)}
            log.error("acd_max_wait_redirect_failed", extra={"kv": fields})
            return
        if outcome.action is MaxWaitAction.CALLBACK:
            await self._callback(now, call)

    async def _callback(self, now: datetime, call: WaitingCall) -> None:
        """The caller was told they will be called back: they keep the place they queued in."""
        if not call.caller:
            log.warning("acd_callback_without_number", extra={"kv": {"call_id": call.call_id}})
            return
        request = CallbackRequest(
            callback_id=f"cb-{call.call_id}",
            number=call.caller,
            queue=call.queue,
            requested_at=call.queued_at or now,
            skill=call.skill,
            priority=call.priority,
            customer_id=call.customer_id,
            language=call.language,
            call_id=call.call_id,
            source=CallbackSource.MAX_WAIT,
            dialed=self._dialed(call.call_id),
        )
        try:
            await self._callbacks.request(request)
        except (AcdError, ValueError) as exc:
            fields = {"call_id": call.call_id, "error": str(exc)}
            log.error("acd_callback_refused", extra={"kv": fields})
