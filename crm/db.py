"""The database shell: one async engine for PostgreSQL, a reader and a single writer for SQLite.

SQLite allows one writer at a time. Rather than let concurrent requests race for the file lock
and fail with "database is locked", every write in this process goes through one connection
behind an asyncio lock and starts with ``BEGIN IMMEDIATE``; ``busy_timeout`` covers writers in
other processes (an import run from the command line while the server runs). Reads use their
own pooled connections and, in WAL mode, never wait for the writer.

Short indexed reads on the hot path (the screen-pop, the caller lookup) go through
``reader()``. On SQLite it runs the same SQLAlchemy statements on a raw sqlite3 connection in
the loop's own thread (see :class:`InlineReader`): an indexed lookup costs tens of
microseconds, less than handing it to aiosqlite's thread and back, so running it inline blocks
the loop for less time than the hop would cost. Only bounded statements (index lookups with a
LIMIT) belong there; anything that may scan goes through ``read()``. On PostgreSQL
``reader()`` is an ordinary async session.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.sql import Executable

BUSY_TIMEOUT_MS = 10_000


def utcnow() -> datetime:
    return datetime.now(UTC)


class Database:
    """Sessions for reading (``read()``) and for writing (``write()``, one transaction)."""

    def __init__(self, url: str | URL, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            _ensure_sqlite_directory(self.url)
            self.engine = _sqlite_engine(self.url, echo=echo, immediate=False)
            self.write_engine = _sqlite_engine(self.url, echo=echo, immediate=True, pool_size=1)
        else:
            self.engine = create_async_engine(self.url, echo=echo, pool_pre_ping=True)
            self.write_engine = self.engine
        self._reads = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writes = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        inline_path = self.url.database if self.is_sqlite else None
        self._inline = _InlineConnections(inline_path) if inline_path and inline_path != ":memory:" else None

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._reads() as session:
            yield session

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction, committed on success and rolled back on error."""
        if self._write_lock is None:
            async with self._writes() as session, session.begin():
                yield session
            return
        async with self._write_lock, self._writes() as session, session.begin():
            yield session

    @contextlib.asynccontextmanager
    async def reader(self) -> AsyncIterator[Reader]:
        """A reader for short indexed lookups (see the module doc)."""
        if self._inline is None:
            async with self._reads() as session:
                yield SessionReader(session)
            return
        with self._inline.connection() as connection:
            yield InlineReader(connection, self._inline.plans)

    async def first(self, statement: Executable, params: Params = None) -> Any | None:
        """One bounded lookup, the first row or None: ``reader()`` without the context manager,
        for the single-statement hot path (the caller lookup)."""
        if self._inline is None:
            async with self.reader() as reader:
                return await reader.first(statement, params)
        inline = self._inline
        connection = inline.idle.pop() if inline.idle else inline.open()
        try:
            rows = InlineReader(connection, inline.plans).run(statement, params)
        finally:
            inline.give_back(connection)
        return rows[0] if rows else None

    async def dispose(self) -> None:
        if self._inline is not None:
            self._inline.close()
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()


Params = Mapping[str, Any] | None


class Reader:
    """Runs bounded read statements: ``rows`` (every row), ``first`` (one or None), ``scalars``."""

    async def rows(self, statement: Executable, params: Params = None) -> Sequence[Any]:
        raise NotImplementedError

    async def first(self, statement: Executable, params: Params = None) -> Any | None:
        rows = await self.rows(statement, params)
        return rows[0] if rows else None

    async def scalars(self, statement: Executable, params: Params = None) -> list[Any]:
        return [row[0] for row in await self.rows(statement, params)]


class SessionReader(Reader):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rows(self, statement: Executable, params: Params = None) -> Sequence[Any]:
        return (await self.session.execute(statement, params)).all()


