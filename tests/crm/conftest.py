"""Database fixtures: every behaviour test runs on SQLite and on a throwaway PostgreSQL 15.

SQLite: the schema is migrated once per session into a template file that each test copies.
PostgreSQL: Debian's server binaries are started on a loopback port in a temporary directory
(as the ``postgres`` user when the tests run as root, since initdb refuses root), migrated once,
and every test starts from emptied tables. Without the binaries the postgres tests skip.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from crm.db import Database
from crm.migrate import upgrade
from crm.models import Base
from crm.service import Crm

# A Wednesday morning in Shanghai (02:00 UTC = 10:00 local).
NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_apart(factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a coroutine on its own loop in a worker thread: session fixtures may be set up from
    inside a test's running loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, factory()).result()


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


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
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries not found under /usr/lib/postgresql (make test installs them)"
        )
    workdir = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    data = workdir / "data"
    port = _free_port()
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(workdir / "log"),
                "-o",
                options,
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"

        async def migrate() -> None:
            db = Database(url)
            await upgrade(db)
            await db.dispose()

        _run_apart(migrate)
        yield url
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(workdir, ignore_errors=True)


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
