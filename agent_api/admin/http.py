"""Admin routes: users and their roles, skills and extension; queues (admin/queues.py); campaigns
on and off; the audit log."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from acd.errors import AcdError
from acd.models import AgentProfile
from agent_api.admin.queues import ENDPOINTS as QUEUE_ENDPOINTS
from agent_api.context import audit, require, services
from agent_api.errors import BadRequest, Conflict, NotFoundError
from agent_api.openapi import Endpoint, endpoint
from agent_api.security import Principal, Role
from crm import accounts, exporter
from crm import audit as audit_log
from crm import campaigns as campaign_store
from crm.errors import CrmError, NotFound
from crm.kinds import CampaignStatus

ADMIN = (Role.ADMIN,)
CAMPAIGNS = (Role.ADMIN, Role.ANALYST)

Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{2,64}$")]
Extension = Annotated[str, StringConstraints(pattern=r"^[0-9]{0,8}$")]
SkillName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
Password = Annotated[str, StringConstraints(min_length=10, max_length=256)]


class UserView(BaseModel):
    username: str
    display_name: str
    roles: list[Role]
    extension: str
    skills: dict[str, int]
    enabled: bool
    hot_desk: bool = False  # may log in to the ACD at another free desk, confirmed at its phone


class UserList(BaseModel):
    users: list[UserView]


class UserFields(BaseModel):
    """A new account but its password, checked the same way wherever accounts are made: this API
    and ``hotline accounts add``."""

    model_config = ConfigDict(extra="forbid")

    username: Username
    roles: list[Role] = Field(min_length=1, max_length=4)
    display_name: Annotated[str, StringConstraints(max_length=200)] = ""
    extension: Extension = ""
    skills: dict[SkillName, Annotated[int, Field(ge=1, le=10)]] = Field(default_factory=dict, max_length=50)


class NewUserBody(UserFields):
    password: Password


class UserUpdateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[Role] | None = Field(default=None, min_length=1, max_length=4)
    display_name: Annotated[str, StringConstraints(max_length=200)] | None = None
    extension: Extension | None = None
    skills: dict[SkillName, Annotated[int, Field(ge=1, le=10)]] | None = Field(default=None, max_length=50)
    enabled: bool | None = None
    password: Password | None = None
    hot_desk: bool | None = None


class CampaignView(BaseModel):
    id: int
    name: str
    kind: str
    status: CampaignStatus
    status_reason: str = ""  # why Hotline set the status (a target rule that failed); empty if a person did


class CampaignList(BaseModel):
    campaigns: list[CampaignView]


class CampaignStatusBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: CampaignStatus


class AuditLine(BaseModel):
    at: datetime
    actor: str
    action: str
    target: str
    remote: str
    detail: dict[str, Any]


class AuditList(BaseModel):
    entries: list[AuditLine]


def _user(account: accounts.Account) -> UserView:
    return UserView(
        username=account.username,
        display_name=account.display_name,
        roles=sorted(account.roles),
        extension=account.extension,
        skills=account.skills,
        enabled=account.enabled,
        hot_desk=account.hot_desk,
    )


def _update_acd(request: web.Request, account: accounts.Account) -> None:
    """An agent created or changed here is routed at once, without a restart (skills, extension
    and name: AcdService.update_agent). An account without the agent role, an extension or
    skills is not an ACD agent; one already known to the ACD keeps its last profile."""
    if not (account.enabled and Role.AGENT in account.roles and account.extension and account.skills):
        return
    acd = services(request).acd
    try:
        group = acd.states.get(account.username).profile.group
    except AcdError:
        group = "default"
    try:
        acd.update_agent(
            AgentProfile(
                account.username, account.extension, account.skills, name=account.display_name, group=group
            )
        )
    except AcdError as exc:
        raise BadRequest(str(exc)) from None


async def _check_extension_free(request: web.Request, extension: str, username: str) -> None:
    """One extension, one account: an agent logs in to the ACD on the extension their account
    holds, so two accounts on one phone would take each other's calls."""
    if not extension:
        return
    svc = services(request)
    holders = [a.username for a in await accounts.list_accounts(svc.db) if a.extension == extension]
    holder = next((h for h in holders if h != username), None) or svc.acd.states.holder_of(
        extension, besides=username
    )
    if holder is not None:
        raise Conflict(f"extension {extension} is {holder}'s already")


