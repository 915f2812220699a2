"""The job manager's users' side: creating, replaying and cancelling jobs.

The helpers here (a settable clock, members, requests) serve every test of the
job tables; the fixtures over them are in conftest.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from qharbor import errors
from qharbor.devices import default_catalogue
from qharbor.jobs.job import Job, JobStatus
from qharbor.jobs.manager import JobManager
from qharbor.jobs.preparation import prepare
from qharbor.jobs.request import JobRequest, ProgramSpec
from qharbor.security.identity import Identity
from qharbor.store import Database
from qharbor.store.tables import jobs, results
from tests.programs import BELL_QASM3 as BELL
from tests.results import a_result

DEVICES = default_catalogue()
OWNER = "scheduler-a"
LEASE_S = 30.0


class Clock:
    """A UTC clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@dataclass(frozen=True)
class Member:
    user_id: str
    project_id: str


def _member(db: Database, name: str, project: str) -> Member:
    identity = Identity(db)
    user_id, token = identity.create_user(name, project)
    return Member(user_id, identity.authenticate(token).project_id)


def request(
    device: str = "statevector",
    *,
    source: str = BELL,
    shots: int = 100,
    seed: int | None = 5,
    tags: tuple[str, ...] = (),
    key: str | None = None,
) -> JobRequest:
    return JobRequest(
        device=device,
        programs=(ProgramSpec(source),),
        shots=shots,
        seed=seed,
        tags=tags,
        idempotency_key=key,
    )


def submit(manager: JobManager, who: Member, device: str = "statevector", **kwargs) -> Job:
    job, replayed = create(manager, who, request(device, **kwargs))
    assert not replayed
    return job


def create(manager: JobManager, who: Member, job_request: JobRequest) -> tuple[Job, bool]:
    prepared = prepare(
        job_request,
        DEVICES.get(job_request.device),
        max_program_bytes=100_000,
        max_experiments=100,
    )
    return manager.create(who.project_id, who.user_id, prepared)


def row(db: Database, job_id: str):
    with db.read() as conn:
        return conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).one()


def result_rows(db: Database, job_id: str) -> list:
    with db.read() as conn:
        return conn.execute(sa.select(results).where(results.c.job_id == job_id)).all()


def claim(
    manager: JobManager,
    slots: int = 8,
    owner: str = OWNER,
    memory_free: int | None = None,
    memory_capacity: int | None = None,
    **concurrency: int,
):
    limits = {name.replace("_", "-"): n for name, n in concurrency.items()} or {"statevector": 8}
    return manager.claim(
        owner,
        LEASE_S,
        slots,
        limits,
        memory_free=memory_free,
        memory_capacity=memory_capacity,
    )


# --- create and read ------------------------------------------------------------


def test_create_stores_a_queued_job(manager: JobManager, alice: Member, clock: Clock) -> None:
    job, replayed = create(manager, alice, request(shots=123, seed=9, tags=("a", "b")))
    assert not replayed
    assert job.status is JobStatus.QUEUED
    assert (job.device, job.shots, job.seed, job.tags) == ("statevector", 123, 9, ("a", "b"))
    assert (job.num_programs, job.num_experiments, job.attempt) == (1, 1, 0)
    assert job.project == "physics"
    assert job.project_id == alice.project_id
    assert job.user_id == alice.user_id
    assert job.created_at == clock.now
    assert job.started_at is None and job.finished_at is None
    assert job.error_code is None and not job.cancel_requested
    assert manager.get(alice.project_id, job.id) == job


def test_create_announces_the_change(manager: JobManager, alice: Member, changes: list) -> None:
    job = submit(manager, alice)
    assert changes == [job.id]


# --- idempotency ------------------------------------------------------------------


def test_idempotent_replay_returns_the_same_job(manager: JobManager, alice: Member) -> None:
    first, replayed_first = create(manager, alice, request(key="k1", seed=None))
    again, replayed_again = create(manager, alice, request(key="k1", seed=None))
    assert (replayed_first, replayed_again) == (False, True)
    assert again.id == first.id
    assert again.seed == first.seed
    assert len(manager.list(alice.project_id)[0]) == 1


