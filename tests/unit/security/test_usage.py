"""The usage ledger: measured device time charged when jobs end, reported per day."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from qharbor.jobs.job import JobStatus
from qharbor.jobs.manager import JobManager
from qharbor.security.usage import UsageLedger
from qharbor.store import Database
from qharbor.store.tables import usage
from tests.results import a_result
from tests.unit.jobs.test_manager import Clock, Member, _member, submit


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def manager(db: Database, clock: Clock) -> JobManager:
    return JobManager(db, clock=clock)


@pytest.fixture
def alice(db: Database) -> Member:
    return _member(db, "alice", "physics")


def ledger_rows(db: Database) -> list[tuple[str, float]]:
    with db.read() as conn:
        return [
            (r.job_id, r.device_s)
            for r in conn.execute(sa.select(usage.c.job_id, usage.c.device_s)).all()
        ]


def test_a_done_job_is_charged_its_measured_run_time(
    db: Database, manager: JobManager, alice: Member
) -> None:
    job = submit(manager, alice)
    [claim] = manager.claim("s", 30.0, 1, {"statevector": 1})
    manager.complete(claim.job_id, claim.attempt, a_result(claim.job_id, run_s=1.5))
    assert ledger_rows(db) == [(job.id, 1.5)]


def test_a_twin_job_is_charged_the_device_time_of_its_timing_model(
    db: Database, manager: JobManager, alice: Member
) -> None:
    job = submit(manager, alice)
    [claim] = manager.claim("s", 30.0, 1, {"statevector": 1})
    manager.complete(claim.job_id, claim.attempt, a_result(claim.job_id, run_s=0.2, qpu_s=3.5))
    assert ledger_rows(db) == [(job.id, 3.5)]


def test_a_job_cancelled_before_it_started_costs_nothing(
    db: Database, manager: JobManager, alice: Member
) -> None:
    job = submit(manager, alice)
    manager.cancel(alice.project_id, job.id)
    assert ledger_rows(db) == []


def test_a_job_stopped_while_running_is_charged_the_time_it_held_the_device(
    db: Database, manager: JobManager, alice: Member, clock: Clock
) -> None:
    job = submit(manager, alice)
    [claim] = manager.claim("s", 30.0, 1, {"statevector": 1})
    clock.advance(4)
    manager.finish_without_result(claim.job_id, claim.attempt, JobStatus.CANCELLED, None, None)
    assert ledger_rows(db) == [(job.id, pytest.approx(4.0))]


def test_a_late_answer_from_a_replaced_attempt_is_not_charged_twice(
    db: Database, manager: JobManager, alice: Member
) -> None:
    submit(manager, alice)
    [claim] = manager.claim("s", 30.0, 1, {"statevector": 1})
    assert manager.complete(claim.job_id, claim.attempt, a_result(claim.job_id, run_s=1.0))
    assert not manager.complete(claim.job_id, claim.attempt, a_result(claim.job_id, run_s=9.0))
    assert [s for _, s in ledger_rows(db)] == [1.0]


def test_the_report_groups_by_project_device_and_day(
    db: Database, manager: JobManager, alice: Member, clock: Clock
) -> None:
    for run_s in (1.0, 2.0):
        submit(manager, alice)
        [claim] = manager.claim("s", 30.0, 1, {"statevector": 1})
        manager.complete(claim.job_id, claim.attempt, a_result(claim.job_id, run_s=run_s))
    clock.advance(24 * 3600)
    submit(manager, alice)
    [claim] = manager.claim("s", 30.0, 1, {"statevector": 1})
    manager.complete(claim.job_id, claim.attempt, a_result(claim.job_id, run_s=4.0))
    ledger = UsageLedger(db)
    report = ledger.report([alice.project_id])
    assert report == [
        {
            "project": "physics",
            "device": "statevector",
            "day": "2025-03-01",
            "device_s": 3.0,
            "jobs": 2,
            "reservations": 0,
        },
        {
            "project": "physics",
            "device": "statevector",
            "day": "2025-03-02",
            "device_s": 4.0,
            "jobs": 1,
            "reservations": 0,
        },
    ]
    assert ledger.report([alice.project_id], since=dt.date(2025, 3, 2))[0]["jobs"] == 1
    assert ledger.report(["another-project"]) == []
