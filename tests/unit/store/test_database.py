"""The database handle: migrations that match the tables, and transactions."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from qharbor.store import Database
from qharbor.store.tables import metadata, projects

TABLES = {
    "users",
    "projects",
    "memberships",
    "tokens",
    "jobs",
    "job_tags",
    "results",
    "calibrations",
    "maintenance_windows",
    "sessions",
}


def table_names(db: Database) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_migrations_create_every_table(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert table_names(db) == set()
        db.migrate()
        assert table_names(db) == TABLES
    finally:
        db.dispose()


def test_migrations_run_twice_idempotently(database_url: str) -> None:
    db = Database(database_url)
    try:
        db.migrate()
        db.migrate()
        assert table_names(db) == TABLES
        with db.read() as conn:
            versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        assert versions == [("0003",)]
    finally:
        db.dispose()


def test_migrated_schema_matches_the_table_metadata(db: Database) -> None:
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_write_commits_on_success(db: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    with db.write() as conn:
        conn.execute(projects.insert().values(id="p1", name="one", created_at=now))
    with db.read() as conn:
        assert conn.execute(sa.select(projects.c.name)).scalars().all() == ["one"]


def test_write_rolls_back_on_error(db: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(RuntimeError), db.write() as conn:
        conn.execute(projects.insert().values(id="p1", name="one", created_at=now))
        raise RuntimeError("abandon")
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(projects)).scalar_one() == 0


def test_datetimes_come_back_aware_and_in_utc(db: Database) -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    written = dt.datetime(2025, 6, 1, 14, 30, 15, 123456, tzinfo=paris)
    with db.write() as conn:
        conn.execute(projects.insert().values(id="p1", name="one", created_at=written))
    with db.read() as conn:
        read = conn.execute(sa.select(projects.c.created_at)).scalar_one()
    assert read == written
    assert read.utcoffset() == dt.timedelta(0)


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive"), db.write() as conn:
        conn.execute(
            projects.insert().values(id="p1", name="one", created_at=dt.datetime(2025, 1, 1))
        )


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        with db.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        db.dispose()
