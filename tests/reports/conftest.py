"""Report tests run on the CRM's database fixtures: SQLite, and PostgreSQL when its binaries exist."""

from __future__ import annotations

from tests.crm.conftest import db, postgres_url, sqlite_db, sqlite_template  # noqa: F401
