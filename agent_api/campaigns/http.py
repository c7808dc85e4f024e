"""Campaign routes: create and edit every kind, the lifecycle, the live target count, the contact
rules (frequency caps, quiet hours) and the do-not-contact list. Analysts and admins; every
change goes to the audit log, which is also each campaign's history (who did what, when)."""

from __future__ import annotations

from aiohttp import web

from agent_api.campaigns.schemas import (
    CampaignBody,
    CampaignOut,
    CampaignRow,
    CampaignRows,
    Created,
    DncBody,
    DncList,
    DncOut,
    DncQuery,
    HistoryOut,
    QuestionOut,
    RuleBody,
    RuleList,
    RuleOut,
    RulePatch,
    StatusBody,
    TargetCheck,
    TargetCheckBody,
)
from agent_api.context import audit, require, services
from agent_api.errors import ApiError, Conflict, InvalidBody, NotFoundError
from agent_api.openapi import Endpoint, endpoint
from agent_api.security import Principal, Role
from crm import campaign_admin as admin
from crm import campaigns as store
from crm.errors import InvalidPhoneNumber, InvalidTargetRule, InvalidTransition, NotFound
from crm.kinds import CampaignStatus, Purpose, RuleKind

CAMPAIGNS = (Role.ADMIN, Role.ANALYST)
TAG = "campaigns"


class CampaignNotReady(ApiError):
    status = 409
    error_id = "campaign_not_ready"


def _edit(body: CampaignBody) -> admin.CampaignEdit:
    return admin.CampaignEdit(
        name=body.name,
        kind=body.kind,
        channels=tuple(body.channels),
        target_rule=body.target_rule,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        priority=body.priority,
        script=body.script,
        offer_text=body.offer_text,
        questions=tuple(
            admin.EditQuestion(
                q.text, q.kind, tuple(q.choices), q.scale_min, q.scale_max, required=q.required, id=q.id
            )
            for q in body.questions
        ),
    )


def _changed_rules(request: web.Request) -> None:
    """The screen-pop's campaign catalog reads the change at once, not at its next refresh."""
    rules_changed = getattr(services(request).crm, "rules_changed", None)
    if rules_changed is not None:
        rules_changed()


async def _out(request: web.Request, campaign_id: int) -> CampaignOut:
    svc = services(request)
    try:
        detail = await admin.get_campaign(svc.db, campaign_id)
    except NotFound:
        raise NotFoundError(f"no campaign {campaign_id}") from None
    edit = detail.edit
    return CampaignOut(
        id=detail.id,
        name=edit.name,
        kind=edit.kind,
        status=detail.status,
        status_reason=detail.status_reason,
        channels=list(edit.channels),
        target_rule=edit.target_rule,
        starts_at=edit.starts_at,
        ends_at=edit.ends_at,
        priority=edit.priority,
        script=edit.script,
        offer_text=edit.offer_text,
        questions=[
            QuestionOut(
                id=q.id or 0,
                text=q.text,
                kind=q.kind,
                choices=list(q.choices),
                scale_min=q.scale_min,
                scale_max=q.scale_max,
                required=q.required,
                answered=q.id in detail.answered_questions,
            )
            for q in edit.questions
        ],
        created_at=detail.created_at,
        updated_at=detail.updated_at,
        problems=admin.problems(edit, now=svc.clock()),
        history=[
            HistoryOut(at=h.at, actor=h.actor, action=h.action, detail=h.detail) for h in detail.history
        ],
    )


def _check(body: CampaignBody) -> admin.CampaignEdit:
    edit = _edit(body)
    try:
        admin.check_edit(edit)
    except InvalidTargetRule as exc:
        raise InvalidBody(f"target rule: {exc.reason}", details={"field": "target_rule"}) from None
    except ValueError as exc:
        raise InvalidBody(str(exc)) from None
    return edit


