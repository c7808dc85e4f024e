"""What the call center's live work keeps across a restart of ``hotline serve``.

Three facts that live in acd/ and agent_api/ while Hotline runs, kept here because crm/ owns
persistent data: each marketing group's control threshold and load conditions (the supervisor's
setting), the callbacks waiting to be made, and the wrap-ups agents have not saved yet. The
owners write through and read them back once at start (acd.store, agent_api.desktop); this module
stores plain values and knows nothing of the ACD's types. docs/restart.md says what else is
rebuilt, and from where.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Database, utcnow
from crm.kinds import Channel
from crm.models import Base, UtcDateTime
from crm.reporting.tables import QueueLegRow


class MarketingPolicyRow(Base):
    __tablename__ = "marketing_policies"

    group_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CallbackRow(Base):
    __tablename__ = "callback_requests"

    callback_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)  # order of request: the tie-break among equals
    number: Mapped[str] = mapped_column(String(40))
    queue: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    skill: Mapped[str] = mapped_column(String(64), default="")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    customer_id: Mapped[str] = mapped_column(String(64), default="")
    language: Mapped[str] = mapped_column(String(16), default="")
    call_id: Mapped[str] = mapped_column(String(128), default="")
    source: Mapped[str] = mapped_column(String(16), default="")
    dialed: Mapped[str] = mapped_column(String(40), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PendingWrapupRow(Base):
    __tablename__ = "pending_wrapups"

    agent: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(Integer)
    caller: Mapped[str] = mapped_column(String(64), default="")
    offers: Mapped[list[int]] = mapped_column(JSON, default=list)
    marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what the agent was shown
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


@dataclass(frozen=True, slots=True)
class SavedCallback:
    """A callback not yet made: the request, the attempts so far, and, after a failed attempt,
    when it waits again."""

    callback_id: str
    position: int
    number: str
    queue: str
    requested_at: datetime
    skill: str = ""
    priority: int = 0
    customer_id: str = ""
    language: str = ""
    call_id: str = ""
    source: str = ""
    dialed: str = ""
    attempts: int = 0
    retry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PendingWrapup:
    """A call an agent has still to wrap up, with what their screen showed for it."""

    agent: str
    call_id: str
    customer_id: int | None
    caller: str
    offers: tuple[int, ...]
    marketing: bool
    channel: Channel
    ended_at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RecentLeg:
    """One visit of a call to a queue, as the call log stored it (``queue_legs``): what the
    wallboard's figures of the last half hour are counted again from after a restart."""

    call_id: str
    queue: str
    entered_at: datetime
    outcome: str  # crm.reporting.facts.LegOutcome
    wait_s: float
    talk_s: float
    wrap_s: float


_CALLBACK_FIELDS = tuple(f for f in SavedCallback.__dataclass_fields__)


class RestartState:
    """The store both owners use through their own small ports (acd.store.AcdStore,
    agent_api.ports.WrapupStore)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- marketing thresholds ------------------------------------------------------------------

    async def marketing_policies(self) -> dict[str, dict[str, Any]]:
        async with self._db.read() as session:
            rows = await session.scalars(select(MarketingPolicyRow).order_by(MarketingPolicyRow.group_name))
            return {row.group_name: dict(row.settings) for row in rows}

    async def save_marketing_policy(self, group: str, settings: Mapping[str, Any]) -> None:
        async with self._db.write() as session:
            await session.merge(
                MarketingPolicyRow(group_name=group, settings=dict(settings), updated_at=utcnow())
            )

    # --- the wallboard's last half hour --------------------------------------------------------

    async def recent_queue_legs(self, since: datetime) -> list[RecentLeg]:
        """The queue legs of calls that entered a queue at ``since`` or later, oldest first."""
        async with self._db.read() as session:
            rows = await session.scalars(
                select(QueueLegRow).where(QueueLegRow.entered_at >= since).order_by(QueueLegRow.entered_at)
            )
            return [
                RecentLeg(r.call_id, r.queue, r.entered_at, r.outcome, r.wait_s, r.talk_s, r.wrap_s)
                for r in rows
            ]

    # --- callbacks -----------------------------------------------------------------------------

    async def waiting_callbacks(self) -> list[SavedCallback]:
        """Every callback not yet made, in the order they were requested."""
        async with self._db.read() as session:
            rows = await session.scalars(select(CallbackRow).order_by(CallbackRow.position))
            return [SavedCallback(**{name: getattr(row, name) for name in _CALLBACK_FIELDS}) for row in rows]

    async def save_callbacks(self, saved: Sequence[SavedCallback], removed: Sequence[str]) -> None:
        """Write the callbacks that changed and delete those made or given up, in one transaction."""
        async with self._db.write() as session:
            if removed:
                await session.execute(delete(CallbackRow).where(CallbackRow.callback_id.in_(list(removed))))
            for callback in saved:
                await session.merge(
                    CallbackRow(**{name: getattr(callback, name) for name in _CALLBACK_FIELDS})
                )

    # --- wrap-ups ------------------------------------------------------------------------------

    async def pending_wrapups(self) -> list[PendingWrapup]:
        """Every wrap-up not yet saved nor discarded, oldest first."""
        async with self._db.read() as session:
            rows = await session.scalars(select(PendingWrapupRow).order_by(PendingWrapupRow.ended_at))
            return [
                PendingWrapup(
                    agent=row.agent,
                    call_id=row.call_id,
                    customer_id=row.customer_id,
                    caller=row.caller,
                    offers=tuple(row.offers or ()),
                    marketing=row.marketing,
                    channel=Channel(row.channel),
                    ended_at=row.ended_at,
                    payload=dict(row.payload or {}),
                )
                for row in rows
            ]

    async def keep_wrapup(self, wrapup: PendingWrapup) -> None:
        async with self._db.write() as session:
            await session.merge(
                PendingWrapupRow(
                    agent=wrapup.agent,
                    call_id=wrapup.call_id,
                    customer_id=wrapup.customer_id,
                    caller=wrapup.caller,
                    offers=list(wrapup.offers),
                    marketing=wrapup.marketing,
                    channel=wrapup.channel.value,
                    payload=dict(wrapup.payload),
                    ended_at=wrapup.ended_at,
                )
            )

    async def drop_wrapup(self, agent: str, call_id: str) -> None:
        """The wrap-up was saved or discarded (or forgotten as one of too many)."""
        async with self._db.write() as session:
            await session.execute(
                delete(PendingWrapupRow).where(
                    PendingWrapupRow.agent == agent, PendingWrapupRow.call_id == call_id
                )
            )
