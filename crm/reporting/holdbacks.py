"""Offers a contact rule held back on a call's screen-pop, as report facts.

A campaign refused only by a contact rule (frequency cap, quiet hours, consent, do-not-contact,
open complaint) is an offer the customer would have been shown: a holdback. A campaign refused
because the customer is not its target, or it does not run on this channel or now, was never
this customer's offer and is not counted.

The screen-pop must not wait for a database write: the facts go to a sink (the call log's
writer, wired by the composition root) that stores them in its next batch.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from crm.reporting.facts import HoldbackFact, HoldbackSource
from crm.results import ScreenPop
from crm.rules import Reason

RULE_REASONS = frozenset(
    {
        Reason.DO_NOT_CONTACT,
        Reason.OPEN_COMPLAINT,
        Reason.NO_MARKETING_CONSENT,
        Reason.NO_CHANNEL_CONSENT,
        Reason.QUIET_HOURS,
        Reason.FREQUENCY_CAP,
    }
)
REMEMBERED_CALLS = 2000

Sink = Callable[[list[HoldbackFact]], None]


def rule_holdbacks(pop: ScreenPop, *, at: datetime, call_id: str, agent: str) -> list[HoldbackFact]:
    customer_id = pop.customer.id if pop.customer is not None else None
    if customer_id is None:
        return []
    held = []
    for refused in pop.refused:
        reasons = [(str(reason), detail) for reason, detail in refused.reasons]
        if not reasons or any(reason not in RULE_REASONS for reason, _ in reasons):
            continue
        held.append(
            HoldbackFact(
                at=at,
                source=HoldbackSource.RULE,
                cause=reasons[0][0],
                call_id=call_id,
                agent=agent,
                customer_id=customer_id,
                campaign_id=refused.campaign_id,
                detail="; ".join(detail or reason for reason, detail in reasons),
            )
        )
    return held


class RuleHoldbacks:
    """Hands a call's rule holdbacks to the sink once per call, however often its pop is made
    (each agent the call rings pops it again)."""

    def __init__(self, sink: Sink | None = None, *, remembered: int = REMEMBERED_CALLS) -> None:
        self.sink = sink
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._remembered = remembered

    def popped(self, pop: ScreenPop, *, at: datetime, call_id: str, agent: str) -> None:
        if self.sink is None or not call_id or call_id in self._seen or not pop.refused:
            return
        self._seen[call_id] = None
        while len(self._seen) > self._remembered:
            self._seen.popitem(last=False)
        held = rule_holdbacks(pop, at=at, call_id=call_id, agent=agent)
        if held:
            self.sink(held)