@endpoint("GET", "/api/campaigns", summary="Every campaign", roles=CAMPAIGNS, response=CampaignRows, tag=TAG)
async def list_campaigns(request: web.Request, principal: Principal | None) -> CampaignRows:
    found = await store.list_campaigns(services(request).db)
    return CampaignRows(
        campaigns=[
            CampaignRow(id=c.id, name=c.name, kind=c.kind, status=c.status, status_reason=c.status_reason)
            for c in found
        ]
    )


@endpoint(
    "POST",
    "/api/campaigns",
    summary="Create a draft campaign of any kind",
    roles=CAMPAIGNS,
    body=CampaignBody,
    response=CampaignOut,
    tag=TAG,
)
async def create_campaign(
    request: web.Request, principal: Principal | None, body: CampaignBody
) -> CampaignOut:
    me = require(principal)
    svc = services(request)
    edit = _check(body)
    if any(q.id is not None for q in edit.questions):
        raise InvalidBody("a new campaign's questions have no id yet")
    campaign_id = await store.create_campaign(
        svc.db,
        store.NewCampaign(
            name=edit.name.strip(),
            kind=edit.kind,
            channels=list(dict.fromkeys(edit.channels)),
            target_rule=edit.target_rule,
            starts_at=edit.starts_at,
            ends_at=edit.ends_at,
            priority=edit.priority,
            script=edit.script,
            offer_text=edit.offer_text,
        ),
        now=svc.clock(),
    )
    if edit.questions:
        await admin.update_campaign(svc.db, campaign_id, edit, now=svc.clock())
    await audit(
        request, me.username, "campaign-create", str(campaign_id), name=edit.name, kind=str(edit.kind)
    )
    return await _out(request, campaign_id)


@endpoint(
    "GET",
    "/api/campaigns/{campaign_id}",
    summary="One campaign whole: fields, questions, what keeps it from going online, its history",
    roles=CAMPAIGNS,
    response=CampaignOut,
    tag=TAG,
    path_types={"campaign_id": "integer"},
)
async def get_campaign(request: web.Request, principal: Principal | None, campaign_id: int) -> CampaignOut:
    return await _out(request, campaign_id)


@endpoint(
    "PUT",
    "/api/campaigns/{campaign_id}",
    summary="Edit a campaign; a running one must stay fit to run, an ended one is not edited",
    roles=CAMPAIGNS,
    body=CampaignBody,
    response=CampaignOut,
    tag=TAG,
    path_types={"campaign_id": "integer"},
)
async def edit_campaign(
    request: web.Request, principal: Principal | None, campaign_id: int, body: CampaignBody
) -> CampaignOut:
    me = require(principal)
    svc = services(request)
    edit = _check(body)
    try:
        changed = await admin.update_campaign(svc.db, campaign_id, edit, now=svc.clock())
    except NotFound:
        raise NotFoundError(f"no campaign {campaign_id}") from None
    except admin.CampaignNotReady as exc:
        raise CampaignNotReady(str(exc), details={"problems": list(exc.problems)}) from None
    except admin.CampaignNotEditable as exc:
        raise Conflict(str(exc)) from None
    except ValueError as exc:
        raise InvalidBody(str(exc)) from None
    _changed_rules(request)
    await audit(request, me.username, "campaign-update", str(campaign_id), changed=changed)
    return await _out(request, campaign_id)


