"""Fixtures for the tests of the job tables: a manager on a settable clock, two members."""

from __future__ import annotations

import pytest

from qharbor.jobs.manager import JobManager
from qharbor.store import Database
from tests.unit.jobs.test_manager import Clock, Member, _member


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def changes() -> list[str]:
    return []


@pytest.fixture
def manager(db: Database, clock: Clock, changes: list[str]) -> JobManager:
    return JobManager(db, on_change=changes.append, clock=clock)


@pytest.fixture
def alice(db: Database) -> Member:
    return _member(db, "alice", "physics")


@pytest.fixture
def bob(db: Database) -> Member:
    return _member(db, "bob", "chemistry")
