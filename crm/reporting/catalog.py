"""What analysts may put in a custom report: the sources, their fields, and what each field may do.

A custom report is data (docs/reports-custom.md); every name in it must be found here, and the
query is built from the SQLAlchemy expressions below — never from text the analyst wrote.

Personal data (names, phone numbers, addresses, e-mails) is not a field: reports are aggregates,
and exporting customers' details goes through the CRM exporter with its own checks.

Time: each source has one time field. Facts (calls, agent states) carry the center's local
``day`` already; contacts, offers, tickets and answers keep UTC datetimes, converted to local
time in SQL by :mod:`crm.reporting.localtime` (exact for zones with daylight saving too).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func
from sqlalchemy.sql.expression import ColumnElement, FromClause

from crm.models import Answer, Campaign, Contact, Customer, OfferPresentation, Question, Ticket
from crm.reporting.results import ValueType
from crm.reporting.tables import NO_CAMPAIGN, AgentIntervalRow, QueueLegRow


class Aggregation(enum.StrEnum):
    COUNT = "count"  # rows (no field)
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    COUNT_DISTINCT = "count_distinct"
    RATE = "rate"  # share of rows matching the measure's ``where`` (no field)


class Grain(enum.StrEnum):
    HOUR = "hour"  # 'YYYY-MM-DD HH:00'
    DAY = "day"  # 'YYYY-MM-DD'
    WEEK = "week"  # the Monday starting the ISO week, 'YYYY-MM-DD'
    MONTH = "month"  # 'YYYY-MM'


GRAIN_TYPES = {
    Grain.HOUR: ValueType.TEXT,
    Grain.DAY: ValueType.DATE,
    Grain.WEEK: ValueType.DATE,
    Grain.MONTH: ValueType.TEXT,
}

NUMERIC_AGGREGATIONS = frozenset(
    {Aggregation.SUM, Aggregation.AVG, Aggregation.MIN, Aggregation.MAX, Aggregation.COUNT_DISTINCT}
)
TEXT_AGGREGATIONS = frozenset({Aggregation.COUNT_DISTINCT})
_NONE: frozenset[Aggregation] = frozenset()


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a source. ``flag`` fields are yes/no, read as 1/0 and filtered with true/false."""

    name: str
    column: ColumnElement[Any]
    type: ValueType
    dimension: bool = True
    filter: bool = True
    aggregations: frozenset[Aggregation] = frozenset()
    flag: bool = False

    @property
    def measure(self) -> bool:
        return bool(self.aggregations)


@dataclass(frozen=True, slots=True)
class TimeField:
    """How a source is placed in time. ``day`` is a local 'YYYY-MM-DD' column (facts), ``slot`` its
    minutes since local midnight; ``utc`` a UTC datetime column converted to local time in SQL."""

    name: str
    day: ColumnElement[Any] | None = None
    slot: ColumnElement[Any] | None = None
    utc: ColumnElement[Any] | None = None
    grains: tuple[Grain, ...] = (Grain.HOUR, Grain.DAY, Grain.WEEK, Grain.MONTH)


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    from_: FromClause
    time: TimeField
    fields: Mapping[str, Field] = field(default_factory=dict)

    @property
    def time_field(self) -> str:
        return self.time.name


def _text(name: str, column: Any, *, dimension: bool = True, distinct: bool = False) -> Field:
    return Field(
        name,
        column,
        ValueType.TEXT,
        dimension=dimension,
        aggregations=TEXT_AGGREGATIONS if distinct else _NONE,
    )


def _number(name: str, column: Any, kind: ValueType, *, dimension: bool = False) -> Field:
    return Field(name, column, kind, dimension=dimension, aggregations=NUMERIC_AGGREGATIONS)


def _flag(name: str, column: Any) -> Field:
    # Summing a flag counts its rows; avg is the share of them.
    return Field(
        name,
        cast(column, Integer),
        ValueType.INT,
        aggregations=frozenset({Aggregation.SUM, Aggregation.AVG}),
        flag=True,
    )


def _id(name: str, column: Any, *, dimension: bool = False) -> Field:
    """An identifier: counted distinct (how many customers), filtered by value, never summed."""
    return Field(name, column, ValueType.INT, dimension=dimension, aggregations=TEXT_AGGREGATIONS)


def _fields(*fields: Field) -> dict[str, Field]:
    return {f.name: f for f in fields}


_legs = QueueLegRow.__table__
_customers = Customer.__table__
_calls_from = _legs.outerjoin(_customers, _customers.c.id == _legs.c.customer_id)

CALLS = Source(
    "calls",
    _calls_from,
    TimeField("day", day=_legs.c.day, slot=_legs.c.slot),
    _fields(
        _text("queue", _legs.c.queue),
        _text("agent", _legs.c.agent),
        _text("skill", _legs.c.skill),
        _text("outcome", _legs.c.outcome),
        _text("segment", func.coalesce(_customers.c.segment, "")),
        _number("priority", _legs.c.priority, ValueType.INT, dimension=True),
        _number("wait_s", _legs.c.wait_s, ValueType.SECONDS),
        _number("ring_s", _legs.c.ring_s, ValueType.SECONDS),
        _number("talk_s", _legs.c.talk_s, ValueType.SECONDS),
        _number("hold_s", _legs.c.hold_s, ValueType.SECONDS),
        _number("wrap_s", _legs.c.wrap_s, ValueType.SECONDS),
        _number("position", _legs.c.position, ValueType.INT, dimension=True),
        _number("original_position", _legs.c.original_position, ValueType.INT, dimension=True),
        _flag("within_sl", _legs.c.within_sl),
        _flag("transferred", _legs.c.transferred),
        _text("call_id", _legs.c.call_id, dimension=False, distinct=True),
        _id("customer_id", _legs.c.customer_id),
    ),
)

