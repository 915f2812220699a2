"""The one handle on the database: connections, transactions and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event

from qharbor import wire

_MIGRATIONS = Path(__file__).parent / "migrations"


class Database:
    """A SQLAlchemy engine with the transaction discipline qharbor relies on.

    On SQLite (WAL mode) a write transaction starts with ``BEGIN IMMEDIATE``, so
    two writers queue on the busy timeout instead of failing on a lock upgrade.
    On PostgreSQL, writers use row locks (``FOR UPDATE SKIP LOCKED``) where they race.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # JSON columns hold canonical text (sorted keys, no spaces), so a stored
        # signed result is byte for byte what was signed, and a changed byte shows.
        kwargs: dict[str, Any] = {
            "echo": echo,
            "future": True,
            "json_serializer": wire.canonical_json,
        }
        if self.is_sqlite:
            kwargs.update(pool_size=16, max_overflow=32, connect_args={"timeout": 30})
        else:
            kwargs.update(pool_size=10, max_overflow=30, pool_pre_ping=True)
        self.engine = sa.create_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A connection in a read transaction."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A connection in a write transaction, committed on success."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn = conn.execution_options(qharbor_begin="BEGIN IMMEDIATE")
            with conn.begin():
                yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest migration."""
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy issue BEGIN itself, so a write can ask for IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("qharbor_begin", "BEGIN"))
