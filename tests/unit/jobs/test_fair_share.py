"""Fair share: the project with the least recent usage is served first."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from qharbor.jobs.job import Job
from qharbor.jobs.manager import JobManager
from qharbor.jobs.policy import FairShare
from qharbor.jobs.preparation import prepare
from qharbor.security.usage import UsageLedger, charge
from qharbor.store import Database
from tests.results import a_result
from tests.unit.jobs.test_manager import DEVICES, Clock, Member, _member, request, submit

HOUR = 3600.0


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def manager(db: Database, clock: Clock) -> JobManager:
    return JobManager(db, clock=clock)


@pytest.fixture
def heavy(db: Database) -> Member:
    return _member(db, "heavy", "big-lab")


@pytest.fixture
def light(db: Database) -> Member:
    return _member(db, "light", "small-lab")


def use(db: Database, who: Member, seconds: float, at: dt.datetime, n: int = 0) -> None:
    with db.write() as conn:
        charge(
            conn,
            job_id=f"past-{who.project_id[:24]}-{n}",
            project_id=who.project_id,
            device="statevector",
            device_s=seconds,
            at=at,
        )


def test_recent_usage_decays_by_half_each_half_life(
    db: Database, heavy: Member, clock: Clock
) -> None:
    use(db, heavy, 100.0, clock.now - dt.timedelta(hours=1), 1)
    use(db, heavy, 100.0, clock.now - dt.timedelta(hours=2), 2)
    scores = UsageLedger(db).decayed(HOUR, now=clock.now)
    assert scores[heavy.project_id] == pytest.approx(50.0 + 25.0)


def test_the_project_with_less_recent_usage_is_served_first(
    db: Database, manager: JobManager, heavy: Member, light: Member, clock: Clock
) -> None:
    """The heavy project queued first and has older jobs, yet the light one goes first."""
    use(db, heavy, 500.0, clock.now - dt.timedelta(minutes=10))
    heavy_jobs = [submit(manager, heavy).id for _ in range(4)]
    clock.advance(1)
    light_jobs = [submit(manager, light).id for _ in range(2)]
    shares = UsageLedger(db).decayed(HOUR, now=clock.now)
    order = []
    for _ in range(6):
        [claim] = manager.claim("s", 30.0, 1, {"statevector": 1}, FairShare(shares))
        order.append(claim.job_id)
        manager.complete(claim.job_id, claim.attempt, a_result(claim.job_id, run_s=0.0))
    assert order == light_jobs + heavy_jobs


def test_without_fair_share_the_oldest_job_goes_first(
    db: Database, manager: JobManager, heavy: Member, light: Member, clock: Clock
) -> None:
    use(db, heavy, 500.0, clock.now - dt.timedelta(minutes=10))
    first = submit(manager, heavy).id
    submit(manager, light)
    [claim] = manager.claim("s", 30.0, 1, {"statevector": 1}, None)
    assert claim.job_id == first


def test_equal_usage_falls_back_to_age(
    manager: JobManager, heavy: Member, light: Member, clock: Clock
) -> None:
    first = submit(manager, light).id
    clock.advance(1)
    submit(manager, heavy)
    [claim] = manager.claim("s", 30.0, 1, {"statevector": 1}, FairShare({}))
    assert claim.job_id == first


def test_a_light_project_is_not_hidden_behind_a_long_queue(
    db: Database, manager: JobManager, heavy: Member, light: Member, clock: Clock
) -> None:
    use(db, heavy, 500.0, clock.now)
    for _ in range(40):
        submit(manager, heavy)
    late = submit(manager, light).id
    shares = UsageLedger(db).decayed(HOUR, now=clock.now)
    claims = manager.claim("s", 30.0, 2, {"statevector": 2}, FairShare(shares))
    assert claims[0].job_id == late
    assert len(claims) == 2


def in_session(manager: JobManager, who: Member) -> Job:
    """A job queued as the API queues a session's job: with priority 1."""
    prepared = prepare(
        request(), DEVICES.get("statevector"), max_program_bytes=100_000, max_experiments=100
    )
    job, _ = manager.create(who.project_id, who.user_id, replace(prepared, priority=1))
    return job


def test_a_heavy_projects_session_jobs_wait_behind_a_light_project(
    db: Database, manager: JobManager, heavy: Member, light: Member, clock: Clock
) -> None:
    """Session priority stays within fair share: the heavy project put its jobs in a
    session, queued first, and still goes after the light project."""
    use(db, heavy, 500.0, clock.now - dt.timedelta(minutes=10))
    heavy_jobs = [in_session(manager, heavy).id for _ in range(3)]
    clock.advance(1)
    light_jobs = [submit(manager, light).id for _ in range(2)]
    shares = UsageLedger(db).decayed(HOUR, now=clock.now)
    order = []
    for _ in range(5):
        [claim] = manager.claim("s", 30.0, 1, {"statevector": 1}, FairShare(shares))
        order.append(claim.job_id)
        manager.complete(claim.job_id, claim.attempt, a_result(claim.job_id, run_s=0.0))
    assert order == light_jobs + heavy_jobs


def test_session_jobs_go_first_within_their_project_and_when_it_is_within_its_share(
    db: Database, manager: JobManager, heavy: Member, light: Member, clock: Clock
) -> None:
    use(db, heavy, 500.0, clock.now - dt.timedelta(minutes=10))
    heavy_job = submit(manager, heavy).id
    light_plain = submit(manager, light).id
    light_session = in_session(manager, light).id
    shares = UsageLedger(db).decayed(HOUR, now=clock.now)
    claims = manager.claim("s", 30.0, 3, {"statevector": 3}, FairShare(shares))
    assert [c.job_id for c in claims] == [light_session, light_plain, heavy_job]
