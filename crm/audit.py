"""The audit log: who did what, when, from where (logins, listens, threshold changes, exports…).

Entries are only ever added. ``detail`` holds the few facts a reviewer needs, never a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Database, utcnow
from crm.models import Base, UtcDateTime


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200), default="")
    remote: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    remote: str
    detail: dict[str, Any]


async def record(
    db: Database,
    actor: str,
    action: str,
    *,
    target: str = "",
    remote: str = "",
    detail: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> int:
    async with db.write() as session:
        row = AuditRow(
            at=now or utcnow(),
            actor=actor,
            action=action,
            target=target,
            remote=remote,
            detail=dict(detail or {}),
        )
        session.add(row)
        await session.flush()
        return row.id


async def entries(
    db: Database, *, actor: str | None = None, action: str | None = None, limit: int = 200
) -> tuple[AuditEntry, ...]:
    """The newest entries first."""
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if actor is not None:
        query = query.where(AuditRow.actor == actor)
    if action is not None:
        query = query.where(AuditRow.action == action)
    async with db.read() as session:
        rows = await session.scalars(query)
        return tuple(
            AuditEntry(r.id, r.at, r.actor, r.action, r.target, r.remote, dict(r.detail or {})) for r in rows
        )
