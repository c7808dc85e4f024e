"""The benchmarks' tests may ask for the session's PostgreSQL (tests/crm/conftest.py)."""

from tests.crm.conftest import postgres_url  # noqa: F401
