"""The switch as the leader may use it: every action first checks the lease's local deadline.

Asterisk takes no fencing token, so the fence is on the sending side: a node whose lease has run
out (it was paused, or cannot reach PostgreSQL) refuses the action with ``SwitchUnavailable``, as
when the AMI link is down, and the caller's code keeps the call for later as it does then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from cti.errors import SwitchUnavailable

log = logging.getLogger(__name__)


class FencedSwitch:
    """Wraps a ``cti.switch.Switch``: its coroutine methods run only while ``may_act()``."""

    def __init__(self, switch: Any, may_act: Callable[[], bool]) -> None:
        self._switch = switch
        self._may_act = may_act
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._switch, name)
        if name.startswith("_") or not callable(target):
            return target

        async def fenced(*args: Any, **kwargs: Any) -> Any:
            if not self._may_act():
                self.refused += 1
                log.warning("cluster_action_fenced", extra={"kv": {"action": name}})
                raise SwitchUnavailable("this node does not hold the lease", action=name, sent=False)
            return await target(*args, **kwargs)

        return fenced
