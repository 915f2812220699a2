"""The backlog the quota check admits against: a project's unfinished jobs and their time."""

from __future__ import annotations

from qharbor.jobs import backlog
from qharbor.jobs.job import JobStatus
from qharbor.jobs.manager import JobManager
from qharbor.jobs.preparation import prepare
from qharbor.store import Database
from tests.results import a_result
from tests.unit.jobs.test_manager import DEVICES, Member, claim, request, submit


def test_unfinished_jobs_count_only_the_projects_queued_and_running_jobs(
    db: Database, manager: JobManager, alice: Member, bob: Member
) -> None:
    mine = [submit(manager, alice) for _ in range(4)]
    submit(manager, bob)
    done, _running = claim(manager, slots=2)
    manager.complete(done.job_id, done.attempt, a_result(done.job_id))
    manager.cancel(alice.project_id, mine[3].id)
    page, _ = manager.list(alice.project_id)
    statuses = [job.status for job in page]
    assert sorted(statuses) == sorted(
        [JobStatus.DONE, JobStatus.RUNNING, JobStatus.QUEUED, JobStatus.CANCELLED]
    )
    with db.read() as conn:
        assert backlog.count(conn, alice.project_id) == 2
        assert backlog.count(conn, bob.project_id) == 1


def test_reserved_seconds_sum_the_estimates_of_unfinished_jobs_on_the_devices(
    db: Database, manager: JobManager, alice: Member, bob: Member
) -> None:
    def store(who: Member, device: str, estimate_s: float) -> str:
        prepared = prepare(
            request(device), DEVICES.get(device), max_program_bytes=100_000, max_experiments=100
        )
        job, _ = manager.create(who.project_id, who.user_id, prepared, estimated_s=estimate_s)
        return job.id

    first = store(alice, "statevector", 10.0)
    for _ in range(2):
        store(alice, "statevector", 10.0)
    store(alice, "mps", 5.0)
    store(bob, "statevector", 100.0)
    [claimed] = claim(manager, slots=1)
    assert claimed.job_id == first
    manager.complete(first, claimed.attempt, a_result(first))
    with db.read() as conn:
        assert backlog.reserved_s(conn, alice.project_id, ["statevector"]) == 20.0
        assert backlog.reserved_s(conn, alice.project_id, ["statevector", "mps"]) == 25.0
        assert backlog.reserved_s(conn, alice.project_id, []) == 0.0
        assert backlog.reserved_s(conn, bob.project_id, ("statevector",)) == 100.0
