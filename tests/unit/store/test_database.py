"""The database handle: migrations that match the tables, and transactions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from qharbor.store import Database
from qharbor.store import database as database_module
from qharbor.store.tables import metadata, projects

TABLES = set(metadata.tables)
HEAD = ScriptDirectory(str(Path(database_module.__file__).parent / "migrations")).get_current_head()


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
        assert versions == [(HEAD,)]
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


def test_the_tables_are_the_expected_ones() -> None:
    assert {"users", "projects", "jobs", "results", "usage", "quotas", "audit_log"} <= TABLES


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"]
)
def test_the_audit_log_refuses_updates_and_deletes(db: Database, statement: str) -> None:
    from qharbor.store.tables import audit_log

    with db.write() as conn:
        conn.execute(
            audit_log.insert().values(at=dt.datetime.now(dt.UTC), action="test", detail={})
        )
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.write() as conn:
        conn.exec_driver_sql(statement)
    with db.read() as conn:
        assert conn.execute(sa.select(audit_log.c.action)).scalars().all() == ["test"]
