"""The tables reports read: call facts as they happen, and summaries kept up to date with them.

Facts are written once, when what they describe is over (a queue visit ended, an agent left a
state, the IVR let the caller go); nothing rewrites them. Every fact carries the center's local
``day`` ('YYYY-MM-DD') and ``slot`` (minutes since local midnight, a multiple of 15) of its
start, so reports group by local time without converting on every row.

The summaries (``queue_slot_stats``, ``contact_day_counts``) are updated in the same transaction
as the fact or contact they count: additive columns only (counts, sums, maxima), so any coarser
grain (hour, day, week, month, several queues) is a SUM over them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.models import Base, UtcDateTime

NO_CAMPAIGN = 0  # contact_day_counts.campaign_id for contacts outside any campaign


class QueueLegRow(Base):
    """One visit of a call to one queue: entered, then answered, abandoned or sent elsewhere."""

    __tablename__ = "queue_legs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    queue: Mapped[str] = mapped_column(String(64))
    day: Mapped[str] = mapped_column(String(10))
    slot: Mapped[int] = mapped_column(Integer)
    entered_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime)
    caller: Mapped[str] = mapped_column(String(32), default="")
    customer_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))  # crm.reporting.facts.LegOutcome
    agent: Mapped[str] = mapped_column(String(64), default="", index=True)
    skill: Mapped[str] = mapped_column(String(64), default="")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    wait_s: Mapped[float] = mapped_column(Float, default=0.0)  # entered → answered / left
    ring_s: Mapped[float] = mapped_column(Float, default=0.0)
    talk_s: Mapped[float] = mapped_column(Float, default=0.0)
    hold_s: Mapped[float] = mapped_column(Float, default=0.0)  # the caller on hold by the agent
    wrap_s: Mapped[float] = mapped_column(Float, default=0.0)
    position: Mapped[int] = mapped_column(Integer, default=0)  # place in line when it left
    original_position: Mapped[int] = mapped_column(Integer, default=0)
    within_sl: Mapped[bool] = mapped_column(Boolean, default=False)  # answered within the SL target
    transferred: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_queue_legs_day_queue", "day", "queue"),)


class IvrSessionRow(Base):
    """One caller's way through the IVR menus, written when the IVR lets the caller go."""

    __tablename__ = "ivr_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    day: Mapped[str] = mapped_column(String(10), index=True)
    slot: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime)
    caller: Mapped[str] = mapped_column(String(32), default="")
    dialed: Mapped[str] = mapped_column(String(32), default="")
    customer_id: Mapped[int | None] = mapped_column(Integer)
    nodes: Mapped[list[str]] = mapped_column(JSON, default=list)  # node names in order
    path: Mapped[str] = mapped_column(String(500), default="")  # the nodes joined by " > "
    exit_node: Mapped[str] = mapped_column(String(64), default="")  # the last node visited
    outcome: Mapped[str] = mapped_column(String(20))  # ivr.events.IvrOutcome's values
    self_service: Mapped[bool] = mapped_column(Boolean, default=False)  # served without an agent
    queue: Mapped[str] = mapped_column(String(64), default="")
    language: Mapped[str] = mapped_column(String(10), default="")


class AgentIntervalRow(Base):
    """A stretch of time one agent spent in one state (available, on-call, wrap-up, paused, …)."""

    __tablename__ = "agent_intervals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))  # acd's AgentState values
    reason: Mapped[str] = mapped_column(String(64), default="")  # the pause reason
    day: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seconds: Mapped[float] = mapped_column(Float)
    queue: Mapped[str] = mapped_column(String(64), default="")
    call_id: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (Index("ix_agent_intervals_day_agent", "day", "agent"),)


class OfferHoldbackRow(Base):
    """An offer a customer could have been shown but was not: the gate or a contact rule held it."""

    __tablename__ = "offer_holdbacks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    day: Mapped[str] = mapped_column(String(10), index=True)
    call_id: Mapped[str] = mapped_column(String(64), default="")
    agent: Mapped[str] = mapped_column(String(64), default="")
    customer_id: Mapped[int | None] = mapped_column(Integer)
    campaign_id: Mapped[int | None] = mapped_column(Integer)  # None: the gate held every offer
    source: Mapped[str] = mapped_column(String(10))  # "gate" or "rule"
    cause: Mapped[str] = mapped_column(String(40))  # e.g. threshold-reached, frequency-cap
    detail: Mapped[str] = mapped_column(Text, default="")


class QueueSlotStatsRow(Base):
    """Per queue and 15-minute slot: the figures of the queue legs that entered in it."""

    __tablename__ = "queue_slot_stats"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    offered: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    abandoned: Mapped[int] = mapped_column(Integer, default=0)
    other: Mapped[int] = mapped_column(Integer, default=0)  # overflowed, callback, timeout, …
    answered_within_sl: Mapped[int] = mapped_column(Integer, default=0)
    wait_answered_s: Mapped[float] = mapped_column(Float, default=0.0)
    wait_abandoned_s: Mapped[float] = mapped_column(Float, default=0.0)
    talk_s: Mapped[float] = mapped_column(Float, default=0.0)
    hold_s: Mapped[float] = mapped_column(Float, default=0.0)
    wrap_s: Mapped[float] = mapped_column(Float, default=0.0)
    max_wait_s: Mapped[float] = mapped_column(Float, default=0.0)
    transferred: Mapped[int] = mapped_column(Integer, default=0)


class ContactDayCountRow(Base):
    """Contacts per local day and every dimension a contact report groups by; kept with each insert."""

    __tablename__ = "contact_day_counts"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20), primary_key=True)
    agent: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # NO_CAMPAIGN for none
    disposition: Mapped[str] = mapped_column(String(40), primary_key=True)
    contacts: Mapped[int] = mapped_column(Integer, default=0)
