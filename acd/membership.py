"""Keeping the agents' membership of the app_queue fallback queues in step with their state.

While Hotline runs, the ACD queues in Asterisk have no members. So that app_queue can serve the
callers if Hotline stops, each agent is a dynamic member of ``<queue>-fallback`` for every queue
they serve: added at login (penalty from the skill level), paused and unpaused with the reason,
removed at logout. Ringing and talking need nothing: app_queue follows the device state. A switch
failure here is logged and the ACD goes on; the fallback is out of step until the next change.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from acd.events import AgentStateChanged
from acd.models import MAX_SKILL_LEVEL, AcdConfig, AgentProfile, AgentState
from cti.errors import SwitchError
from cti.switch import Switch

log = logging.getLogger(__name__)


class FallbackMembership:
    def __init__(self, switch: Switch, config: AcdConfig) -> None:
        self._switch = switch
        self._config = config

    async def join(self, profile: AgentProfile, queues: tuple[str, ...], paused_reason: str = "") -> None:
        for queue in queues:
            level = profile.skills.get(self._config.queues[queue].skill, 1)
            request = self._switch.queue_add(
                queue + self._config.fallback_suffix,
                profile.interface,
                member_name=profile.name or profile.agent,
                penalty=MAX_SKILL_LEVEL - level,
                paused=bool(paused_reason),
                reason=paused_reason,
                state_interface=profile.interface,
            )
            await self._carry_out("queue_add", request, profile.agent)

    async def leave(self, profile: AgentProfile, queues: tuple[str, ...]) -> None:
        for queue in queues:
            request = self._switch.queue_remove(queue + self._config.fallback_suffix, profile.interface)
            await self._carry_out("queue_remove", request, profile.agent)

    async def follow(self, event: AgentStateChanged) -> None:
        """Pause or unpause the agent's fallback membership as their state says."""
        if AgentState.LOGGED_OUT in (event.state, event.previous):
            return  # join and leave carry the login's and logout's membership
        paused = event.state is AgentState.PAUSED
        if paused or event.previous is AgentState.PAUSED:
            reason = event.reason if paused else ""
            request = self._switch.queue_pause(event.interface, paused=paused, reason=reason)
            await self._carry_out("queue_pause", request, event.agent)

    @staticmethod
    async def _carry_out(action: str, request: Awaitable[None], agent: str) -> None:
        try:
            await request
        except SwitchError as exc:
            fields = {"action": action, "agent": agent, "error": str(exc)}
            log.warning("acd_fallback_membership_failed", extra={"kv": fields})
