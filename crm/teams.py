"""Teams tickets are dispatched to (班组): a service desk or a field-service crew, with members.

A team is named by a short slug (``field-east``) that tickets and their steps carry; its members
are account usernames, its leader is who the escalations are for, its e-mail where they are sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.db import Database
from crm.errors import CrmError, NotFound
from crm.kinds import TeamKind
from crm.models import Team

TEAM_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


class InvalidTeam(CrmError):
    error_id = "invalid_team"


class TeamExists(CrmError):
    error_id = "team_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"a team named {name!r} exists already")
        self.name = name


@dataclass(frozen=True, slots=True)
class TeamView:
    name: str
    title: str
    kind: TeamKind
    members: tuple[str, ...]
    leader: str
    email: str


def _view(row: Team) -> TeamView:
    return TeamView(row.name, row.title, TeamKind(row.kind), tuple(row.members or ()), row.leader, row.email)


def _check(name: str, members: Sequence[str], email: str) -> None:
    if not TEAM_NAME.fullmatch(name):
        raise InvalidTeam(f"team name {name!r}: lower-case letters, digits, '-' and '_', up to 64")
    if email and not re.fullmatch(r"[^@\s]{1,64}@[^@\s]{1,189}", email):
        raise InvalidTeam(f"{email!r} is not an e-mail address")
    if len(members) > 500:
        raise InvalidTeam("a team has 500 members at most")


async def save_team(
    db: Database,
    name: str,
    *,
    title: str = "",
    kind: TeamKind = TeamKind.DESK,
    members: Sequence[str] = (),
    leader: str = "",
    email: str = "",
    create: bool = False,
) -> TeamView:
    """Create (``create``) or replace a team; members keep their order, without repeats."""
    _check(name, members, email)
    unique = list(dict.fromkeys(m for m in members if m))
    try:
        async with db.write() as session:
            row = await session.scalar(select(Team).where(Team.name == name))
            if row is None and not create:
                raise NotFound("team", name)
            if row is not None and create:
                raise TeamExists(name)
            if row is None:
                row = Team(name=name)
                session.add(row)
            row.title, row.kind, row.members, row.leader, row.email = title, kind.value, unique, leader, email
            await session.flush()
            return _view(row)
    except IntegrityError:
        raise TeamExists(name) from None


async def delete_team(db: Database, name: str) -> None:
    async with db.write() as session:
        row = await session.scalar(select(Team).where(Team.name == name))
        if row is None:
            raise NotFound("team", name)
        await session.delete(row)


async def list_teams(db: Database) -> tuple[TeamView, ...]:
    async with db.read() as session:
        rows = await session.scalars(select(Team).order_by(Team.name))
        return tuple(_view(r) for r in rows)


async def get_team(db: Database, name: str) -> TeamView | None:
    async with db.read() as session:
        row = await session.scalar(select(Team).where(Team.name == name))
        return None if row is None else _view(row)


async def teams_of(db: Database, username: str) -> tuple[str, ...]:
    """The names of the teams ``username`` is a member or the leader of."""
    return tuple(t.name for t in await list_teams(db) if username in t.members or t.leader == username)
