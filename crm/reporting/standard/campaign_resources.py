"""Campaign resources (营销资源): per campaign, its target customers, how many were reached and
how many remain, its contacts per channel in the range, and the offers a frequency cap skipped.

Target customers come from crm.reporting.standard.targets (exact up to its sample size, an
estimate above it, flagged by a note). Reached counts over the campaign's life up to the end of
the range; contacts and skips count within the range. A campaign's contacts are its
presentations (an offer made on a call) and the contacts stored under the campaign (an SMS
notice), each counted once. A campaign whose target rule fails is listed with no target count
and the rule's error, and disabled (crm.campaigns.record_rule_failure); the others are counted
as usual. See docs/reports-standard.md.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy import func, select

from crm.campaigns import record_rule_failure
from crm.db import Database, utcnow
from crm.kinds import CampaignStatus, Channel
from crm.models import Campaign, Contact, OfferPresentation
from crm.reporting.results import ChartKind, ChartSpec, ReportResult, ValueType
from crm.reporting.standard.base import dimension, measure
from crm.reporting.standard.marketing_detail import presented_only
from crm.reporting.standard.params import ReportParams
from crm.reporting.standard.targets import count_targets
from crm.reporting.tables import ContactDayCountRow as C
from crm.reporting.tables import OfferHoldbackRow as H

NAME = "campaign_resources"
TITLE_KEY = "report.title.campaign_resources"
FREQUENCY_CAUSES = ("frequency-cap", "frequency_cap")  # the gate's and crm.rules.Reason's spelling
NOTE_ESTIMATED = "report.note.targets_estimated"
NOTE_RULE_FAILED = "report.note.target_rule_failed"
CHANNELS = tuple(c.value for c in Channel)


async def run(db: Database, params: ReportParams, *, tz: tzinfo) -> ReportResult:
    return await campaign_resources(db, params, tz=tz, now=utcnow())


async def campaign_resources(
    db: Database, params: ReportParams, *, tz: tzinfo, now: datetime
) -> ReportResult:
    start, end = params.utc_bounds(tz)
    as_of = min(now, end)
    campaigns_query = select(Campaign.id, Campaign.name, Campaign.kind, Campaign.status, Campaign.target_rule)
    if params.campaign_ids:
        campaigns_query = campaigns_query.where(Campaign.id.in_(params.campaign_ids))
    P = OfferPresentation
    reached_query = (
        select(P.campaign_id, func.count(func.distinct(P.customer_id)).label("reached"))
        .where(P.presented_at < end, presented_only(P))
        .group_by(P.campaign_id)
    )
    contacts_query = (
        select(C.campaign_id, C.channel, func.sum(C.contacts).label("contacts"))
        .where(C.day.between(params.day_from, params.day_to))
        .group_by(C.campaign_id, C.channel)
    )
    # An offer made on a call is a contact of its campaign, though the call's contact row names
    # no campaign; a campaign contact that also has a presentation is counted once.
    in_range = (P.presented_at >= start, P.presented_at < end, presented_only(P))
    presented_query = (
        select(P.campaign_id, P.channel, func.count().label("contacts"))
        .where(*in_range)
        .group_by(P.campaign_id, P.channel)
    )
    overlap_query = (
        select(P.campaign_id, Contact.channel, func.count().label("contacts"))
        .join(Contact, Contact.id == P.contact_id)
        .where(*in_range, Contact.campaign_id == P.campaign_id)
        .group_by(P.campaign_id, Contact.channel)
    )
    skips_query = (
        select(H.campaign_id, func.count().label("skips"))
        .where(
            H.day.between(params.day_from, params.day_to),
            H.cause.in_(FREQUENCY_CAUSES),
            H.campaign_id.is_not(None),
        )
        .group_by(H.campaign_id)
    )
    if params.campaign_ids:
        reached_query = reached_query.where(P.campaign_id.in_(params.campaign_ids))
        contacts_query = contacts_query.where(C.campaign_id.in_(params.campaign_ids))
        presented_query = presented_query.where(P.campaign_id.in_(params.campaign_ids))
        overlap_query = overlap_query.where(P.campaign_id.in_(params.campaign_ids))
        skips_query = skips_query.where(H.campaign_id.in_(params.campaign_ids))
    async with db.read() as session:
        campaigns = (await session.execute(campaigns_query.order_by(Campaign.id))).all()
        reached = dict((await session.execute(reached_query)).all())
        contacts: dict[int, dict[str, int]] = {}
        for query, sign in ((contacts_query, 1), (presented_query, 1), (overlap_query, -1)):
            for row in await session.execute(query):
                per_channel = contacts.setdefault(row.campaign_id, {})
                per_channel[row.channel] = per_channel.get(row.channel, 0) + sign * row.contacts
        skips = dict((await session.execute(skips_query)).all())
    targets = await count_targets(db, {c.id: c.target_rule for c in campaigns}, now=as_of)
    statuses = {c.id: c.status for c in campaigns}
    for campaign_id, count in targets.items():
        if count.error:
            await record_rule_failure(db, campaign_id, count.error, now=now)
            if statuses[campaign_id] == CampaignStatus.ONLINE:
                statuses[campaign_id] = CampaignStatus.PAUSED.value

    rows = []
    for c in campaigns:
        target = targets[c.id].customers
        hit = reached.get(c.id, 0)
        per_channel = [max(contacts.get(c.id, {}).get(channel, 0), 0) for channel in CHANNELS]
        rows.append(
            (
                c.id,
                c.name,
                c.kind,
                statuses[c.id],
                target,
                hit,
                None if target is None else max(target - hit, 0),
                sum(per_channel),
                *per_channel,
                skips.get(c.id, 0),
                targets[c.id].error,
            )
        )
    width = 4 + 4 + len(CHANNELS) + 1
    totals = (
        None,
        None,
        None,
        None,
        *(sum(r[i] or 0 for r in rows) for i in range(4, width)),
        None,
    )
    notes = []
    if any(t.estimated for t in targets.values()):
        notes.append(NOTE_ESTIMATED)
    if any(t.error for t in targets.values()):
        notes.append(NOTE_RULE_FAILED)
    return ReportResult(
        columns=(
            dimension("campaign_id", ValueType.INT),
            dimension("campaign"),
            dimension("campaign_kind"),
            dimension("campaign_status"),
            measure("target_customers"),
            measure("reached"),
            measure("remaining"),
            measure("contacts"),
            *(measure(f"contacts_{channel}", key=f"report.col.channel.{channel}") for channel in CHANNELS),
            measure("frequency_cap_skips"),
            dimension("target_rule_error"),
        ),
        rows=rows,
        chart=ChartSpec(ChartKind.STACKED_BAR, "campaign", ("reached", "remaining"), TITLE_KEY),
        totals=totals,
        total_rows=len(rows),
        notes=tuple(notes),
    )