@endpoint("GET", "/api/admin/users", summary="All user accounts", roles=ADMIN, response=UserList, tag="admin")
async def list_users(request: web.Request, principal: Principal | None) -> UserList:
    svc = services(request)
    found = await accounts.list_accounts(svc.db)
    return UserList(users=[_user(a) for a in found if svc.demo or not a.demo])


@endpoint(
    "POST",
    "/api/admin/users",
    summary="Create a user account",
    roles=ADMIN,
    body=NewUserBody,
    response=UserView,
    tag="admin",
)
async def create_user(request: web.Request, principal: Principal | None, body: NewUserBody) -> UserView:
    me = require(principal)
    svc = services(request)
    await _check_extension_free(request, body.extension, body.username)
    try:
        await accounts.create_account(
            svc.db,
            accounts.NewAccount(
                username=body.username,
                password_hash=await svc.passwords.hash(body.password),
                roles=frozenset(body.roles),
                display_name=body.display_name,
                extension=body.extension,
                skills=dict(body.skills),
            ),
        )
    except accounts.AccountExists as exc:
        raise Conflict(str(exc)) from None
    await audit(request, me.username, "user-create", body.username, roles=sorted(body.roles))
    account = await accounts.get_account(svc.db, body.username)
    assert account is not None
    _update_acd(request, account)
    return _user(account)


@endpoint(
    "PATCH",
    "/api/admin/users/{username}",
    summary="Change a user's roles, skills, extension, password",
    roles=ADMIN,
    body=UserUpdateBody,
    response=UserView,
    tag="admin",
)
async def update_user(
    request: web.Request, principal: Principal | None, username: str, body: UserUpdateBody
) -> UserView:
    me = require(principal)
    svc = services(request)
    if username == me.username and (body.enabled is False or (body.roles and Role.ADMIN not in body.roles)):
        raise BadRequest("you cannot disable your own account or remove your own admin role")
    before = await accounts.get_account(svc.db, username)
    if body.extension is not None:
        await _check_extension_free(request, body.extension, username)
    try:
        account = await accounts.update_account(
            svc.db,
            username,
            roles=frozenset(body.roles) if body.roles is not None else None,
            display_name=body.display_name,
            extension=body.extension,
            skills=dict(body.skills) if body.skills is not None else None,
            enabled=body.enabled,
            password_hash=await svc.passwords.hash(body.password) if body.password else None,
            hot_desk=body.hot_desk,
        )
    except NotFound:
        raise NotFoundError(f"no user {username!r}") from None
    if body.roles is not None or body.enabled is not None or body.password:
        await svc.sessions.end_user(username)  # new rights take effect at the next login
    changed = sorted(k for k, v in body.model_dump().items() if v is not None and k != "password")
    await audit(request, me.username, "user-update", username, changed=changed, password=bool(body.password))
    was_agent = before is not None and before.enabled and Role.AGENT in before.roles
    if was_agent and not (account.enabled and Role.AGENT in account.roles):
        # A disabled agent (or one who lost the agent role) stops receiving calls at once.
        done = await svc.desktop.retire(username)
        if done:
            why = "disabled" if not account.enabled else "agent-role-removed"
            await audit(request, me.username, "force-logout", username, reason=why, when=done)
    _update_acd(request, account)
    return _user(account)


