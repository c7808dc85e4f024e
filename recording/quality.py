"""Quality review forms as data (YAML: sections, questions, weights) and the scoring of a review.

A question is ``yesno`` (full marks for yes) or ``scale`` (0..max). A section's score is the
weighted share of its questions' marks; the review's score is the weighted mean of its sections,
0-100. A question marked ``critical`` and answered "no" (or 0) scores the whole review 0: an
agent who skipped identity checks failed the call, however polite they were.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from recording.errors import BadAnswers, BadForm

FORMS_DIR = Path(__file__).parent / "forms"


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    text: str
    kind: str = "yesno"  # or "scale"
    max: int = 1
    weight: float = 1.0
    critical: bool = False
    text_zh: str = ""  # the text a Chinese page shows; empty: the text


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    weight: float
    questions: tuple[Question, ...]
    title_zh: str = ""


@dataclass(frozen=True, slots=True)
class Form:
    id: str
    title: str
    sections: tuple[Section, ...]
    title_zh: str = ""

    def questions(self) -> dict[str, Question]:
        return {q.id: q for s in self.sections for q in s.questions}


@dataclass(frozen=True, slots=True)
class Scored:
    score: float  # 0..100
    sections: dict[str, float]  # title -> 0..100
    failed_critical: tuple[str, ...]


def _positive(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise BadForm(f"{where}: weight must be a positive number")
    return float(value)


def form_from_mapping(data: Any, *, source: str = "form") -> Form:
    if not isinstance(data, Mapping) or not data.get("id") or not data.get("sections"):
        raise BadForm(f"{source}: a form has an id, a title and sections")
    sections = []
    seen: set[str] = set()
    for s_index, raw in enumerate(data["sections"]):
        where = f"{source}: sections[{s_index}]"
        if not isinstance(raw, Mapping) or not raw.get("questions"):
            raise BadForm(f"{where}: a section has a title and questions")
        questions = []
        for q_index, q in enumerate(raw["questions"]):
            q_where = f"{where}.questions[{q_index}]"
            if not isinstance(q, Mapping) or not q.get("id") or not q.get("text"):
                raise BadForm(f"{q_where}: a question has an id and a text")
            qid = str(q["id"])
            if qid in seen:
                raise BadForm(f"{q_where}: question id {qid!r} is used twice")
            seen.add(qid)
            kind = q.get("kind", "yesno")
            if kind not in ("yesno", "scale"):
                raise BadForm(f"{q_where}: kind is yesno or scale, not {kind!r}")
            top = int(q.get("max", 5 if kind == "scale" else 1))
            if kind == "scale" and top < 1:
                raise BadForm(f"{q_where}: a scale's max is at least 1")
            questions.append(
                Question(
                    id=qid,
                    text=str(q["text"]),
                    kind=kind,
                    max=top if kind == "scale" else 1,
                    weight=_positive(q.get("weight", 1), q_where),
                    critical=bool(q.get("critical", False)),
                    text_zh=str(q.get("text_zh", "")),
                )
            )
        sections.append(
            Section(
                str(raw.get("title", f"section {s_index + 1}")),
                _positive(raw.get("weight", 1), where),
                tuple(questions),
                str(raw.get("title_zh", "")),
            )
        )
    return Form(
        id=str(data["id"]),
        title=str(data.get("title", data["id"])),
        sections=tuple(sections),
        title_zh=str(data.get("title_zh", "")),
    )


def in_language(form: Form, language: str) -> Form:
    """The form as a page in ``language`` shows it: the Chinese texts where the form has them."""
    if not language.startswith("zh"):
        return form
    return replace(
        form,
        title=form.title_zh or form.title,
        sections=tuple(
            replace(
                s,
                title=s.title_zh or s.title,
                questions=tuple(replace(q, text=q.text_zh or q.text) for q in s.questions),
            )
            for s in form.sections
        ),
    )


def load_form(path: str | Path) -> Form:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BadForm(f"cannot read QA form {path.name}: {exc}") from None
    return form_from_mapping(data, source=path.name)


def load_forms(directory: str | Path = FORMS_DIR) -> dict[str, Form]:
    forms = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        form = load_form(path)
        forms[form.id] = form
    return forms


def _mark(question: Question, value: Any) -> float:
    if question.kind == "yesno":
        if not isinstance(value, bool):
            raise BadAnswers(f"{question.id}: answer true or false")
        return 1.0 if value else 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= question.max:
        raise BadAnswers(f"{question.id}: answer a number from 0 to {question.max}")
    return float(value) / question.max


def score(form: Form, answers: Mapping[str, Any]) -> Scored:
    """Every question answered, nothing else; the score and each section's share."""
    questions = form.questions()
    unknown = set(answers) - set(questions)
    if unknown:
        raise BadAnswers(f"not questions of form {form.id}: {', '.join(sorted(unknown))}")
    missing = [qid for qid in questions if qid not in answers]
    if missing:
        raise BadAnswers(f"unanswered: {', '.join(missing)}")
    per_section: dict[str, float] = {}
    total = weights = 0.0
    failed = []
    for section in form.sections:
        marks = [(q.weight, _mark(q, answers[q.id])) for q in section.questions]
        failed += [q.id for q in section.questions if q.critical and _mark(q, answers[q.id]) == 0.0]
        share = sum(w * m for w, m in marks) / sum(w for w, _ in marks)
        per_section[section.title] = round(share * 100, 2)
        total += section.weight * share
        weights += section.weight
    value = 0.0 if failed else round(total / weights * 100, 2)
    return Scored(score=value, sections=per_section, failed_critical=tuple(failed))
