"""Shared fixtures: databases (SQLite and PostgreSQL) and running centres."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

POSTGRES_URL = os.environ.get(
    "QHARBOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
#: The test script sets this, so a missing PostgreSQL fails the run instead of skipping.
REQUIRE_POSTGRES = os.environ.get("QHARBOR_REQUIRE_POSTGRES") == "1"

_postgres_state: dict[str, Any] = {}


def postgres_available() -> bool:
    if "ok" not in _postgres_state:
        import psycopg

        try:
            with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
                conn.execute("select 1")
            _postgres_state["ok"] = True
        except psycopg.Error as exc:
            _postgres_state["ok"] = False
            _postgres_state["why"] = str(exc)
    return bool(_postgres_state["ok"])


def need_postgres() -> None:
    if postgres_available():
        return
    message = f"PostgreSQL is not reachable at {POSTGRES_URL}: {_postgres_state.get('why')}"
    if REQUIRE_POSTGRES:
        pytest.fail(message)
    pytest.skip(message + " (set QHARBOR_TEST_POSTGRES_URL)")


class PostgresSchema:
    """A private schema in the test database, dropped afterwards."""

    def __init__(self) -> None:
        import psycopg

        self.name = f"qh_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{self.name}"')
        separator = "&" if "?" in POSTGRES_URL else "?"
        self.url = f"{POSTGRES_URL}{separator}options=-csearch_path%3D{self.name}"

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')


def database_url_for(kind: str, tmp: Path) -> tuple[str | None, PostgresSchema | None]:
    """A fresh database of the kind: None means the centre's default SQLite."""
    if kind == "sqlite":
        return None, None
    need_postgres()
    schema = PostgresSchema()
    return schema.url, schema


DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def database_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module", params=DATABASES)
def module_database_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def _isolated_account_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test reads or writes the real ~/.qharbor account file."""
    monkeypatch.setenv("QHARBOR_ACCOUNT_FILE", str(tmp_path / "accounts.json"))
    monkeypatch.setenv("QHARBOR_KEY_DIR", str(tmp_path / "keys"))
    # Centres in tests never start the background engine benchmark (seconds of CPU).
    monkeypatch.setenv("QHARBOR_ENGINE_BENCHMARK", "off")
    # Nor do their workers load every engine up front (about 1.5 s of CPU per worker).
    monkeypatch.setenv("QHARBOR_WARM_ENGINES", "0")
    for name in ("QHARBOR_URL", "QHARBOR_TOKEN", "QHARBOR_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    yield
