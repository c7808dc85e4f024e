"""What the ACD keeps across a restart, through a small port to the CRM's store.

The marketing gate's policies (the supervisors' control thresholds) and the callback queue live in
memory while Hotline runs; ``AcdStore`` is what the ACD needs to write them through and read them
back at start. ``crm.restart_state.RestartState`` satisfies it as it is; tests pass a small fake.
Everything else the ACD holds (agent states, waiting callers) is rebuilt at start from the agents'
logins and from Asterisk (docs/restart.md).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from acd.errors import AcdConfigError
from acd.gate import MarketingGate, MarketingPolicy
from crm.restart_state import SavedCallback

log = logging.getLogger(__name__)


class CallbackStore(Protocol):
    async def waiting_callbacks(self) -> list[SavedCallback]: ...

    async def save_callbacks(self, saved: Sequence[SavedCallback], removed: Sequence[str]) -> None: ...


class AcdStore(CallbackStore, Protocol):
    async def marketing_policies(self) -> dict[str, dict[str, Any]]: ...

    async def save_marketing_policy(self, group: str, settings: Mapping[str, Any]) -> None: ...


def policy_settings(policy: MarketingPolicy) -> dict[str, Any]:
    """A policy as plain values, without its group (the store's key)."""
    fields = {f.name: getattr(policy, f.name) for f in dataclasses.fields(policy) if f.name != "group"}
    return {**fields, "queues": list(policy.queues)}


def policy_from(group: str, settings: Mapping[str, Any]) -> MarketingPolicy:
    """Raises AcdConfigError (or TypeError for a setting this version does not know)."""
    return MarketingPolicy(group=group, **{**settings, "queues": tuple(settings.get("queues", ()))})


async def restore_policies(store: AcdStore, gate: MarketingGate, queues: Mapping[str, object]) -> None:
    """The thresholds supervisors last set, back on the gate. One that no longer fits (a queue
    removed from the queues file since) is logged and left out; the supervisor sets it again."""
    for group, settings in (await store.marketing_policies()).items():
        unknown = sorted(q for q in settings.get("queues", ()) if q not in queues)
        try:
            if unknown:
                raise AcdConfigError(f"unknown queues {', '.join(unknown)}")
            policy = policy_from(group, settings)
        except (AcdConfigError, TypeError) as exc:
            log.warning(
                "acd_marketing_policy_not_restored", extra={"kv": {"group": group, "error": str(exc)}}
            )
            continue
        gate.set_policy(policy)
        log.info("acd_marketing_policy_restored", extra={"kv": {"group": group}})