_contacts = Contact.__table__
CONTACTS = Source(
    "contacts",
    _contacts.outerjoin(_customers, _customers.c.id == _contacts.c.customer_id),
    TimeField("at", utc=_contacts.c.at),
    _fields(
        # Expressions match contact_day_counts' key (no agent is '', no campaign is NO_CAMPAIGN),
        # so a report reads the same figures from the summary or from the contacts.
        _text("queue", _contacts.c.queue),
        _text("channel", _contacts.c.channel),
        _text("purpose", _contacts.c.purpose),
        _text("agent", func.coalesce(_contacts.c.agent, "")),
        _id("campaign_id", func.coalesce(_contacts.c.campaign_id, NO_CAMPAIGN), dimension=True),
        _text("disposition", _contacts.c.disposition),
        _text("segment", func.coalesce(_customers.c.segment, "")),
        _id("customer_id", _contacts.c.customer_id),
    ),
)

_offers = OfferPresentation.__table__
_campaigns = Campaign.__table__
OFFERS = Source(
    "offers",
    _offers.join(_campaigns, _campaigns.c.id == _offers.c.campaign_id).join(
        _customers, _customers.c.id == _offers.c.customer_id
    ),
    TimeField("presented_at", utc=_offers.c.presented_at),
    _fields(
        _id("campaign_id", _offers.c.campaign_id, dimension=True),
        _text("campaign", _campaigns.c.name),
        _text("campaign_kind", _campaigns.c.kind),
        _text("agent", func.coalesce(_offers.c.agent, "")),
        _text("channel", _offers.c.channel),
        _text("outcome", func.coalesce(_offers.c.outcome, "")),  # '' until an outcome is recorded
        _text("segment", _customers.c.segment),
        _number("vip_level", _customers.c.vip_level, ValueType.INT, dimension=True),
        _id("customer_id", _offers.c.customer_id),
    ),
)

_tickets = Ticket.__table__
TICKETS = Source(
    "tickets",
    _tickets.join(_customers, _customers.c.id == _tickets.c.customer_id),
    TimeField("opened_at", utc=_tickets.c.opened_at),
    _fields(
        _text("kind", _tickets.c.kind),
        _text("status", _tickets.c.status),
        _text("assignee", func.coalesce(_tickets.c.assignee, "")),
        _text("opened_by", _tickets.c.opened_by),
        _text("segment", _customers.c.segment),
        _number("escalation_level", _tickets.c.escalation_level, ValueType.INT, dimension=True),
        _number("satisfaction", _tickets.c.satisfaction, ValueType.INT, dimension=True),
        _flag("closed", _tickets.c.closed_at.is_not(None)),
        _flag(
            "closed_on_time",
            case(
                (and_(_tickets.c.closed_at.is_not(None), _tickets.c.closed_at <= _tickets.c.due_at), True),
                else_=False,
            ),
        ),
        _id("customer_id", _tickets.c.customer_id),
    ),
)

_intervals = AgentIntervalRow.__table__
AGENT_STATES = Source(
    "agent_states",
    _intervals,
    TimeField("day", day=_intervals.c.day, utc=_intervals.c.started_at),
    _fields(
        _text("agent", _intervals.c.agent),
        _text("state", _intervals.c.state),
        _text("reason", _intervals.c.reason),
        _text("queue", _intervals.c.queue),
        _number("seconds", _intervals.c.seconds, ValueType.SECONDS),
    ),
)

_answers = Answer.__table__
_questions = Question.__table__
ANSWERS = Source(
    "answers",
    _answers.join(_questions, _questions.c.id == _answers.c.question_id)
    .join(_campaigns, _campaigns.c.id == _questions.c.campaign_id)
    .join(_customers, _customers.c.id == _answers.c.customer_id),
    TimeField("answered_at", utc=_answers.c.answered_at),
    _fields(
        _id("campaign_id", _questions.c.campaign_id, dimension=True),
        _text("campaign", _campaigns.c.name),
        _id("question_id", _answers.c.question_id, dimension=True),
        _number("question_position", _questions.c.position, ValueType.INT, dimension=True),
        _text("question_kind", _questions.c.kind),
        # The chosen option of a single-choice question, or a free-text answer.
        _text("answer", func.coalesce(_answers.c.value_text, "")),
        _number("score", _answers.c.value_number, ValueType.INT, dimension=True),
        _text("segment", _customers.c.segment),
        _id("presentation_id", _answers.c.presentation_id),
        _id("customer_id", _answers.c.customer_id),
    ),
)

SOURCES: Mapping[str, Source] = {s.name: s for s in (CALLS, CONTACTS, OFFERS, TICKETS, AGENT_STATES, ANSWERS)}
