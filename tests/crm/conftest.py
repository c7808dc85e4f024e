"""Database fixtures: every behaviour test runs on SQLite and on a throwaway PostgreSQL 15.

SQLite: the schema is migrated once per session into a template file that each test copies.
PostgreSQL: Debian's server binaries are started on a loopback port in a temporary directory
(bench/servers.py: as the ``postgres`` user when the tests run as root, since initdb refuses
root), migrated once, and every test starts from emptied tables. Without the binaries the
postgres tests skip.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bench.servers import PostgresServer, pg_bin
from crm.db import Database
from crm.migrate import upgrade
from crm.models import Base
from crm.service import Crm

# A Wednesday morning in Shanghai (02:00 UTC = 10:00 local).
NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


def _run_apart(factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a coroutine on its own loop in a worker thread: session fixtures may be set up from
    inside a test's running loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, factory()).result()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crm-template") / "template.db"

    async def migrate() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await upgrade(db)
        await db.dispose()

    _run_apart(migrate)
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    bindir = pg_bin()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries not found under /usr/lib/postgresql (make test installs them)"
        )
    server = PostgresServer(bindir)
    server.start()
    try:
        url = server.url()

        async def migrate() -> None:
            db = Database(url)
            await upgrade(db)
            await db.dispose()

        _run_apart(migrate)
        yield url
    finally:
        server.remove()


async def _emptied(url: str) -> Database:
    db = Database(url)
    names = ", ".join(table.name for table in reversed(Base.metadata.sorted_tables))
    async with db.write() as session:
        await session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return db


@pytest.fixture
async def sqlite_db(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    path = tmp_path / "hotline.db"
    shutil.copyfile(sqlite_template, path)
    db = Database(f"sqlite+aiosqlite:///{path}")
    yield db
    await db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "hotline.db"
        shutil.copyfile(sqlite_template, path)
        database = Database(f"sqlite+aiosqlite:///{path}")
    else:
        database = await _emptied(request.getfixturevalue("postgres_url"))
    yield database
    await database.dispose()


@pytest.fixture
def crm(db: Database) -> Crm:
    return Crm(db, clock=lambda: NOW, catalog_refresh_s=0)
