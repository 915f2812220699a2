"""Fixtures shared by the unit tests: a fresh, migrated database per test.

Every database test runs twice: on a SQLite file of its own, and on a PostgreSQL
schema of its own that is dropped afterwards. ``QHARBOR_TEST_POSTGRES_URL`` names
another server; without one the PostgreSQL half is skipped, or fails when
``QHARBOR_REQUIRE_POSTGRES=1`` (as for the top-level fixtures).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from qharbor.store import Database


def _sqlalchemy_url(url: str) -> str:
    """The URL with the psycopg 3 driver named, as ``Database`` expects it."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


POSTGRES_URL = _sqlalchemy_url(
    os.environ.get("QHARBOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
)
REQUIRE_POSTGRES = os.environ.get("QHARBOR_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[sa.Engine]:
    """An engine on the PostgreSQL test database, for creating and dropping schemas."""
    engine = sa.create_engine(POSTGRES_URL, poolclass=sa.pool.NullPool)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        engine.dispose()
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc}"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    yield engine
    engine.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database that belongs to this test alone."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'qharbor.db'}"
        return
    admin: sa.Engine = request.getfixturevalue("postgres_admin")
    schema = f"qh_{uuid.uuid4().hex}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        separator = "&" if "?" in POSTGRES_URL else "?"
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated database that belongs to this test alone."""
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()
