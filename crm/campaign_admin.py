"""Editing campaigns in the back office: read one whole, change it, check it may go online, and
the lists beside them (contact rules, the do-not-contact list).

An edit is checked as a whole before it is saved: the target rule compiles, every question is
complete, the schedule ends after it starts. A campaign that is online (or paused) must stay fit
to run after the edit (``problems`` is empty), so an edit cannot take a running campaign into a
state the screen-pop could not use; an ended campaign is not edited at all. Questions that already
have answers keep their id and kind, so the answers stay readable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from crm.audit import AuditRow
from crm.campaigns import NewQuestion, _check_question
from crm.db import Database, utcnow
from crm.errors import CrmError, InvalidTargetRule, NotFound
from crm.kinds import CampaignKind, CampaignStatus, Channel, Purpose, QuestionKind, RuleKind
from crm.models import Answer, Campaign, ContactRule, Customer, CustomerPhone, DoNotContact, Question
from crm.phones import normalize_phone
from crm.reporting.standard.targets import TargetCount, count_targets
from crm.targeting import validate_target_rule

# The audit actions that tell a campaign's story (who did what, when).
HISTORY_ACTIONS = ("campaign-create", "campaign-update", "campaign-status", "campaign-rule-failed")


class CampaignNotEditable(CrmError):
    error_id = "campaign_not_editable"


class CampaignNotReady(CrmError):
    """The campaign lacks what it needs to run; ``problems`` lists each."""

    error_id = "campaign_not_ready"

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(PROBLEMS[p] for p in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class EditQuestion:
    text: str
    kind: QuestionKind
    choices: Sequence[str] = ()
    scale_min: int | None = None
    scale_max: int | None = None
    required: bool = False
    id: int | None = None  # an existing question kept (its answers stay with it)


@dataclass(frozen=True, slots=True)
class CampaignEdit:
    name: str
    kind: CampaignKind
    channels: Sequence[Channel]
    target_rule: str = "true"
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    priority: int = 0
    script: str = ""
    offer_text: str = ""
    questions: Sequence[EditQuestion] = ()


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: datetime
    actor: str
    action: str
    detail: dict[str, object]


@dataclass(frozen=True, slots=True)
class CampaignDetail:
    id: int
    status: CampaignStatus
    status_reason: str
    created_at: datetime
    updated_at: datetime
    edit: CampaignEdit
    answered_questions: frozenset[int]
    history: tuple[HistoryEntry, ...]


PROBLEMS = {
    "no_channel": "place the campaign on at least one channel",
    "schedule_ended": "the schedule has ended",
    "no_questions": "a questionnaire or information collection needs at least one question",
    "no_offer_text": "a marketing campaign needs the offer text the agent presents",
    "no_notice_text": "a notice needs the text the agent reads out",
}


def problems(edit: CampaignEdit, *, now: datetime) -> list[str]:
    """What keeps this campaign from running (keys of PROBLEMS); empty when it may be online."""
    out: list[str] = []
    if not edit.channels:
        out.append("no_channel")
    if edit.ends_at is not None and edit.ends_at <= now:
        out.append("schedule_ended")
    if edit.kind in (CampaignKind.QUESTIONNAIRE, CampaignKind.INFO_COLLECTION) and not edit.questions:
        out.append("no_questions")
    if edit.kind is CampaignKind.MARKETING and not edit.offer_text.strip():
        out.append("no_offer_text")
    if edit.kind is CampaignKind.NOTICE and not (edit.offer_text.strip() or edit.script.strip()):
        out.append("no_notice_text")
    return out


def check_edit(edit: CampaignEdit) -> None:
    """Raises InvalidTargetRule or ValueError saying what is wrong with the edit itself."""
    if not edit.name.strip():
        raise ValueError("a campaign needs a name")
    validate_target_rule(edit.target_rule)
    if edit.starts_at is not None and edit.ends_at is not None and edit.ends_at <= edit.starts_at:
        raise ValueError("the schedule must end after it starts")
    for q in edit.questions:
        if not q.text.strip():
            raise ValueError("every question needs its text")
        if len(set(q.choices)) != len(q.choices):
            raise ValueError(f"question {q.text!r}: the choices repeat")
        _check_question(NewQuestion(q.text, q.kind, q.choices, q.scale_min, q.scale_max))


async def get_campaign(db: Database, campaign_id: int) -> CampaignDetail:
    async with db.read() as session:
        campaign = await session.scalar(
            select(Campaign).where(Campaign.id == campaign_id).options(selectinload(Campaign.questions))
        )
        if campaign is None:
            raise NotFound("campaign", campaign_id)
        ids = [q.id for q in campaign.questions]
        answered = (
            set((await session.scalars(select(Answer.question_id).where(Answer.question_id.in_(ids)))).all())
            if ids
            else set()
        )
        history = (
            await session.scalars(
                select(AuditRow)
                .where(AuditRow.target == str(campaign_id), AuditRow.action.in_(HISTORY_ACTIONS))
                .order_by(AuditRow.id.desc())
                .limit(100)
            )
        ).all()
        return CampaignDetail(
            id=campaign.id,
            status=CampaignStatus(campaign.status),
            status_reason=campaign.status_reason or "",
            created_at=campaign.created_at,
            updated_at=campaign.updated_at,
            edit=_edit_of(campaign),
            answered_questions=frozenset(answered),
            history=tuple(HistoryEntry(h.at, h.actor, h.action, dict(h.detail or {})) for h in history),
        )


def _edit_of(campaign: Campaign) -> CampaignEdit:
    return CampaignEdit(
        name=campaign.name,
        kind=CampaignKind(campaign.kind),
        channels=tuple(Channel(c) for c in campaign.channels),
        target_rule=campaign.target_rule,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        priority=campaign.priority,
        script=campaign.script or "",
        offer_text=campaign.offer_text or "",
        questions=tuple(
            EditQuestion(
                q.text,
                QuestionKind(q.kind),
                tuple(q.choices or ()),
                q.scale_min,
                q.scale_max,
                required=bool(q.required),
                id=q.id,
            )
            for q in campaign.questions
        ),
    )


async def update_campaign(
    db: Database, campaign_id: int, edit: CampaignEdit, *, now: datetime | None = None
) -> list[str]:
    """Save the edit; returns the names of the fields that changed. Raises NotFound,
    CampaignNotEditable (ended, or a question with answers removed or changed in kind),
    CampaignNotReady (a running campaign the edit would break), InvalidTargetRule, ValueError."""
    now = now or utcnow()
    check_edit(edit)
    async with db.write() as session:
        campaign = await session.scalar(
            select(Campaign).where(Campaign.id == campaign_id).options(selectinload(Campaign.questions))
        )
        if campaign is None:
            raise NotFound("campaign", campaign_id)
        status = CampaignStatus(campaign.status)
        if status is CampaignStatus.ENDED:
            raise CampaignNotEditable("an ended campaign is kept as it ran; copy it into a new draft instead")
        if status in (CampaignStatus.ONLINE, CampaignStatus.PAUSED):
            found = problems(edit, now=now)
            if found:
                raise CampaignNotReady(found)
        if edit.kind.value != campaign.kind and status is not CampaignStatus.DRAFT:
            raise CampaignNotEditable("the kind of a campaign that has run cannot change")
        before = _edit_of(campaign)
        existing = {q.id: q for q in campaign.questions}
        ids = list(existing)
        answered = (
            set((await session.scalars(select(Answer.question_id).where(Answer.question_id.in_(ids)))).all())
            if ids
            else set()
        )
        kept = {q.id for q in edit.questions if q.id is not None}
        unknown = kept - set(existing)
        if unknown:
            raise ValueError(f"question {sorted(unknown)[0]} is not part of campaign {campaign_id}")
        for question_id in answered - kept:
            raise CampaignNotEditable(
                f"question {existing[question_id].text!r} has answers and cannot be removed"
            )
        for q in edit.questions:
            if q.id in answered and existing[q.id].kind != q.kind.value:
                raise CampaignNotEditable(f"question {q.text!r} has answers: its kind cannot change")
        removed = set(existing) - kept
        if removed:
            await session.execute(delete(Question).where(Question.id.in_(sorted(removed))))
        for position, q in enumerate(edit.questions, start=1):
            row = existing.get(q.id) if q.id is not None else None
            if row is None:
                row = Question(campaign_id=campaign_id)
                session.add(row)
            row.position = position
            row.text = q.text
            row.kind = q.kind.value
            row.choices = list(q.choices)
            row.scale_min = q.scale_min if q.kind is QuestionKind.SCALE else None
            row.scale_max = q.scale_max if q.kind is QuestionKind.SCALE else None
            row.required = q.required
        campaign.name = edit.name.strip()
        campaign.kind = edit.kind.value
        campaign.channels = [c.value for c in dict.fromkeys(edit.channels)]
        campaign.target_rule = edit.target_rule
        campaign.starts_at = edit.starts_at
        campaign.ends_at = edit.ends_at
        campaign.priority = edit.priority
        campaign.script = edit.script
        campaign.offer_text = edit.offer_text
        campaign.updated_at = now
    return _changed(before, edit)


def _changed(before: CampaignEdit, after: CampaignEdit) -> list[str]:
    names = [
        "name",
        "kind",
        "channels",
        "target_rule",
        "starts_at",
        "ends_at",
        "priority",
        "script",
        "offer_text",
    ]
    out = [n for n in names if _norm(getattr(before, n)) != _norm(getattr(after, n))]
    if [
        (q.text, q.kind, tuple(q.choices), q.scale_min, q.scale_max, q.required) for q in before.questions
    ] != [(q.text, q.kind, tuple(q.choices), q.scale_min, q.scale_max, q.required) for q in after.questions]:
        out.append("questions")
    return out


def _norm(value: object) -> object:
    return tuple(value) if isinstance(value, (list, tuple)) else value


async def check_ready(db: Database, campaign_id: int, *, now: datetime | None = None) -> None:
    """Raises CampaignNotReady when the campaign may not go online as it is."""
    detail = await get_campaign(db, campaign_id)
    found = problems(detail.edit, now=now or utcnow())
    if found:
        raise CampaignNotReady(found)


async def count_matching(db: Database, rule: str, *, now: datetime | None = None) -> TargetCount:
    """How many customers the rule matches now (estimated from a sample on a large base)."""
    try:
        validate_target_rule(rule)
    except InvalidTargetRule as exc:
        return TargetCount(None, False, exc.reason)
    return (await count_targets(db, {0: rule}, now=now or utcnow()))[0]


# --- contact rules ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleView:
    id: int
    name: str
    kind: RuleKind
    enabled: bool
    purposes: tuple[Purpose, ...]
    channels: tuple[Channel, ...]
    max_count: int | None
    window_days: int | None
    quiet_start: str | None
    quiet_end: str | None


async def list_rules(db: Database) -> tuple[RuleView, ...]:
    async with db.read() as session:
        rows = (await session.scalars(select(ContactRule).order_by(ContactRule.id))).all()
    return tuple(
        RuleView(
            r.id,
            r.name,
            RuleKind(r.kind),
            bool(r.enabled),
            tuple(Purpose(p) for p in r.purposes or ()),
            tuple(Channel(c) for c in r.channels or ()),
            r.max_count,
            r.window_days,
            r.quiet_start,
            r.quiet_end,
        )
        for r in rows
    )


async def delete_rule(db: Database, rule_id: int) -> None:
    async with db.write() as session:
        rule = await session.get(ContactRule, rule_id)
        if rule is None:
            raise NotFound("contact rule", rule_id)
        await session.delete(rule)


def parse_clock(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day (HH:MM)") from None


# --- the do-not-contact list ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DncEntry:
    id: int
    customer_id: int | None
    customer_name: str
    phone: str
    reason: str
    added_at: datetime


async def list_dnc(db: Database, *, search: str = "", limit: int = 200) -> tuple[tuple[DncEntry, ...], int]:
    """The newest entries first (matching ``search`` in the number or the customer's name) and
    how many there are in all."""
    query = (
        select(DoNotContact, Customer.name)
        .outerjoin(Customer, Customer.id == DoNotContact.customer_id)
        .order_by(DoNotContact.id.desc())
    )
    if search:
        digits = "".join(ch for ch in search if ch.isdigit())
        like = f"%{search}%"
        clauses = [Customer.name.like(like)]
        if digits:
            clauses.append(DoNotContact.e164.like(f"%{digits}%"))
            owned = select(CustomerPhone.customer_id).where(CustomerPhone.e164.like(f"%{digits}%"))
            clauses.append(DoNotContact.customer_id.in_(owned))
        from sqlalchemy import or_

        query = query.where(or_(*clauses))
    async with db.read() as session:
        total = int(await session.scalar(select(func.count()).select_from(DoNotContact)) or 0)
        rows = (await session.execute(query.limit(limit))).all()
    return (
        tuple(
            DncEntry(r.id, r.customer_id, name or "", r.e164 or "", r.reason or "", r.added_at)
            for r, name in rows
        ),
        total,
    )


async def add_dnc(
    db: Database, *, phone: str | None = None, customer_id: int | None = None, reason: str = ""
) -> int:
    """Put a number or a customer on the list; ValueError for a number that is not one."""
    if (phone is None) == (customer_id is None):
        raise ValueError("name either a customer or a phone number")
    e164 = normalize_phone(phone).e164 if phone is not None else None
    async with db.write() as session:
        if customer_id is not None and await session.get(Customer, customer_id) is None:
            raise NotFound("customer", customer_id)
        existing = await session.scalar(
            select(DoNotContact.id).where(
                DoNotContact.e164 == e164 if e164 is not None else DoNotContact.customer_id == customer_id
            )
        )
        if existing is not None:
            return int(existing)
        row = DoNotContact(customer_id=customer_id, e164=e164, reason=reason, added_at=utcnow())
        session.add(row)
        await session.flush()
        return row.id


async def remove_dnc(db: Database, entry_id: int) -> None:
    async with db.write() as session:
        row = await session.get(DoNotContact, entry_id)
        if row is None:
            raise NotFound("do-not-contact entry", entry_id)
        await session.delete(row)
