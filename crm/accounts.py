"""User accounts: who may log in to the agent, supervisor and admin pages, with which roles.

Passwords are stored only as argon2 hashes; hashing and checking are the caller's job (the web
layer runs them off the event loop), so this module never sees a clear password. A demo account
(``demo`` set) can only log in while the server runs in demo mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Database, utcnow
from crm.errors import CrmError, NotFound
from crm.kinds import Role
from crm.models import Base, UtcDateTime


class AccountExists(CrmError):
    error_id = "account_exists"

    def __init__(self, username: str) -> None:
        super().__init__(f"an account named {username!r} exists already")
        self.username = username


class AccountRow(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    extension: Mapped[str] = mapped_column(String(20), default="")
    skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # May log in to the ACD on another free desk's extension, confirmed at its phone.
    hot_desk: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    username: str
    display_name: str
    roles: frozenset[Role]
    extension: str
    skills: dict[str, int]
    enabled: bool
    demo: bool
    password_hash: str  # never shown; the web layer checks it
    hot_desk: bool = False

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))


@dataclass(frozen=True, slots=True)
class NewAccount:
    username: str
    password_hash: str
    roles: frozenset[Role]
    display_name: str = ""
    extension: str = ""
    skills: dict[str, int] | None = None
    demo: bool = False


def _account(row: AccountRow) -> Account:
    return Account(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        roles=frozenset(Role(r) for r in row.roles),
        extension=row.extension,
        skills=dict(row.skills or {}),
        enabled=row.enabled,
        demo=row.demo,
        password_hash=row.password_hash,
        hot_desk=row.hot_desk,
    )


async def create_account(db: Database, new: NewAccount, *, now: datetime | None = None) -> int:
    now = now or utcnow()
    try:
        async with db.write() as session:
            row = AccountRow(
                username=new.username,
                display_name=new.display_name,
                password_hash=new.password_hash,
                roles=sorted(r.value for r in new.roles),
                extension=new.extension,
                skills=dict(new.skills or {}),
                enabled=True,
                demo=new.demo,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            await session.flush()
            return row.id
    except IntegrityError:
        raise AccountExists(new.username) from None


async def get_account(db: Database, username: str) -> Account | None:
    async with db.read() as session:
        row = await session.scalar(select(AccountRow).where(AccountRow.username == username))
        return _account(row) if row is not None else None


async def extension_holder(db: Database, extension: str, *, besides: str = "") -> str | None:
    """The account, other than ``besides``, that holds ``extension``: one phone is one account's,
    or two agents would take each other's calls."""
    if not extension:
        return None
    async with db.read() as session:
        return await session.scalar(
            select(AccountRow.username)
            .where(AccountRow.extension == extension, AccountRow.username != besides)
            .order_by(AccountRow.username)
            .limit(1)
        )


async def list_accounts(db: Database) -> tuple[Account, ...]:
    async with db.read() as session:
        rows = await session.scalars(select(AccountRow).order_by(AccountRow.username))
        return tuple(_account(row) for row in rows)


async def update_account(
    db: Database,
    username: str,
    *,
    roles: frozenset[Role] | None = None,
    display_name: str | None = None,
    extension: str | None = None,
    skills: dict[str, int] | None = None,
    enabled: bool | None = None,
    password_hash: str | None = None,
    hot_desk: bool | None = None,
    now: datetime | None = None,
) -> Account:
    async with db.write() as session:
        row = await session.scalar(select(AccountRow).where(AccountRow.username == username))
        if row is None:
            raise NotFound("account", username)
        if roles is not None:
            row.roles = sorted(r.value for r in roles)
        if display_name is not None:
            row.display_name = display_name
        if extension is not None:
            row.extension = extension
        if skills is not None:
            row.skills = dict(skills)
        if enabled is not None:
            row.enabled = enabled
        if password_hash is not None:
            row.password_hash = password_hash
        if hot_desk is not None:
            row.hot_desk = hot_desk
        row.updated_at = now or utcnow()
        await session.flush()
        return _account(row)
