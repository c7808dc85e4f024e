"""Team routes: the teams tickets are dispatched to, kept by supervisors and administrators."""

from __future__ import annotations

from aiohttp import web

from agent_api.context import audit, require, services
from agent_api.crm_errors import crm_errors
from agent_api.errors import InvalidBody
from agent_api.openapi import endpoint
from agent_api.security import Principal
from agent_api.tickets.access import SUPERVISORS, WORKERS
from agent_api.tickets.schemas import TeamIn, TeamOut, Teams
from crm import teams
from crm.teams import TEAM_NAME


@endpoint(
    "GET", "/api/teams", summary="The teams tickets go to", roles=WORKERS, response=Teams, tag="tickets"
)
async def list_teams(request: web.Request, principal: Principal | None) -> Teams:
    found = await teams.list_teams(services(request).db)
    return Teams(teams=[TeamOut.model_validate(t, from_attributes=True) for t in found])


@endpoint(
    "PUT",
    "/api/teams/{name}",
    summary="Create or replace a team: title, kind (desk or field), members, leader, e-mail",
    roles=SUPERVISORS,
    body=TeamIn,
    response=TeamOut,
    tag="tickets",
)
async def save_team(request: web.Request, principal: Principal | None, name: str, body: TeamIn) -> TeamOut:
    me = require(principal)
    if not TEAM_NAME.fullmatch(name):
        raise InvalidBody("a team name is lower-case letters, digits, '-' and '_', up to 64")
    db = services(request).db
    create = await teams.get_team(db, name) is None
    with crm_errors():
        saved = await teams.save_team(
            db,
            name,
            title=body.title,
            kind=body.kind,
            members=body.members,
            leader=body.leader,
            email=body.email,
            create=create,
        )
    await audit(request, me.username, "team-save", name, members=len(saved.members))
    return TeamOut.model_validate(saved, from_attributes=True)


@endpoint(
    "DELETE",
    "/api/teams/{name}",
    summary="Delete a team (its tickets keep its name in their history)",
    roles=SUPERVISORS,
    tag="tickets",
)
async def delete_team(request: web.Request, principal: Principal | None, name: str) -> None:
    me = require(principal)
    with crm_errors():
        await teams.delete_team(services(request).db, name)
    await audit(request, me.username, "team-delete", name)