@endpoint(
    "PUT",
    "/api/campaigns/{campaign_id}/lifecycle",
    summary="Put a campaign online, pause it or end it (draft → online → paused → ended)",
    roles=CAMPAIGNS,
    body=StatusBody,
    response=CampaignOut,
    tag=TAG,
    path_types={"campaign_id": "integer"},
)
async def change_lifecycle(
    request: web.Request, principal: Principal | None, campaign_id: int, body: StatusBody
) -> CampaignOut:
    me = require(principal)
    svc = services(request)
    try:
        if body.status is CampaignStatus.ONLINE:
            await admin.check_ready(svc.db, campaign_id, now=svc.clock())
        await store.set_campaign_status(svc.db, campaign_id, body.status, now=svc.clock())
    except NotFound:
        raise NotFoundError(f"no campaign {campaign_id}") from None
    except admin.CampaignNotReady as exc:
        raise CampaignNotReady(str(exc), details={"problems": list(exc.problems)}) from None
    except InvalidTransition as exc:
        raise Conflict(str(exc), details={"from": str(exc.current), "to": str(exc.wanted)}) from None
    _changed_rules(request)
    await audit(request, me.username, "campaign-status", str(campaign_id), status=str(body.status))
    return await _out(request, campaign_id)


@endpoint(
    "POST",
    "/api/campaigns/target-check",
    summary="Check a target rule as it is typed, and count the customers it matches now",
    roles=CAMPAIGNS,
    body=TargetCheckBody,
    response=TargetCheck,
    tag=TAG,
)
async def target_check(
    request: web.Request, principal: Principal | None, body: TargetCheckBody
) -> TargetCheck:
    svc = services(request)
    counted = await admin.count_matching(svc.db, body.rule, now=svc.clock())
    if counted.customers is None:
        return TargetCheck(valid=False, error=counted.error)
    return TargetCheck(valid=True, customers=counted.customers, estimated=counted.estimated)


# --- contact rules ------------------------------------------------------------------------------


def _rule_out(r: admin.RuleView) -> RuleOut:
    return RuleOut(
        id=r.id,
        name=r.name,
        kind=r.kind,
        enabled=r.enabled,
        purposes=list(r.purposes),
        channels=list(r.channels),
        max_count=r.max_count,
        window_days=r.window_days,
        quiet_start=r.quiet_start,
        quiet_end=r.quiet_end,
    )


@endpoint(
    "GET",
    "/api/campaign-rules",
    summary="Frequency caps and quiet hours",
    roles=CAMPAIGNS,
    response=RuleList,
    tag=TAG,
)
async def list_rules(request: web.Request, principal: Principal | None) -> RuleList:
    return RuleList(rules=[_rule_out(r) for r in await admin.list_rules(services(request).db)])


@endpoint(
    "POST",
    "/api/campaign-rules",
    summary="Add a frequency cap or quiet hours",
    roles=CAMPAIGNS,
    body=RuleBody,
    response=Created,
    tag=TAG,
)
async def add_rule(request: web.Request, principal: Principal | None, body: RuleBody) -> Created:
    me = require(principal)
    db = services(request).db
    if body.kind is RuleKind.FREQUENCY_CAP:
        if body.max_count is None or body.window_days is None:
            raise InvalidBody("a frequency cap needs max_count and window_days")
        rule_id = await store.save_frequency_cap(
            db,
            body.name,
            body.max_count,
            body.window_days,
            purposes=tuple(dict.fromkeys(body.purposes)) or (Purpose.MARKETING,),
            channels=tuple(dict.fromkeys(body.channels)),
        )
    else:
        if body.quiet_start is None or body.quiet_end is None:
            raise InvalidBody("quiet hours need quiet_start and quiet_end (HH:MM)")
        if body.quiet_start == body.quiet_end:
            raise InvalidBody("quiet hours must start and end at different times")
        if not body.channels:
            raise InvalidBody("quiet hours must name the channels they silence")
        rule_id = await store.save_quiet_hours(
            db,
            body.name,
            admin.parse_clock(body.quiet_start),
            admin.parse_clock(body.quiet_end),
            tuple(dict.fromkeys(body.channels)),
        )
    _changed_rules(request)
    await audit(request, me.username, "contact-rule-add", str(rule_id), kind=str(body.kind), name=body.name)
    return Created(id=rule_id, kind="rule")


