"""Marketing detail (营销明细): per campaign × agent × customer segment, what was presented,
accepted, declined or left for later, the offers shown on a call and not put to the customer,
and how often the gate or a contact rule held an offer back.

A rule holdback names its campaign and lands on that campaign's row. A gate holdback has no
campaign (the gate held every offer of the call), so it gets a row of its own per agent and
segment with an empty campaign; those rows are left out when the report is narrowed to campaigns.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from sqlalchemy import or_, select

from crm.db import Database
from crm.kinds import OfferOutcome
from crm.models import Campaign, Customer, OfferPresentation
from crm.reporting.facts import HoldbackSource
from crm.reporting.results import ChartKind, ChartSpec, ReportResult, ValueType
from crm.reporting.standard.base import count_if, dimension, measure, ratio
from crm.reporting.standard.params import ReportParams
from crm.reporting.tables import OfferHoldbackRow as H

NAME = "marketing_detail"
TITLE_KEY = "report.title.marketing_detail"
GATE = HoldbackSource.GATE.value
RULE = HoldbackSource.RULE.value
NOT_PRESENTED = OfferOutcome.NOT_PRESENTED.value
WIDTH = 7  # presented, accepted, declined, later, not presented, held by the gate, by a rule


def presented_only(P: Any) -> Any:
    """An offer put to the customer: any outcome but "not presented" (none yet counts)."""
    return or_(P.outcome.is_(None), P.outcome != NOT_PRESENTED)


async def run(db: Database, params: ReportParams, *, tz: tzinfo) -> ReportResult:
    start, end = params.utc_bounds(tz)
    P = OfferPresentation
    # Grouped by the bare columns (NULL agent or segment mapped to "" below): PostgreSQL would
    # not match an expression with a bound parameter in the SELECT to its copy in GROUP BY.
    presented = (
        select(
            P.campaign_id,
            P.agent,
            Customer.segment,
            count_if(presented_only(P)).label("presented"),
            count_if(P.outcome == OfferOutcome.ACCEPTED.value).label("accepted"),
            count_if(P.outcome == OfferOutcome.DECLINED.value).label("declined"),
            count_if(P.outcome == OfferOutcome.LATER.value).label("later"),
            count_if(P.outcome == NOT_PRESENTED).label("not_presented"),
        )
        .outerjoin(Customer, Customer.id == P.customer_id)
        .where(P.presented_at >= start, P.presented_at < end)
        .group_by(P.campaign_id, P.agent, Customer.segment)
    )
    if params.agents:
        presented = presented.where(P.agent.in_(params.agents))
    if params.campaign_ids:
        presented = presented.where(P.campaign_id.in_(params.campaign_ids))

    held = (
        select(
            H.campaign_id,
            H.agent,
            Customer.segment,
            count_if(H.source == GATE).label("gate"),
            count_if(H.source == RULE).label("rule"),
        )
        .outerjoin(Customer, Customer.id == H.customer_id)
        .where(H.day.between(params.day_from, params.day_to))
        .group_by(H.campaign_id, H.agent, Customer.segment)
    )
    if params.agents:
        held = held.where(H.agent.in_(params.agents))
    if params.campaign_ids:
        held = held.where(H.campaign_id.in_(params.campaign_ids))

    async with db.read() as session:
        cells: dict[tuple[int | None, str, str], list[int]] = {}
        for row in (await session.execute(presented)).all():
            cell = cells.setdefault((row.campaign_id, row.agent or "", row.segment or ""), [0] * WIDTH)
            cell[0] += row.presented
            cell[1] += row.accepted
            cell[2] += row.declined
            cell[3] += row.later
            cell[4] += row.not_presented
        for row in (await session.execute(held)).all():
            cell = cells.setdefault((row.campaign_id, row.agent or "", row.segment or ""), [0] * WIDTH)
            cell[5] += row.gate
            cell[6] += row.rule
        ids = {campaign_id for campaign_id, _, _ in cells if campaign_id is not None}
        names = dict(
            (await session.execute(select(Campaign.id, Campaign.name).where(Campaign.id.in_(ids)))).all()
        )

    def order(key: tuple[int | None, str, str]) -> tuple[Any, ...]:
        campaign_id, agent_name, segment_name = key
        return (campaign_id is None, names.get(campaign_id, ""), campaign_id or 0, agent_name, segment_name)

    rows = []
    for key in sorted(cells, key=order):
        campaign_id, agent_name, segment_name = key
        p, a, d, later, unpresented, gate, rule = cells[key]
        rows.append(
            (
                campaign_id,
                names.get(campaign_id, ""),
                agent_name,
                segment_name,
                p,
                a,
                d,
                ratio(a, p),
                later,
                unpresented,
                gate,
                rule,
            )
        )
    sums = [sum(c[i] for c in cells.values()) for i in range(WIDTH)]
    totals = (None, None, None, None, *sums[:3], ratio(sums[1], sums[0]), *sums[3:])
    return ReportResult(
        columns=(
            dimension("campaign_id", ValueType.INT),
            dimension("campaign"),
            dimension("agent"),
            dimension("segment"),
            measure("presented"),
            measure("accepted"),
            measure("declined"),
            measure("conversion", ValueType.PERCENT),
            measure("later"),
            measure("not_presented"),
            measure("held_by_gate"),
            measure("held_by_rule"),
        ),
        rows=rows,
        chart=ChartSpec(ChartKind.BAR, "campaign", ("presented", "accepted"), TITLE_KEY),
        totals=totals,
        total_rows=len(rows),
    )
