"""Job notices cross processes through PostgreSQL LISTEN/NOTIFY."""

from __future__ import annotations

import queue
from collections.abc import Iterator

import pytest

from qharbor.store.notices import Notices, psycopg_url
from tests.conftest import POSTGRES_URL, need_postgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def pair() -> Iterator[tuple[Notices, Notices, queue.Queue[str], queue.Queue[str]]]:
    need_postgres()
    heard_a: queue.Queue[str] = queue.Queue()
    heard_b: queue.Queue[str] = queue.Queue()
    url = "postgresql+psycopg://" + POSTGRES_URL.removeprefix("postgresql://")
    a, b = Notices(url, heard_a.put), Notices(url, heard_b.put)
    a.start()
    b.start()
    assert a.wait_listening(10) and b.wait_listening(10)
    try:
        yield a, b, heard_a, heard_b
    finally:
        a.close()
        b.close()


def test_a_change_in_one_process_wakes_the_other_and_not_itself(
    pair: tuple[Notices, Notices, queue.Queue[str], queue.Queue[str]],
) -> None:
    a, b, heard_a, heard_b = pair
    a.notify("job-1")
    b.notify("job-2")
    assert heard_b.get(timeout=10) == "job-1"
    assert heard_a.get(timeout=10) == "job-2"
    a.notify("job-3")
    assert heard_b.get(timeout=10) == "job-3"
    assert heard_a.empty()


def test_sqlalchemy_urls_become_libpq_urls() -> None:
    assert psycopg_url("postgresql+psycopg://u@h:5432/db?x=1") == "postgresql://u@h:5432/db?x=1"
    assert psycopg_url("postgres://u@h/db") == "postgresql://u@h/db"
