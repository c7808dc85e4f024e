"""The calls agents have still to wrap up, kept until the wrap-up is saved or discarded.

A call that ends on an agent's screen waits here for its wrap-up, in memory for the pages and in
the CRM's store (``WrapupStore``) for a restart: ``load`` reads back, when the application
starts, every wrap-up not saved before Hotline stopped. A failed write is logged and the wrap-up
still waits in memory; only a restart before it is saved could then lose it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from agent_api.desktop.dialout import DialOut
from agent_api.ports import WrapupStore
from crm.kinds import Channel
from crm.restart_state import PendingWrapup

log = logging.getLogger(__name__)

# Per agent; beyond it the oldest unsaved wrap-up is forgotten (and logged): an agent with this
# many calls not wrapped up has stopped wrapping up, and memory stays bounded.
PENDING_WRAPUPS = 20


@dataclasses.dataclass(frozen=True, slots=True)
class Popped:
    """What the agent was shown for a call: what the wrap-up may refer to."""

    call_id: str
    customer_id: int | None
    caller: str
    offers: frozenset[int]
    marketing: bool
    payload: dict[str, Any]
    channel: Channel = Channel.CALL_IN
    dial: DialOut | None = None  # the agent's own click-to-dial


class PendingWrapups:
    def __init__(self, store: WrapupStore | None, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock
        self._pending: dict[str, OrderedDict[str, Popped]] = {}  # agent → calls to wrap up

    async def load(self) -> int:
        """The wrap-ups not saved before the last stop wait again; returns how many."""
        if self._store is None:
            return 0
        kept = await self._store.pending_wrapups()
        for wrapup in kept:
            self._pending.setdefault(wrapup.agent, OrderedDict())[wrapup.call_id] = Popped(
                call_id=wrapup.call_id,
                customer_id=wrapup.customer_id,
                caller=wrapup.caller,
                offers=frozenset(wrapup.offers),
                marketing=wrapup.marketing,
                payload=dict(wrapup.payload),
                channel=wrapup.channel,
            )
        return len(kept)

    async def keep(self, agent: str, popped: Popped) -> None:
        """The call ended on the agent's screen: it waits for its wrap-up."""
        pending = self._pending.setdefault(agent, OrderedDict())
        pending[popped.call_id] = popped
        forgotten = []
        while len(pending) > PENDING_WRAPUPS:
            forgotten.append(pending.popitem(last=False)[0])
        if self._store is not None:
            try:
                await self._store.keep_wrapup(_kept(agent, popped, self._clock()))
            except Exception:
                log.exception("wrapup_not_kept", extra={"kv": {"agent": agent, "call_id": popped.call_id}})
        for call_id in forgotten:
            log.warning("wrapup_forgotten", extra={"kv": {"agent": agent, "call_id": call_id}})
            await self._drop(agent, call_id)

    def take(self, agent: str, call_id: str) -> Popped | None:
        """The call this agent may wrap up, taken while the wrap-up is stored (``put_back`` if that
        fails, ``saved`` once it is stored); it can be wrapped up once."""
        return self._pending.get(agent, {}).pop(call_id, None)

    def put_back(self, agent: str, popped: Popped) -> None:
        self._pending.setdefault(agent, OrderedDict())[popped.call_id] = popped

    async def saved(self, agent: str, call_id: str) -> None:
        await self._drop(agent, call_id)

    async def discard(self, agent: str, call_id: str) -> bool:
        """The agent gives up this call's wrap-up (nothing is recorded); False if there is none."""
        if self.take(agent, call_id) is None:
            return False
        await self._drop(agent, call_id)
        return True

    def agents(self) -> list[str]:
        return [agent for agent, pending in self._pending.items() if pending]

    def calls(self, agent: str) -> list[str]:
        return list(self._pending.get(agent, {}))

    def shown(self, agent: str) -> list[Popped]:
        return list(self._pending.get(agent, {}).values())

    async def _drop(self, agent: str, call_id: str) -> None:
        if self._store is None:
            return
        try:
            await self._store.drop_wrapup(agent, call_id)
        except Exception:
            log.exception("wrapup_not_dropped", extra={"kv": {"agent": agent, "call_id": call_id}})


def _kept(agent: str, popped: Popped, at: datetime) -> PendingWrapup:
    return PendingWrapup(
        agent=agent,
        call_id=popped.call_id,
        customer_id=popped.customer_id,
        caller=popped.caller,
        offers=tuple(sorted(popped.offers)),
        marketing=popped.marketing,
        channel=popped.channel,
        ended_at=at,
        payload=popped.payload,
    )
