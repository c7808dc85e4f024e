"""Campaigns (draft → online → paused → ended), their questions, and the contact rules analysts edit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.audit import AuditRow
from crm.db import Database, utcnow
from crm.errors import InvalidTargetRule, InvalidTransition, NotFound, TargetRuleFailed
from crm.kinds import CampaignKind, CampaignStatus, Channel, Purpose, QuestionKind, RuleKind
from crm.models import Campaign, ContactRule, Question
from crm.results import QuestionView
from crm.rules import CampaignView, ContactPolicy, FrequencyCap, QuietHours
from crm.targeting import TargetRule, validate_target_rule

TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.DRAFT: frozenset({CampaignStatus.ONLINE, CampaignStatus.ENDED}),
    CampaignStatus.ONLINE: frozenset({CampaignStatus.PAUSED, CampaignStatus.ENDED}),
    CampaignStatus.PAUSED: frozenset({CampaignStatus.ONLINE, CampaignStatus.ENDED}),
    CampaignStatus.ENDED: frozenset(),
}


# The actor the audit log names for what Hotline did on its own.
SYSTEM_ACTOR = "hotline"
RULE_FAILED_ACTION = "campaign-rule-failed"


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    """A campaign as the admin page lists it; ``status_reason`` says why Hotline set the status."""

    id: int
    name: str
    kind: CampaignKind
    status: CampaignStatus
    status_reason: str


@dataclass(frozen=True, slots=True)
class NewQuestion:
    text: str
    kind: QuestionKind
    choices: Sequence[str] = ()
    scale_min: int | None = None
    scale_max: int | None = None


@dataclass(frozen=True, slots=True)
class NewCampaign:
    name: str
    kind: CampaignKind
    channels: Sequence[Channel]
    target_rule: str = "true"
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    priority: int = 0
    script: str = ""
    offer_text: str = ""
    questions: Sequence[NewQuestion] = field(default_factory=tuple)


async def create_campaign(db: Database, new: NewCampaign, *, now: datetime | None = None) -> int:
    """Save a draft campaign; the target rule is validated here (raises InvalidTargetRule)."""
    validate_target_rule(new.target_rule)
    for q in new.questions:
        _check_question(q)
    now = now or utcnow()
    async with db.write() as session:
        campaign = Campaign(
            name=new.name,
            kind=new.kind.value,
            status=CampaignStatus.DRAFT.value,
            target_rule=new.target_rule,
            channels=[c.value for c in new.channels],
            starts_at=new.starts_at,
            ends_at=new.ends_at,
            priority=new.priority,
            script=new.script,
            offer_text=new.offer_text,
            created_at=now,
            updated_at=now,
            questions=[
                Question(
                    position=i,
                    text=q.text,
                    kind=q.kind.value,
                    choices=list(q.choices),
                    scale_min=q.scale_min,
                    scale_max=q.scale_max,
                )
                for i, q in enumerate(new.questions, start=1)
            ],
        )
        session.add(campaign)
        await session.flush()
        return campaign.id


async def update_target_rule(
    db: Database, campaign_id: int, text: str, *, now: datetime | None = None
) -> None:
    validate_target_rule(text)
    async with db.write() as session:
        campaign = await session.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound("campaign", campaign_id)
        campaign.target_rule = text
        campaign.updated_at = now or utcnow()


async def set_campaign_status(
    db: Database, campaign_id: int, status: CampaignStatus, *, now: datetime | None = None
) -> None:
    async with db.write() as session:
        campaign = await session.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound("campaign", campaign_id)
        current = CampaignStatus(campaign.status)
        if status not in TRANSITIONS[current]:
            raise InvalidTransition(f"campaign {campaign_id}", current, status)
        campaign.status = status.value
        campaign.status_reason = ""  # a person decided this status: Hotline's reason no longer holds
        campaign.updated_at = now or utcnow()


async def list_campaigns(db: Database) -> tuple[CampaignSummary, ...]:
    async with db.read() as session:
        rows = await session.execute(
            select(
                Campaign.id, Campaign.name, Campaign.kind, Campaign.status, Campaign.status_reason
            ).order_by(Campaign.id)
        )
        return tuple(
            CampaignSummary(
                r.id, r.name, CampaignKind(r.kind), CampaignStatus(r.status), r.status_reason or ""
            )
            for r in rows
        )


async def record_rule_failure(
    db: Database,
    campaign_id: int,
    reason: str,
    *,
    now: datetime | None = None,
    customer_id: int | None = None,
) -> bool:
    """The campaign's target rule failed: an online campaign is paused, any other keeps its status
    (a draft cannot go wrong on a call), and the reason is recorded on the campaign and in the
    audit log. Once per failure: False if the campaign already carries this reason or is gone."""
    now = now or utcnow()
    why = f"target rule failed: {reason}"
    async with db.write() as session:
        campaign = await session.get(Campaign, campaign_id)
        if campaign is None:
            return False
        previous = CampaignStatus(campaign.status)
        if campaign.status_reason == why and previous is not CampaignStatus.ONLINE:
            return False
        status = CampaignStatus.PAUSED if previous is CampaignStatus.ONLINE else previous
        campaign.status = status.value
        campaign.status_reason = why
        campaign.updated_at = now
        detail: dict[str, object] = {"previous": str(previous), "status": str(status), "reason": reason}
        if customer_id is not None:
            detail["customer_id"] = customer_id
        session.add(
            AuditRow(
                at=now, actor=SYSTEM_ACTOR, action=RULE_FAILED_ACTION, target=str(campaign_id), detail=detail
            )
        )
    return True


async def online_campaigns(db: Database) -> tuple[CampaignView, ...]:
    """Every online campaign with its compiled target rule (what the screen-pop evaluates)."""
    async with db.read() as session:
        campaigns = (
            await session.scalars(
                select(Campaign)
                .where(Campaign.status == CampaignStatus.ONLINE.value)
                .options(selectinload(Campaign.questions))
            )
        ).all()
    return tuple(_view(c) for c in campaigns)


def _view(campaign: Campaign) -> CampaignView:
    try:
        target = TargetRule(campaign.target_rule).matches
    except InvalidTargetRule as exc:
        # Saved before a field was renamed, or a pattern RE2 refuses: the rule fails, so the
        # first pop that meets it disables the campaign, saying why.
        text, reason = campaign.target_rule, exc.reason

        def target(_fields: object) -> bool:
            raise TargetRuleFailed(text, reason)

    return CampaignView(
        id=campaign.id,
        name=campaign.name,
        kind=CampaignKind(campaign.kind),
        status=CampaignStatus(campaign.status),
        channels=frozenset(Channel(c) for c in campaign.channels),
        target=target,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        priority=campaign.priority,
        script=campaign.script,
        offer_text=campaign.offer_text,
        questions=tuple(
            QuestionView(
                id=q.id,
                position=q.position,
                text=q.text,
                kind=QuestionKind(q.kind),
                choices=tuple(q.choices or ()),
                scale_min=q.scale_min,
                scale_max=q.scale_max,
                required=bool(q.required),
            )
            for q in campaign.questions
        ),
    )


def _check_question(q: NewQuestion) -> None:
    if q.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE) and len(q.choices) < 2:
        raise ValueError(f"question {q.text!r}: a choice question needs at least two choices")
    if q.kind is QuestionKind.SCALE and (
        q.scale_min is None or q.scale_max is None or q.scale_min >= q.scale_max
    ):
        raise ValueError(f"question {q.text!r}: a scale needs scale_min < scale_max")


async def save_frequency_cap(
    db: Database,
    name: str,
    max_count: int,
    window_days: int,
    purposes: Sequence[Purpose] = (Purpose.MARKETING,),
    channels: Sequence[Channel] = (),
) -> int:
    if max_count < 0 or window_days < 1:
        raise ValueError("a frequency cap needs max_count >= 0 and window_days >= 1")
    async with db.write() as session:
        rule = ContactRule(
            name=name,
            kind=RuleKind.FREQUENCY_CAP.value,
            purposes=[p.value for p in purposes],
            channels=[c.value for c in channels],
            max_count=max_count,
            window_days=window_days,
        )
        session.add(rule)
        await session.flush()
        return rule.id


async def save_quiet_hours(
    db: Database, name: str, start: time, end: time, channels: Sequence[Channel]
) -> int:
    if not channels:
        raise ValueError("quiet hours must name the channels they silence")
    async with db.write() as session:
        rule = ContactRule(
            name=name,
            kind=RuleKind.QUIET_HOURS.value,
            channels=[c.value for c in channels],
            quiet_start=start.strftime("%H:%M"),
            quiet_end=end.strftime("%H:%M"),
        )
        session.add(rule)
        await session.flush()
        return rule.id


async def set_rule_enabled(db: Database, rule_id: int, enabled: bool) -> None:
    async with db.write() as session:
        rule = await session.get(ContactRule, rule_id)
        if rule is None:
            raise NotFound("contact rule", rule_id)
        rule.enabled = enabled


async def load_policy(db: Database) -> ContactPolicy:
    async with db.read() as session:
        rules = (await session.scalars(select(ContactRule).where(ContactRule.enabled.is_(True)))).all()
    caps: list[FrequencyCap] = []
    quiet: list[QuietHours] = []
    for rule in rules:
        if rule.kind == RuleKind.FREQUENCY_CAP:
            caps.append(
                FrequencyCap(
                    name=rule.name,
                    max_count=rule.max_count or 0,
                    window=timedelta(days=rule.window_days or 1),
                    purposes=frozenset(Purpose(p) for p in rule.purposes),
                    channels=frozenset(Channel(c) for c in rule.channels),
                )
            )
        elif rule.kind == RuleKind.QUIET_HOURS:
            quiet.append(
                QuietHours(
                    name=rule.name,
                    start=time.fromisoformat(rule.quiet_start or "00:00"),
                    end=time.fromisoformat(rule.quiet_end or "00:00"),
                    channels=frozenset(Channel(c) for c in rule.channels),
                )
            )
    return ContactPolicy(tuple(caps), tuple(quiet))


def longest_window(policy: ContactPolicy) -> timedelta:
    return max((cap.window for cap in policy.caps), default=timedelta(days=30))
