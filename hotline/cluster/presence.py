"""Who is logged in, followed from the leader's events: what a node taking over logs in again.

Agent states live in the leading node's ACD. A standby follows its ``AgentStateChanged`` events
(and, when it may have missed some, the leader's snapshot) and keeps each agent's last state. On
takeover the new leader logs every agent in again, at the desk they were at (their own extension,
or the hot desk they had chosen), paused with the same reason when they were paused, so the
agents' phones go on ringing without anyone logging in by hand. What was under way (a call, a
wrap-up) comes back from the switch's resync, not from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from acd.events import AgentStateChanged
from acd.models import AgentState


@dataclass(frozen=True, slots=True)
class Seat:
    """One logged-in agent as a new leader logs them in again."""

    agent: str
    paused_reason: str  # "" when not paused
    desk: str = ""  # the hot desk's extension; "" for their own


@dataclass(frozen=True, slots=True)
class Last:
    state: AgentState
    reason: str
    interface: str
    desk: str = ""

    def dumps(self) -> str:
        fields = {"state": self.state.value, "reason": self.reason, "interface": self.interface}
        return json.dumps({**fields, "desk": self.desk})

    @staticmethod
    def loads(text: str | bytes) -> Last:
        data = json.loads(text)
        fields = (str(data.get(key, "")) for key in ("reason", "interface", "desk"))
        return Last(AgentState(data["state"]), *fields)


class Presence:
    def __init__(self) -> None:
        self.last: dict[str, Last] = {}

    def apply(self, event: object) -> None:
        if isinstance(event, AgentStateChanged):
            self.last[event.agent] = Last(event.state, event.reason, event.interface, event.desk)

    def replace(self, snapshot: dict[str, Last]) -> None:
        """Take the leader's snapshot: each agent it names is as it says. An agent it does not
        name keeps what was followed: the snapshot only ever gains agents, unless the broker lost
        it (a restart without persistence), and then it holds only those changed since."""
        self.last.update(snapshot)

    def seats(self) -> list[Seat]:
        """Every agent not logged out, in name order; paused agents keep their reason."""
        seats = []
        for agent, last in sorted(self.last.items()):
            if last.state is AgentState.LOGGED_OUT:
                continue
            seats.append(Seat(agent, last.reason if last.state is AgentState.PAUSED else "", last.desk))
        return seats
