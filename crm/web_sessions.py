"""Browser sessions of the agent, supervisor and admin pages, stored so that a restart of
Hotline logs nobody out (docs/sessions.md).

A row is keyed by a hash of the session's id: the cookie carries the id itself (signed), the
database never does, so a copy of this table cannot be replayed as cookies. Who the user is,
and their roles, are read from their account whenever a session is loaded, never copied here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, delete, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Database
from crm.models import Base, UtcDateTime


class WebSessionRow(Base):
    __tablename__ = "web_sessions"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)


@dataclass(frozen=True, slots=True)
class StoredSession:
    key: str
    username: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime


def _stored(row: WebSessionRow) -> StoredSession:
    return StoredSession(row.key, row.username, row.csrf_token, row.created_at, row.last_seen_at)


async def add_session(db: Database, session: StoredSession) -> None:
    async with db.write() as s:
        s.add(
            WebSessionRow(
                key=session.key,
                username=session.username,
                csrf_token=session.csrf_token,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
            )
        )


async def get_session(db: Database, key: str) -> StoredSession | None:
    async with db.read() as s:
        row = await s.get(WebSessionRow, key)
        return _stored(row) if row is not None else None


async def sessions_of(db: Database, username: str) -> list[StoredSession]:
    """A user's sessions, the oldest first."""
    async with db.read() as s:
        rows = await s.scalars(
            select(WebSessionRow)
            .where(WebSessionRow.username == username)
            .order_by(WebSessionRow.created_at, WebSessionRow.key)
        )
        return [_stored(row) for row in rows]


async def touch_session(db: Database, key: str, at: datetime) -> None:
    async with db.write() as s:
        await s.execute(update(WebSessionRow).where(WebSessionRow.key == key).values(last_seen_at=at))


async def delete_sessions(db: Database, keys: Collection[str]) -> None:
    if not keys:
        return
    async with db.write() as s:
        await s.execute(delete(WebSessionRow).where(WebSessionRow.key.in_(list(keys))))


async def stale_sessions(db: Database, *, seen_before: datetime, created_before: datetime) -> list[str]:
    """Keys of the sessions unused since ``seen_before`` or made before ``created_before``."""
    async with db.read() as s:
        keys = await s.scalars(
            select(WebSessionRow.key).where(
                or_(WebSessionRow.last_seen_at < seen_before, WebSessionRow.created_at < created_before)
            )
        )
        return list(keys)
