"""The codes as the pages read them: loaded from the CRM at start and after every change, so a
page render (which cannot wait on the database) and the wrap-up check read the same list."""

from __future__ import annotations

from aiohttp import web

from crm import desk_codes
from crm.db import Database
from crm.desk_codes import CodeKind, DeskCode


class DeskCodes:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.codes: tuple[DeskCode, ...] = ()

    async def reload(self) -> tuple[DeskCode, ...]:
        self.codes = await desk_codes.list_codes(self.db)
        return self.codes

    def offered(self, kind: CodeKind, queue: str = "") -> tuple[DeskCode, ...]:
        return desk_codes.offered(self.codes, kind, queue)

    def offered_any_queue(
        self, kind: CodeKind, queues: tuple[str, ...] | list[str] = ()
    ) -> tuple[DeskCode, ...]:
        """Every code an agent of these queues may meet (site-wide ones and each queue's own)."""
        chosen: dict[str, DeskCode] = {c.code: c for c in self.offered(kind)}
        for queue in queues:
            for c in self.offered(kind, queue):
                chosen.setdefault(c.code, c)
        return tuple(sorted(chosen.values(), key=lambda c: (c.position, c.code)))

    def enabled(self, kind: CodeKind) -> frozenset[str]:
        return frozenset(c.code for c in self.codes if c.kind is kind and c.enabled)


DESK_CODES_KEY: web.AppKey[DeskCodes] = web.AppKey("desk_codes", DeskCodes)


def desk_codes_of(app: web.Application) -> DeskCodes:
    return app[DESK_CODES_KEY]