def test_same_key_with_a_different_body_is_an_idempotency_conflict(
    manager: JobManager, alice: Member
) -> None:
    first, _ = create(manager, alice, request(key="k1", shots=100))
    with pytest.raises(errors.IdempotencyConflict) as caught:
        create(manager, alice, request(key="k1", shots=200))
    assert caught.value.code == "IDEMPOTENCY_CONFLICT"
    assert caught.value.detail["job_id"] == first.id
    assert len(manager.list(alice.project_id)[0]) == 1


def test_idempotency_keys_belong_to_one_project(
    manager: JobManager, alice: Member, bob: Member
) -> None:
    mine, _ = create(manager, alice, request(key="shared"))
    theirs, replayed = create(manager, bob, request(key="shared"))
    assert not replayed
    assert theirs.id != mine.id


def test_jobs_without_a_key_are_never_replays(manager: JobManager, alice: Member) -> None:
    first = submit(manager, alice)
    second = submit(manager, alice)
    assert first.id != second.id


def test_key_taken_by_a_concurrent_request_is_answered_as_a_replay(
    manager: JobManager, alice: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The other request inserts between this one's lookup and its insert.
    first, _ = create(manager, alice, request(key="race"))
    real_by_key = manager._by_key
    lookups: list[str] = []

    def late_lookup(project_id: str, key: str):
        lookups.append(key)
        return None if len(lookups) == 1 else real_by_key(project_id, key)

    monkeypatch.setattr(manager, "_by_key", late_lookup)
    again, replayed = create(manager, alice, request(key="race"))
    assert replayed
    assert again.id == first.id
    with pytest.raises(errors.IdempotencyConflict):
        lookups.clear()
        create(manager, alice, request(key="race", shots=7))


# --- cancelling --------------------------------------------------------------------------


def test_cancel_of_a_queued_job_cancels_it_at_once(
    manager: JobManager, alice: Member, clock: Clock, changes: list
) -> None:
    job = submit(manager, alice)
    changes.clear()
    cancelled = manager.cancel(alice.project_id, job.id)
    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.finished_at == clock.now
    assert changes == [job.id]


def test_cancel_of_a_running_job_asks_for_it_to_stop(manager: JobManager, alice: Member) -> None:
    job = submit(manager, alice)
    other = submit(manager, alice)
    claim(manager)
    assert manager.cancel_requests([job.id, other.id]) == set()
    running = manager.cancel(alice.project_id, job.id)
    assert running.status is JobStatus.RUNNING
    assert running.cancel_requested
    assert manager.cancel_requests([job.id, other.id]) == {job.id}
    assert manager.cancel_requests([]) == set()


def test_requested_cancel_ends_the_running_attempt_as_cancelled(
    manager: JobManager, alice: Member
) -> None:
    job = submit(manager, alice)
    [claimed] = claim(manager)
    manager.cancel(alice.project_id, job.id)
    assert manager.finish_without_result(job.id, claimed.attempt, JobStatus.CANCELLED, None, None)
    assert manager.get(alice.project_id, job.id).status is JobStatus.CANCELLED


@pytest.mark.parametrize("final", [JobStatus.DONE, JobStatus.FAILED])
def test_cancel_of_a_finished_job_is_already_final(
    manager: JobManager, alice: Member, final: JobStatus
) -> None:
    job = submit(manager, alice)
    [claimed] = claim(manager)
    if final is JobStatus.DONE:
        manager.complete(job.id, claimed.attempt, a_result(job.id))
    else:
        manager.finish_without_result(job.id, claimed.attempt, final, "ENGINE_ERROR", "boom")
    with pytest.raises(errors.JobAlreadyFinal) as caught:
        manager.cancel(alice.project_id, job.id)
    assert caught.value.code == "JOB_ALREADY_FINAL"
    assert caught.value.detail["status"] == str(final)
    assert manager.get(alice.project_id, job.id).status is final


def test_cancel_of_a_cancelled_job_changes_nothing(manager: JobManager, alice: Member) -> None:
    job = submit(manager, alice)
    first = manager.cancel(alice.project_id, job.id)
    again = manager.cancel(alice.project_id, job.id)
    assert again == first
