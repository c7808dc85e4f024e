"""Quality review routes: the QA forms, scoring a recording, and the scores per agent or queue."""

from __future__ import annotations

from aiohttp import web

from agent_api.context import audit, require
from agent_api.errors import Conflict, InvalidBody
from agent_api.i18n import language_of
from agent_api.openapi import endpoint
from agent_api.recordings.access import EVERYONE, SUPERVISOR, _is_supervisor, _visible, own_agents
from agent_api.recordings.schemas import FormOut, Forms, ReviewBody, ReviewOut, ScoreRow, Scores, ScoresQuery
from agent_api.recordings.service import _recordings
from agent_api.security import Principal
from crm import recordings as index
from crm.recording_tables import RecordingState
from recording.errors import BadAnswers
from recording.quality import Form, in_language, score


def _review_out(review: index.Review, forms: dict[str, Form], language: str = "en") -> ReviewOut:
    form = forms.get(review.form)
    sections = {}
    failed: list[str] = []
    if form is not None:
        try:
            scored = score(form, review.answers)
            sections = scored.sections
            shown = in_language(form, language)
            texts = {q.id: q.text for section in shown.sections for q in section.questions}
            failed = [texts.get(q, q) for q in scored.failed_critical]
        except BadAnswers:
            sections = {}  # the form changed since the review; the stored score stands
    return ReviewOut(
        id=review.id,
        reviewer=review.reviewer,
        form=review.form,
        score=review.score,
        sections=sections,
        failed_critical=failed,
        answers=review.answers,
        comments=list(review.comments),  # type: ignore[arg-type]
        summary=review.summary,
        at=review.at,
    )


@endpoint(
    "GET",
    "/api/recordings/forms",
    summary="The QA scoring forms",
    roles=EVERYONE,
    response=Forms,
    tag="recordings",
)
async def qa_forms(request: web.Request, principal: Principal | None) -> Forms:
    forms = _recordings(request).forms.values()
    language = language_of(request)
    return Forms(
        forms=[FormOut.model_validate(in_language(form, language), from_attributes=True) for form in forms]
    )


@endpoint(
    "POST",
    "/api/recordings/{recording_id}/reviews",
    summary="Score a recording with a QA form, with comments at time offsets",
    roles=SUPERVISOR,
    body=ReviewBody,
    response=ReviewOut,
    tag="recordings",
    path_types={"recording_id": "integer"},
)
async def review_recording(
    request: web.Request, principal: Principal | None, recording_id: int, body: ReviewBody
) -> ReviewOut:
    me = require(principal)
    recording = await _visible(request, me, recording_id)
    recordings = _recordings(request)
    if recording.state in (RecordingState.RECORDING, RecordingState.FAILED):
        raise Conflict(
            "a recording still being made cannot be scored: score it once the call has ended"
            if recording.state is RecordingState.RECORDING
            else "a failed recording cannot be scored: nobody can play it"
        )
    form = recordings.forms.get(body.form)
    if form is None:
        raise InvalidBody(f"no QA form {body.form!r}", details={"forms": sorted(recordings.forms)})
    if recording.duration_s is not None:
        late = [c.offset_s for c in body.comments if c.offset_s > recording.duration_s + 1]
        if late:
            raise InvalidBody(
                f"comment at {late[0]} s is past the end of the {recording.duration_s:.0f} s call"
            )
    try:
        scored = score(form, body.answers)
    except BadAnswers as exc:
        raise InvalidBody(str(exc)) from None
    db = recordings.service.db
    await index.add_review(
        db,
        index.NewReview(
            recording_id=recording.id,
            reviewer=me.username,
            form=form.id,
            score=scored.score,
            answers=dict(body.answers),
            comments=tuple(c.model_dump() for c in body.comments),
            summary=body.summary,
        ),
    )
    await audit(request, me.username, "recording-review", str(recording.id), score=scored.score)
    review = (await index.reviews_of(db, recording.id))[-1]
    return _review_out(review, recordings.forms, language_of(request))


@endpoint(
    "GET",
    "/api/recordings/scores",
    summary="QA scores per agent or queue over a period (an agent sees their own)",
    roles=EVERYONE,
    query=ScoresQuery,
    response=Scores,
    tag="recordings",
)
async def qa_scores(request: web.Request, principal: Principal | None, query: ScoresQuery) -> Scores:
    me = require(principal)
    rows = await index.score_summary(
        _recordings(request).service.db,
        by=query.by,
        since=query.since,
        until=query.until,
        agents=None if _is_supervisor(me) else own_agents(me),
    )
    return Scores(
        by=query.by,
        rows=[
            ScoreRow(
                key=r.key, reviews=r.reviews, average=round(r.average, 2), lowest=r.lowest, highest=r.highest
            )
            for r in rows
        ],
    )
