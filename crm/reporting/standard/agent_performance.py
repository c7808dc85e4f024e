"""Agent performance and assessment (考核报表): one row per agent over the whole range.

Each figure comes from the table that owns it, grouped by agent in the database: calls and
talk / hold / wrap-up from queue_legs, logged-in and pause time from agent_intervals, QA from
recordings, offers and questionnaires from offer_presentations and answers. Formulas are in
docs/reports-standard.md.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import tzinfo
from typing import Any

from sqlalchemy import and_, func, select

from crm.db import Database
from crm.kinds import CampaignKind, OfferOutcome
from crm.models import Answer, Campaign, OfferPresentation, Question
from crm.recording_tables import RecordingRow
from crm.reporting.results import ChartKind, ChartSpec, ReportResult, ResultColumn, ValueType
from crm.reporting.standard.base import ANSWERED, count_if, dimension, measure, ratio
from crm.reporting.standard.marketing_detail import presented_only
from crm.reporting.standard.params import ReportParams
from crm.reporting.tables import AgentIntervalRow as I
from crm.reporting.tables import QueueLegRow as L

NAME = "agent_performance"
TITLE_KEY = "report.title.agent_performance"

NOTE_QUEUE_FILTER = "report.note.agent_queue_filter"
LOGGED_OUT = "logged-out"
PAUSED = "paused"
# acd.models.PauseReason, in the order the columns show them; a site's own reasons follow.
KNOWN_PAUSE_REASONS = ("break", "lunch", "training", "meeting", "missed", "marketing", "unreachable")


async def run(db: Database, params: ReportParams, *, tz: tzinfo) -> ReportResult:
    start, end = params.utc_bounds(tz)
    async with db.read() as session:
        calls = (await session.execute(_calls(params))).all()
        states = (await session.execute(_states(params))).all()
        qa = (await session.execute(_qa(params, start, end))).all()
        offers = (await session.execute(_offers(params, start, end))).all()
        surveys = (await session.execute(_questionnaires(params, start, end))).all()

    figures: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in calls:
        figures[row.agent].update(handled=row.handled, talk=row.talk, hold=row.hold, wrap=row.wrap)
    pauses: dict[str, dict[str, float]] = defaultdict(dict)
    for row in states:
        agent = figures[row.agent]
        agent["logged_in"] = agent.get("logged_in", 0.0) + row.seconds
        if row.state == PAUSED:
            agent["paused"] = agent.get("paused", 0.0) + row.seconds
            reasons = pauses[row.agent]
            reasons[row.reason] = reasons.get(row.reason, 0.0) + row.seconds
    for row in qa:
        figures[row.agent].update(qa_sum=row.qa_sum, qa_count=row.qa_count)
    for row in offers:
        figures[row.agent].update(presented=row.presented, accepted=row.accepted)
    for row in surveys:
        figures[row.agent]["questionnaires"] = row.completed

    reasons = _reason_order({r for per_agent in pauses.values() for r in per_agent})
    rows = []
    for agent in sorted(figures):
        f = figures[agent]
        rows.append(_row(agent, f, [pauses[agent].get(r, 0.0) for r in reasons]))
    overall: dict[str, Any] = defaultdict(float)
    for f in figures.values():
        for key, value in f.items():
            overall[key] += value
    totals = _row(None, overall, [sum(p.get(r, 0.0) for p in pauses.values()) for r in reasons])
    return ReportResult(
        columns=_columns(reasons),
        rows=rows,
        chart=ChartSpec(ChartKind.STACKED_BAR, "agent", ("talk", "hold", "wrap_up"), TITLE_KEY),
        totals=totals,
        total_rows=len(rows),
        # Logged-in and pause time, offers and questionnaires are the agent's, not a queue's.
        notes=(NOTE_QUEUE_FILTER,) if params.queues else (),
    )


def _row(agent: str | None, f: dict[str, Any], pause_seconds: list[float]) -> tuple:
    talk, hold, wrap = f.get("talk", 0.0), f.get("hold", 0.0), f.get("wrap", 0.0)
    logged_in, paused = f.get("logged_in", 0.0), f.get("paused", 0.0)
    return (
        agent,
        int(f.get("handled", 0)),
        talk,
        hold,
        wrap,
        ratio(talk + hold + wrap, f.get("handled", 0)),
        logged_in,
        paused,
        *pause_seconds,
        ratio(talk + hold + wrap, logged_in - paused) if logged_in > paused else None,
        ratio(f.get("qa_sum", 0.0), f.get("qa_count", 0)),
        int(f.get("qa_count", 0)),  # how many reviews the average is of
        int(f.get("presented", 0)),
        int(f.get("accepted", 0)),
        ratio(f.get("accepted", 0), f.get("presented", 0)),
        int(f.get("questionnaires", 0)),
    )


def _columns(reasons: list[str]) -> tuple[ResultColumn, ...]:
    pause_columns = tuple(
        measure(f"pause_{reason or 'none'}", ValueType.SECONDS, key=_pause_key(reason)) for reason in reasons
    )
    return (
        dimension("agent"),
        measure("handled"),
        measure("talk", ValueType.SECONDS),
        measure("hold", ValueType.SECONDS),
        measure("wrap_up", ValueType.SECONDS),
        measure("aht", ValueType.SECONDS),
        measure("logged_in", ValueType.SECONDS),
        measure("paused", ValueType.SECONDS),
        *pause_columns,
        measure("occupancy", ValueType.PERCENT),
        measure("qa_score", ValueType.FLOAT),
        measure("qa_reviews"),
        measure("offers_presented"),
        measure("offers_accepted"),
        measure("conversion", ValueType.PERCENT),
        measure("questionnaires_completed"),
    )


def _pause_key(reason: str) -> str:
    return f"report.col.pause.{reason}" if reason in KNOWN_PAUSE_REASONS else "report.col.pause.other"


def _reason_order(found: set[str]) -> list[str]:
    known = [r for r in KNOWN_PAUSE_REASONS if r in found]
    return known + sorted(found - set(KNOWN_PAUSE_REASONS))


def _calls(params: ReportParams) -> Any:
    query = (
        select(
            L.agent,
            func.count().label("handled"),
            func.sum(L.talk_s).label("talk"),
            func.sum(L.hold_s).label("hold"),
            func.sum(L.wrap_s).label("wrap"),
        )
        .where(L.day.between(params.day_from, params.day_to), L.outcome == ANSWERED, L.agent != "")
        .group_by(L.agent)
    )
    if params.queues:
        query = query.where(L.queue.in_(params.queues))
    if params.agents:
        query = query.where(L.agent.in_(params.agents))
    return query


def _states(params: ReportParams) -> Any:
    query = (
        select(I.agent, I.state, I.reason, func.sum(I.seconds).label("seconds"))
        .where(I.day.between(params.day_from, params.day_to), I.state != LOGGED_OUT)
        .group_by(I.agent, I.state, I.reason)
    )
    if params.agents:
        query = query.where(I.agent.in_(params.agents))
    return query


def _qa(params: ReportParams, start: Any, end: Any) -> Any:
    R = RecordingRow
    query = (
        select(R.agent, func.sum(R.qa_score).label("qa_sum"), func.count(R.qa_score).label("qa_count"))
        .where(R.started_at >= start, R.started_at < end, R.qa_score.is_not(None), R.agent != "")
        .group_by(R.agent)
    )
    if params.queues:
        query = query.where(R.queue.in_(params.queues))
    if params.agents:
        query = query.where(R.agent.in_(params.agents))
    return query


def _presentations(params: ReportParams, start: Any, end: Any, kind: CampaignKind) -> Any:
    P = OfferPresentation
    conditions = [
        P.presented_at >= start,
        P.presented_at < end,
        P.agent.is_not(None),
        Campaign.kind == kind.value,
        presented_only(P),  # an offer shown and not put to the customer was not made
    ]
    if params.agents:
        conditions.append(P.agent.in_(params.agents))
    if params.campaign_ids:
        conditions.append(P.campaign_id.in_(params.campaign_ids))
    return and_(*conditions)


def _offers(params: ReportParams, start: Any, end: Any) -> Any:
    P = OfferPresentation
    return (
        select(
            P.agent,
            func.count().label("presented"),
            count_if(P.outcome == OfferOutcome.ACCEPTED.value).label("accepted"),
        )
        .join(Campaign, Campaign.id == P.campaign_id)
        .where(_presentations(params, start, end, CampaignKind.MARKETING))
        .group_by(P.agent)
    )


def _questionnaires(params: ReportParams, start: Any, end: Any) -> Any:
    """Questionnaire presentations with an answer to every question of their campaign."""
    P = OfferPresentation
    per_presentation = (
        select(P.agent, P.campaign_id, func.count(Answer.id).label("n"))
        .join(Campaign, Campaign.id == P.campaign_id)
        .join(Answer, Answer.presentation_id == P.id)
        .where(_presentations(params, start, end, CampaignKind.QUESTIONNAIRE))
        .group_by(P.id, P.agent, P.campaign_id)
        .subquery()
    )
    asked = select(Question.campaign_id, func.count().label("n")).group_by(Question.campaign_id).subquery()
    return (
        select(per_presentation.c.agent, func.count().label("completed"))
        .join(asked, asked.c.campaign_id == per_presentation.c.campaign_id)
        .where(per_presentation.c.n >= asked.c.n)
        .group_by(per_presentation.c.agent)
    )
