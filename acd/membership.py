"""Keeping the app_queue fallback queues in step with the agents' state, by pausing.

Every agent's phone is a static member of every ``<queue>-fallback`` queue (asterisk-config's
queues.conf), so the fallback works when Hotline has never run and after Asterisk restarts. The
ACD never adds or removes members (app_queue refuses both for static members); it only pauses the
agent's interface in every queue it is a member of (QueuePause without a queue: the waiting
queues have no members) while the agent is away — paused with their reason, or logged out — and
unpauses it when they are back, and sets every agent's pause again whenever the switch link
(re)connects. Ringing, talking and wrap-up need nothing: app_queue follows the
device state and its own wrapuptime.

If Hotline stops for good, these pauses stay: the agents who were away are not rung, and neither
are those who come in afterwards. The dialplan's last stage (hotline-fallback) rings every member's
phone, paused or not, before offering a message, so a caller is never left with nobody to ring
(docs/routing.md, *When Hotline dies*). A switch failure here is logged and the ACD goes on; the
fallback is out of step until the agent's next change.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Iterable

from acd.agents import AgentRecord
from acd.events import AgentStateChanged
from acd.models import AgentProfile, AgentState
from cti.errors import SwitchError, SwitchUnavailable
from cti.switch import Switch

log = logging.getLogger(__name__)

# The pause reason app_queue shows for an agent who is not logged in to Hotline.
LOGGED_OUT_REASON = "logged-out"


class FallbackMembership:
    def __init__(self, switch: Switch) -> None:
        self._switch = switch

    async def login(self, profile: AgentProfile, paused_reason: str = "") -> None:
        """The agent logged in: unpaused in the fallback queues, or paused with their reason."""
        request = self._switch.queue_pause(
            profile.interface, paused=bool(paused_reason), reason=paused_reason
        )
        await self._carry_out("queue_pause", request, profile.agent)

    async def logout(self, profile: AgentProfile) -> None:
        """The agent logged out: the fallback queues stop ringing their phone."""
        request = self._switch.queue_pause(profile.interface, paused=True, reason=LOGGED_OUT_REASON)
        await self._carry_out("queue_pause", request, profile.agent)

    async def follow(self, event: AgentStateChanged) -> None:
        """Pause or unpause the agent in the fallback queues as their state says."""
        if AgentState.LOGGED_OUT in (event.state, event.previous):
            return  # login and logout carry those
        paused = event.state is AgentState.PAUSED
        if paused or event.previous is AgentState.PAUSED:
            reason = event.reason if paused else ""
            request = self._switch.queue_pause(event.interface, paused=paused, reason=reason)
            await self._carry_out("queue_pause", request, event.agent)

    async def sync(self, records: Iterable[AgentRecord]) -> None:
        """After the switch link (re)connects: Asterisk may have restarted, and app_queue starts
        static members unpaused (persistentmembers = no). Every agent's pause is set again."""
        for record in records:
            if record.state is AgentState.LOGGED_OUT:
                paused, reason = True, LOGGED_OUT_REASON
            else:
                paused = record.state is AgentState.PAUSED
                reason = record.reason if paused else ""
            request = self._switch.queue_pause(record.profile.interface, paused=paused, reason=reason)
            await self._carry_out("queue_pause", request, record.profile.agent)

    @staticmethod
    async def _carry_out(action: str, request: Awaitable[None], agent: str) -> None:
        try:
            await request
        except SwitchUnavailable:
            # Not connected: every pause is set again after the next resync.
            log.info("acd_fallback_membership_deferred", extra={"kv": {"action": action, "agent": agent}})
        except SwitchError as exc:
            fields = {"action": action, "agent": agent, "error": str(exc)}
            log.warning("acd_fallback_membership_failed", extra={"kv": fields})