@endpoint(
    "PATCH",
    "/api/campaign-rules/{rule_id}",
    summary="Turn a contact rule on or off",
    roles=CAMPAIGNS,
    body=RulePatch,
    tag=TAG,
    path_types={"rule_id": "integer"},
)
async def patch_rule(
    request: web.Request, principal: Principal | None, rule_id: int, body: RulePatch
) -> None:
    me = require(principal)
    try:
        await store.set_rule_enabled(services(request).db, rule_id, body.enabled)
    except NotFound:
        raise NotFoundError(f"no contact rule {rule_id}") from None
    _changed_rules(request)
    await audit(request, me.username, "contact-rule-update", str(rule_id), enabled=body.enabled)


@endpoint(
    "DELETE",
    "/api/campaign-rules/{rule_id}",
    summary="Delete a contact rule",
    roles=CAMPAIGNS,
    tag=TAG,
    path_types={"rule_id": "integer"},
)
async def delete_rule(request: web.Request, principal: Principal | None, rule_id: int) -> None:
    me = require(principal)
    try:
        await admin.delete_rule(services(request).db, rule_id)
    except NotFound:
        raise NotFoundError(f"no contact rule {rule_id}") from None
    _changed_rules(request)
    await audit(request, me.username, "contact-rule-delete", str(rule_id))


# --- the do-not-contact list --------------------------------------------------------------------


@endpoint(
    "GET",
    "/api/do-not-contact",
    summary="The do-not-contact list, newest first",
    roles=CAMPAIGNS,
    query=DncQuery,
    response=DncList,
    tag=TAG,
)
async def list_dnc(request: web.Request, principal: Principal | None, query: DncQuery) -> DncList:
    entries, total = await admin.list_dnc(services(request).db, search=query.search.strip())
    return DncList(
        entries=[
            DncOut(
                id=e.id,
                customer_id=e.customer_id,
                customer_name=e.customer_name,
                phone=e.phone,
                reason=e.reason,
                added_at=e.added_at,
            )
            for e in entries
        ],
        total=total,
    )


@endpoint(
    "POST",
    "/api/do-not-contact",
    summary="Put a number or a customer on the do-not-contact list",
    roles=CAMPAIGNS,
    body=DncBody,
    response=Created,
    tag=TAG,
)
async def add_dnc(request: web.Request, principal: Principal | None, body: DncBody) -> Created:
    me = require(principal)
    try:
        entry_id = await admin.add_dnc(
            services(request).db, phone=body.phone, customer_id=body.customer_id, reason=body.reason
        )
    except InvalidPhoneNumber as exc:
        raise InvalidBody(str(exc), details={"field": "phone"}) from None
    except NotFound:
        raise NotFoundError(f"no customer {body.customer_id}") from None
    except ValueError as exc:
        raise InvalidBody(str(exc)) from None
    _changed_rules(request)
    await audit(request, me.username, "dnc-add", str(entry_id), customer_id=body.customer_id)
    return Created(id=entry_id, kind="dnc")


@endpoint(
    "DELETE",
    "/api/do-not-contact/{entry_id}",
    summary="Take an entry off the do-not-contact list",
    roles=CAMPAIGNS,
    tag=TAG,
    path_types={"entry_id": "integer"},
)
async def remove_dnc(request: web.Request, principal: Principal | None, entry_id: int) -> None:
    me = require(principal)
    try:
        await admin.remove_dnc(services(request).db, entry_id)
    except NotFound:
        raise NotFoundError(f"no do-not-contact entry {entry_id}") from None
    _changed_rules(request)
    await audit(request, me.username, "dnc-remove", str(entry_id))


# Literal paths before the {campaign_id} ones.
ENDPOINTS: list[Endpoint] = [
    list_campaigns,
    create_campaign,
    target_check,
    get_campaign,
    edit_campaign,
    change_lifecycle,
    list_rules,
    add_rule,
    patch_rule,
    delete_rule,
    list_dnc,
    add_dnc,
    remove_dnc,
]