class InlineReader(Reader):
    """Runs SQLAlchemy statements on a raw sqlite3 connection in the calling thread.

    Each statement is compiled by SQLAlchemy once (SQL text, parameter order, the types' bind
    and result processors, all through public type APIs); after that a lookup is the sqlite3
    call plus the few processors, with none of the per-execution machinery, which is what keeps
    a phone lookup within a small factor of a bare sqlite3 query. (The processors come from
    SQLAlchemy's per-dialect type caches, as its own executions use them.)
    """

    def __init__(self, connection: sqlite3.Connection, plans: dict[int, _Plan]) -> None:
        self.connection = connection
        self._plans = plans

    async def rows(self, statement: Executable, params: Params = None) -> Sequence[Any]:
        return self.run(statement, params)

    def run(self, statement: Executable, params: Params = None) -> list[Any]:
        plan = self._plans.get(id(statement))
        if plan is None or plan.statement is not statement:
            if len(self._plans) >= 256:
                self._plans.clear()  # only a program building statements per call gets here
            plan = self._plans[id(statement)] = _Plan(statement)
        return plan.run(self.connection, params or {})


class _Plan:
    __slots__ = ("binds", "converted", "row_type", "sql", "statement")

    def __init__(self, statement: Executable) -> None:
        dialect = _SQLITE_DIALECT
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("expanding IN parameters cannot run inline; use literal values or read()")
        self.statement = statement
        self.sql = compiled.string
        defaults = compiled.params
        self.binds = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            self.binds.append((bind.key, defaults.get(name), bind.type._cached_bind_processor(dialect)))
        columns = list(statement.selected_columns)  # type: ignore[attr-defined]
        processors = [c.type._cached_result_processor(dialect, None) for c in columns]
        # Only the columns whose type converts (booleans, times, JSON), by position.
        self.converted = [(i, p) for i, p in enumerate(processors) if p is not None]
        self.row_type = collections.namedtuple("InlineRow", [c.name for c in columns], rename=True)  # type: ignore[misc]

    def run(self, connection: sqlite3.Connection, params: Mapping[str, Any]) -> list[Any]:
        values = []
        for key, default, process in self.binds:
            value = params.get(key, default)
            values.append(process(value) if process is not None else value)
        make = self.row_type._make
        rows = connection.execute(self.sql, values).fetchall()
        if not self.converted:
            return list(map(make, rows))
        result = []
        for raw in rows:
            row = list(raw)
            for i, process in self.converted:
                row[i] = process(row[i])
            result.append(make(row))
        return result


_SQLITE_DIALECT = sqlite_dialect.dialect()


class _InlineConnections:
    """A few raw read-only sqlite3 connections, handed out one per reader."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.idle: list[sqlite3.Connection] = []
        self.plans: dict[int, _Plan] = {}

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        connection = self.idle.pop() if self.idle else self.open()
        try:
            yield connection
        finally:
            self.give_back(connection)

    def give_back(self, connection: sqlite3.Connection) -> None:
        if len(self.idle) < 4:
            self.idle.append(connection)
        else:
            connection.close()

    def open(self) -> sqlite3.Connection:
        # Autocommit: each SELECT is its own snapshot, which saves a BEGIN and a ROLLBACK per
        # lookup; the screen-pop's few reads do not need to agree to the millisecond.
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA query_only=ON")
        return connection

    def close(self) -> None:
        while self.idle:
            self.idle.pop().close()


def _ensure_sqlite_directory(url: URL) -> None:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_engine(url: URL, *, echo: bool, immediate: bool, pool_size: int = 5) -> AsyncEngine:
    kwargs: dict[str, Any] = {"echo": echo}
    if url.database not in (None, "", ":memory:"):
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = 0 if immediate else 10
    engine = create_async_engine(url, **kwargs)
    _configure_sqlite(engine.sync_engine, immediate=immediate)
    return engine


def _configure_sqlite(engine: Engine, *, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Transactions are started by the "begin" hook below, not by the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
