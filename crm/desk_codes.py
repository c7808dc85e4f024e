"""Dispositions and pause reasons, administered per queue instead of written into the code.

A code with an empty ``queue`` holds for every queue; a queue that has codes of its own offers
those and the site-wide ones. Labels are stored in both languages of the pages, so an admin
names a new code once and every agent reads it in their language. Disabling a code hides it from
new wrap-ups and pauses; contacts that already carry it keep it (reports still name it).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Boolean, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Database
from crm.errors import CrmError, NotFound
from crm.models import Base

CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Set by the ACD itself (ring-no-answer, marketing, phone gone): never a reason an agent picks.
RESERVED_PAUSES = frozenset({"missed", "marketing", "unreachable"})


class CodeKind(enum.StrEnum):
    DISPOSITION = "disposition"
    PAUSE = "pause"


class DeskCodeRow(Base):
    __tablename__ = "desk_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    queue: Mapped[str] = mapped_column(String(64), default="")  # empty: every queue
    code: Mapped[str] = mapped_column(String(40))
    label_zh: Mapped[str] = mapped_column(String(100), default="")
    label_en: Mapped[str] = mapped_column(String(100), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("kind", "queue", "code"),)


class DuplicateCode(CrmError):
    pass


class BadCode(CrmError):
    pass


@dataclass(frozen=True, slots=True)
class DeskCode:
    id: int
    kind: CodeKind
    queue: str
    code: str
    label_zh: str
    label_en: str
    position: int
    enabled: bool

    def label(self, language: str) -> str:
        chosen = self.label_en if language == "en" else self.label_zh
        return chosen or self.label_zh or self.label_en or self.code


@dataclass(frozen=True, slots=True)
class NewCode:
    kind: CodeKind
    code: str
    label_zh: str
    label_en: str
    queue: str = ""
    position: int = 0


def _view(row: DeskCodeRow) -> DeskCode:
    return DeskCode(
        row.id, CodeKind(row.kind), row.queue, row.code, row.label_zh, row.label_en, row.position, row.enabled
    )


def check_code(kind: CodeKind, code: str) -> str:
    if not CODE.fullmatch(code):
        raise BadCode(f"code {code!r}: lower-case letters, digits and _ , starting with a letter, up to 40")
    if kind is CodeKind.PAUSE and code in RESERVED_PAUSES:
        raise BadCode(f"pause reason {code!r} is set by the ACD itself and cannot be chosen")
    return code


async def list_codes(db: Database, kind: CodeKind | None = None) -> tuple[DeskCode, ...]:
    """Every code (enabled or not), site-wide first, then by queue, position and code."""
    query = select(DeskCodeRow)
    if kind is not None:
        query = query.where(DeskCodeRow.kind == kind.value)
    async with db.read() as session:
        rows = (await session.scalars(query)).all()
    codes = [_view(r) for r in rows]
    codes.sort(key=lambda c: (c.kind, c.queue, c.position, c.code))
    return tuple(codes)


def offered(codes: Sequence[DeskCode], kind: CodeKind, queue: str = "") -> tuple[DeskCode, ...]:
    """The enabled codes an agent may pick for a call of ``queue`` (empty: outside any queue):
    the site-wide ones and the queue's own, one per code (the queue's label wins)."""
    chosen: dict[str, DeskCode] = {}
    for code in codes:
        if code.kind is kind and code.enabled and code.queue == "":
            chosen[code.code] = code
    if queue:
        for code in codes:
            if code.kind is kind and code.enabled and code.queue == queue:
                chosen[code.code] = code
    return tuple(sorted(chosen.values(), key=lambda c: (c.position, c.code)))


async def offered_codes(db: Database, kind: CodeKind, queue: str = "") -> tuple[DeskCode, ...]:
    return offered(await list_codes(db, kind), kind, queue)


async def all_enabled_codes(db: Database, kind: CodeKind) -> frozenset[str]:
    """Every enabled code of ``kind`` in any queue (what the ACD must accept as a pause)."""
    return frozenset(c.code for c in await list_codes(db, kind) if c.enabled)


async def add_code(db: Database, new: NewCode) -> DeskCode:
    check_code(new.kind, new.code)
    try:
        async with db.write() as session:
            row = DeskCodeRow(
                kind=new.kind.value,
                queue=new.queue,
                code=new.code,
                label_zh=new.label_zh,
                label_en=new.label_en,
                position=new.position,
                enabled=True,
            )
            session.add(row)
            await session.flush()
            return _view(row)
    except IntegrityError:
        where = f"queue {new.queue}" if new.queue else "every queue"
        raise DuplicateCode(f"{new.kind} {new.code!r} exists already for {where}") from None


async def update_code(
    db: Database,
    code_id: int,
    *,
    label_zh: str | None = None,
    label_en: str | None = None,
    position: int | None = None,
    enabled: bool | None = None,
) -> DeskCode:
    async with db.write() as session:
        row = await session.get(DeskCodeRow, code_id)
        if row is None:
            raise NotFound("code", code_id)
        if label_zh is not None:
            row.label_zh = label_zh
        if label_en is not None:
            row.label_en = label_en
        if position is not None:
            row.position = position
        if enabled is not None:
            row.enabled = enabled
        return _view(row)