@endpoint(
    "GET",
    "/api/admin/campaigns",
    summary="Campaigns and their status",
    roles=CAMPAIGNS,
    response=CampaignList,
    tag="admin",
)
async def list_campaigns(request: web.Request, principal: Principal | None) -> CampaignList:
    found = await campaign_store.list_campaigns(services(request).db)
    return CampaignList(
        campaigns=[
            CampaignView(id=c.id, name=c.name, kind=c.kind, status=c.status, status_reason=c.status_reason)
            for c in found
        ]
    )


@endpoint(
    "PUT",
    "/api/admin/campaigns/{campaign_id}/status",
    summary="Switch a campaign online, pause or end it",
    roles=CAMPAIGNS,
    body=CampaignStatusBody,
    path_types={"campaign_id": "integer"},
    tag="admin",
)
async def set_campaign_status(
    request: web.Request, principal: Principal | None, campaign_id: int, body: CampaignStatusBody
) -> None:
    me = require(principal)
    svc = services(request)
    try:
        await svc.crm.set_campaign_status(campaign_id, body.status)
    except NotFound:
        raise NotFoundError(f"no campaign {campaign_id}") from None
    except CrmError as exc:
        raise Conflict(str(exc)) from None
    await audit(request, me.username, "campaign-status", str(campaign_id), status=str(body.status))


@endpoint(
    "GET",
    "/api/admin/audit",
    summary="The audit log, newest first",
    roles=ADMIN,
    response=AuditList,
    tag="admin",
)
async def audit_entries(request: web.Request, principal: Principal | None) -> AuditList:
    """Reading the log is itself logged, once per reader while they keep reading: a read right
    after their own read of the last AUDIT_READ_QUIET minutes adds nothing (the page reloads the
    log after every change, which flooded it with its own reads)."""
    me = require(principal)
    svc = services(request)
    found = await audit_log.entries(svc.db, limit=200)
    [last] = await audit_log.entries(svc.db, actor=me.username, limit=1) or [None]
    if last is None or last.action != "audit-read" or not _recent(last.at, svc.clock()):
        await audit(request, me.username, "audit-read")
    return AuditList(
        entries=[
            AuditLine(
                at=e.at, actor=e.actor, action=e.action, target=e.target, remote=e.remote, detail=e.detail
            )
            for e in found
        ]
    )


AUDIT_READ_QUIET = timedelta(minutes=10)


def _recent(at: datetime, now: datetime) -> bool:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return now - at < AUDIT_READ_QUIET


EXPORTS = {"customers": exporter.export_customers, "contacts": exporter.export_contacts}
# Datasets that carry customers' names and numbers: their exports are marked so in the audit log.
PERSONAL_DATA = frozenset({"customers", "contacts"})
EXPORT_CHUNK = 256 * 1024


@endpoint(
    "GET",
    "/api/export/{dataset}",
    summary="Export customers or contacts as CSV (UTF-8 with BOM)",
    roles=CAMPAIGNS,
    produces="text/csv",
    tag="admin",
)
async def export_dataset(
    request: web.Request, principal: Principal | None, dataset: str
) -> web.StreamResponse:
    me = require(principal)
    export = EXPORTS.get(dataset)
    if export is None:
        raise NotFoundError(f"no dataset {dataset!r}; choose one of {', '.join(EXPORTS)}")
    with tempfile.TemporaryDirectory(prefix="hotline-export-") as folder:
        path = Path(folder) / f"{dataset}.csv"
        rows = await export(services(request).db, path)
        await audit(
            request, me.username, "export", dataset, rows=rows, personal_data=dataset in PERSONAL_DATA
        )
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{dataset}.csv"',
            }
        )
        await response.prepare(request)
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, EXPORT_CHUNK):
                await response.write(chunk)
        finally:
            await asyncio.to_thread(handle.close)
        await response.write_eof()
    return response


ENDPOINTS: list[Endpoint] = [
    list_users,
    create_user,
    update_user,
    *QUEUE_ENDPOINTS,
    list_campaigns,
    set_campaign_status,
    audit_entries,
    export_dataset,
]
