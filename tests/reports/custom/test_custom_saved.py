"""Saved reports: stored checked, shared with roles, scheduled with validated recipients."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from crm.db import Database
from crm.errors import NotFound
from crm.reporting.definition import InvalidReportDefinition
from crm.reporting.saved import (
    InvalidSavedReport,
    Schedule,
    create_report,
    delete_report,
    get_report,
    list_visible,
    update_report,
)

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
DEFINITION: dict[str, Any] = {
    "source": "contacts",
    "date_from": "2026-11-01",
    "date_to": "2026-11-30",
    "dimensions": [{"field": "at", "grain": "day"}, "queue"],
    "measures": [{"fn": "count", "label": "接触量"}],
}


async def test_create_get_update_delete(db: Database) -> None:
    saved = await create_report(
        db,
        owner="lin",
        name=" 每日接触 ",
        definition=DEFINITION,
        shared_roles=["supervisor"],
        schedule="weekly",
        weekday=0,
        hour=7,
        recipients=["lead@example.cn", "Lead@example.cn", "ops@example.com"],
        now=NOW,
    )
    assert saved.name == "每日接触"
    assert saved.schedule is Schedule.WEEKLY and saved.weekday == 0 and saved.hour == 7
    assert saved.recipients == ("lead@example.cn", "ops@example.com")
    assert saved.definition is not None and saved.definition.measures[0].label == "接触量"
    assert (await get_report(db, saved.id)) == saved
    changed = await update_report(db, saved.id, schedule="daily", hour=9, name="接触日报", now=NOW)
    assert (changed.schedule, changed.weekday, changed.hour, changed.name) == (
        Schedule.DAILY,
        None,
        9,
        "接触日报",
    )
    assert changed.created_at == saved.created_at
    with pytest.raises(InvalidReportDefinition, match="measures"):
        await update_report(db, saved.id, definition={**DEFINITION, "measures": []})
    assert (await get_report(db, saved.id)).definition == saved.definition
    await delete_report(db, saved.id)
    with pytest.raises(NotFound):
        await get_report(db, saved.id)


async def test_visibility_owner_and_shared_roles(db: Database) -> None:
    own = await create_report(db, owner="lin", name="mine", definition=DEFINITION, now=NOW)
    shared = await create_report(
        db, owner="zhao", name="for supervisors", definition=DEFINITION, shared_roles=["supervisor"], now=NOW
    )
    private = await create_report(db, owner="zhao", name="private", definition=DEFINITION, now=NOW)

    async def names(user: str, roles: list[str]) -> list[str]:
        return [r.name for r in await list_visible(db, user, roles)]

    assert await names("lin", ["analyst"]) == ["mine"]
    assert await names("lin", ["analyst", "supervisor"]) == ["for supervisors", "mine"]
    assert await names("wu", ["supervisor"]) == ["for supervisors"]
    assert await names("zhao", ["analyst"]) == ["for supervisors", "private"]
    assert await names("wu", ["agent"]) == []
    assert (
        own.visible_to("lin", [])
        and shared.visible_to("x", ["supervisor"])
        and not private.visible_to("x", [])
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"shared_roles": ["root"]}, "shared_roles"),
        ({"schedule": "hourly"}, "schedule"),
        ({"schedule": "daily", "recipients": []}, "recipients"),
        ({"schedule": "daily", "recipients": ["not-an-address"]}, "recipients"),
        ({"schedule": "daily", "recipients": ["a@b.cn, c@d.cn"]}, "recipients"),
        ({"schedule": "daily", "recipients": ["Evil <x@y.cn>"]}, "recipients"),
        ({"schedule": "daily", "recipients": ["x@y.cn\nBcc: z@w.cn"]}, "recipients"),
        ({"schedule": "weekly", "recipients": ["x@y.cn"], "weekday": 7}, "weekday"),
        ({"schedule": "weekly", "recipients": ["x@y.cn"]}, "weekday"),
        ({"schedule": "daily", "recipients": ["x@y.cn"], "hour": 24}, "hour"),
    ],
)
async def test_bad_saved_reports_are_refused(
    sqlite_db: Database, changes: dict[str, Any], field: str
) -> None:
    data: dict[str, Any] = {"owner": "lin", "name": "r", "definition": DEFINITION, **changes}
    with pytest.raises(InvalidSavedReport) as caught:
        await create_report(sqlite_db, **data)
    assert caught.value.field == field
    assert await list_visible(sqlite_db, "lin", []) == []


async def test_one_name_per_owner(sqlite_db: Database) -> None:
    await create_report(sqlite_db, owner="lin", name="r", definition=DEFINITION)
    await create_report(sqlite_db, owner="zhao", name="r", definition=DEFINITION)
    with pytest.raises(InvalidSavedReport, match="already has a report named 'r'"):
        await create_report(sqlite_db, owner="lin", name="r", definition=DEFINITION)
