"""The scheduler loop, driven with an executor that runs nothing for real."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from qharbor.devices import Catalogue, DeviceStatus, default_catalogue
from qharbor.devices.catalogue import memory_need
from qharbor.engines.memory import Workload
from qharbor.executors.base import Outcome, OutcomeKind
from qharbor.jobs import scheduler as scheduler_module
from qharbor.jobs.claims import Claim
from qharbor.jobs.job import JobStatus
from qharbor.jobs.manager import JobManager
from qharbor.jobs.parsed import ParsedProgram
from qharbor.jobs.preparation import prepare
from qharbor.jobs.request import JobRequest, ProgramSpec
from qharbor.jobs.scheduler import Scheduler
from qharbor.security.identity import Identity
from qharbor.store import Database
from tests.results import a_result

DEADLINE_S = 20.0  # generous: only a broken scheduler ever waits this long
MAX_ATTEMPTS = 2

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\nmeasure q -> c;\n'

Finish = Callable[[Claim], Outcome | None]


def done(task: Claim) -> Outcome:
    result = a_result(task.job_id, attempt=task.attempt)
    return Outcome(OutcomeKind.DONE, task.job_id, task.attempt, result=result)


class FakeExecutor:
    """Ends each task as ``finish`` says when it is submitted; None keeps it running."""

    def __init__(self, finish: Finish, size: int = 2, memory: int | None = None) -> None:
        self.finish = finish
        self.size = size
        self.memory = memory  # the capacity it reports; free memory is not tracked
        self.submitted: list[Claim] = []
        self.shares: list[int] = []  # the free workers each submission was offered
        self.refused = 0  # submissions beyond the free slots
        self.polls = 0
        self._running: dict[str, Claim] = {}
        self._outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._woken = threading.Event()

    def free_memory(self) -> int | None:
        return None

    def memory_capacity(self) -> int | None:
        return self.memory

    def free_slots(self) -> int:
        with self._lock:
            return self.size - len(self._running)

    def submit(self, task: Claim, slots: int = 1) -> None:
        with self._lock:
            self.shares.append(slots)
            if len(self._running) >= self.size:
                self.refused += 1
                raise RuntimeError("no free worker")
            self.submitted.append(task)
            outcome = self.finish(task)
            if outcome is None:
                self._running[task.job_id] = task
            else:
                self._outcomes.append(outcome)
        self._woken.set()

    def poll(self, timeout: float) -> list[Outcome]:
        self._woken.wait(timeout)
        with self._lock:
            self.polls += 1
            self._woken.clear()
            outcomes, self._outcomes = self._outcomes, []
        return outcomes

    def cancel(self, job_id: str) -> Outcome | None:
        with self._lock:
            task = self._running.pop(job_id, None)
        if task is None:
            return None
        return Outcome(OutcomeKind.CANCELLED, task.job_id, task.attempt)

    def wake(self) -> None:
        self._woken.set()

    def running(self) -> dict[str, int]:
        with self._lock:
            return {job_id: task.attempt for job_id, task in self._running.items()}

    def close(self) -> None:
        pass


@pytest.fixture
def manager(db: Database) -> JobManager:
    return JobManager(db)


@pytest.fixture
def project(db: Database) -> tuple[str, str]:
    identity = Identity(db)
    user_id, token = identity.create_user("alice", "physics")
    return identity.authenticate(token).project_id, user_id


def submit(manager: JobManager, project: tuple[str, str], device: str = "statevector") -> str:
    catalogue = default_catalogue()
    prepared = prepare(
        JobRequest(device, (ProgramSpec(BELL),), seed=1),
        catalogue.get(device),
        max_program_bytes=100_000,
        max_experiments=10,
    )
    job, _ = manager.create(project[0], project[1], prepared)
    return job.id


@pytest.fixture
def run_scheduler(manager: JobManager) -> Iterator[Callable[..., Scheduler]]:
    started: list[Scheduler] = []

    def start(
        executor: FakeExecutor, catalogue: Catalogue | None = None, recover_all: bool = False
    ) -> Scheduler:
        scheduler = Scheduler(
            manager,
            catalogue or default_catalogue(),
            executor,
            lease_s=30.0,
            heartbeat_s=10.0,
            max_attempts=MAX_ATTEMPTS,
            recover_all_at_start=recover_all,
        )
        scheduler.start()
        started.append(scheduler)
        scheduler.wake()  # as a submission would; the first poll need not wait
        return scheduler

    yield start
    for scheduler in started:
        scheduler.stop()


def wait_for_status(
    manager: JobManager, project: tuple[str, str], job_id: str, *statuses: JobStatus
) -> JobStatus:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        status = manager.get(project[0], job_id).status
        if status in statuses or time.monotonic() > deadline:
            return status
        time.sleep(0.02)


def test_queued_jobs_are_run_and_their_results_stored(
    manager: JobManager, project, run_scheduler
) -> None:
    ids = [submit(manager, project) for _ in range(3)]
    executor = FakeExecutor(done)
    run_scheduler(executor)
    for job_id in ids:
        assert wait_for_status(manager, project, job_id, JobStatus.DONE) is JobStatus.DONE
        assert manager.result(project[0], job_id)["metadata"]["attempt"] == 1
    assert [t.job_id for t in executor.submitted] == ids


def test_after_a_job_ends_an_empty_queue_is_not_read_again_until_a_wake_up(
    manager: JobManager, project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler_module, "_LOOK_ANYWAY_S", 600.0)
    looks: list[int] = []
    lease_queued = manager.lease_queued

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        leased = lease_queued(*args, **kwargs)
        looks.append(len(leased.claims))
        return leased

    monkeypatch.setattr(manager, "lease_queued", counted)
    first = submit(manager, project)
    # Started here, with the one wake-up start() gives, so each look is accounted for.
    scheduler = Scheduler(
        manager,
        default_catalogue(),
        FakeExecutor(done),
        lease_s=30.0,
        heartbeat_s=10.0,
        max_attempts=MAX_ATTEMPTS,
        recover_all_at_start=False,
    )
    scheduler.start()
    try:
        assert wait_for_status(manager, project, first, JobStatus.DONE) is JobStatus.DONE
        time.sleep(0.3)  # the iteration that recorded the end, and a few more
        assert looks == [1]  # the claim itself saw the queue left empty
        second = submit(manager, project)
        scheduler.wake()  # as a submission does
        assert wait_for_status(manager, project, second, JobStatus.DONE) is JobStatus.DONE
        assert looks[-1] == 1
    finally:
        scheduler.stop()


def test_a_job_put_back_in_the_queue_runs_again_without_a_wake_up(
    manager: JobManager, project, run_scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler_module, "_LOOK_ANYWAY_S", 600.0)
    attempts: list[int] = []

    def lost_once(task: Claim) -> Outcome:
        attempts.append(task.attempt)
        if task.attempt == 1:
            return Outcome(OutcomeKind.LOST, task.job_id, task.attempt)
        return done(task)

    job_id = submit(manager, project)
    run_scheduler(FakeExecutor(lost_once))
    assert wait_for_status(manager, project, job_id, JobStatus.DONE) is JobStatus.DONE
    assert attempts == [1, 2]


def test_task_carries_the_job_and_its_device(manager: JobManager, project, run_scheduler) -> None:
    job_id = submit(manager, project, "mps")
    executor = FakeExecutor(done)
    run_scheduler(executor)
    wait_for_status(manager, project, job_id, JobStatus.DONE)
    [task] = executor.submitted
    assert (task.job_id, task.attempt, task.device, task.runs_on.name, task.seed) == (
        job_id,
        1,
        "mps",
        "mps",
        1,
    )
    assert ParsedProgram.from_json(task.programs[0]).source == BELL


def test_failed_task_fails_the_job_with_its_code(
    manager: JobManager, project, run_scheduler
) -> None:
    job_id = submit(manager, project)

    def fail(task: Claim) -> Outcome:
        return Outcome(
            OutcomeKind.FAILED, task.job_id, task.attempt, code="ENGINE_ERROR", message="x"
        )

    run_scheduler(FakeExecutor(fail))
    assert wait_for_status(manager, project, job_id, JobStatus.FAILED) is JobStatus.FAILED
    job = manager.get(project[0], job_id)
    assert (job.error_code, job.error_message) == ("ENGINE_ERROR", "x")


def test_task_carries_the_memory_need_of_its_job(
    manager: JobManager, project, run_scheduler
) -> None:
    job_id = submit(manager, project)
    executor = FakeExecutor(done)
    run_scheduler(executor)
    wait_for_status(manager, project, job_id, JobStatus.DONE)
    [task] = executor.submitted
    statevector = default_catalogue().get("statevector")
    assert task.memory_bytes == memory_need(statevector, [Workload(2)]) > 0


def test_a_job_that_no_longer_fits_the_hosts_memory_fails_with_device_limit(
    manager: JobManager, project, run_scheduler
) -> None:
    # Stored when the host's limit was higher: now its need is more than all there is.
    job_id = submit(manager, project)
    executor = FakeExecutor(done, memory=1)
    run_scheduler(executor)
    assert wait_for_status(manager, project, job_id, JobStatus.FAILED) is JobStatus.FAILED
    assert manager.get(project[0], job_id).error_code == "DEVICE_LIMIT"
    assert executor.submitted == []


def test_lost_worker_is_retried_with_a_new_attempt(
    manager: JobManager, project, run_scheduler
) -> None:
    job_id = submit(manager, project)

    def lose_first(task: Claim) -> Outcome:
        if task.attempt == 1:
            return Outcome(OutcomeKind.LOST, task.job_id, task.attempt)
        return done(task)

    executor = FakeExecutor(lose_first)
    run_scheduler(executor)
    assert wait_for_status(manager, project, job_id, JobStatus.DONE) is JobStatus.DONE
    assert [t.attempt for t in executor.submitted] == [1, 2]
    assert manager.result(project[0], job_id)["metadata"]["attempt"] == 2


def test_job_whose_worker_is_always_lost_fails_with_worker_lost(
    manager: JobManager, project, run_scheduler
) -> None:
    job_id = submit(manager, project)
    executor = FakeExecutor(lambda task: Outcome(OutcomeKind.LOST, task.job_id, task.attempt))
    run_scheduler(executor)
    assert wait_for_status(manager, project, job_id, JobStatus.FAILED) is JobStatus.FAILED
    assert manager.get(project[0], job_id).error_code == "WORKER_LOST"
    assert len(executor.submitted) == MAX_ATTEMPTS


def test_cancel_of_a_running_job_stops_its_worker(
    manager: JobManager, project, run_scheduler
) -> None:
    job_id = submit(manager, project)
    executor = FakeExecutor(lambda task: None)
    scheduler = run_scheduler(executor)
    assert wait_for_status(manager, project, job_id, JobStatus.RUNNING) is JobStatus.RUNNING
    manager.cancel(project[0], job_id)
    scheduler.wake()
    assert wait_for_status(manager, project, job_id, JobStatus.CANCELLED) is JobStatus.CANCELLED
    assert executor.running() == {}


def test_no_more_tasks_than_free_slots_are_started(
    manager: JobManager, project, run_scheduler
) -> None:
    ids = [submit(manager, project) for _ in range(3)]
    executor = FakeExecutor(lambda task: None, size=1)
    run_scheduler(executor)
    assert wait_for_status(manager, project, ids[0], JobStatus.RUNNING) is JobStatus.RUNNING
    # Let the loop go round a few more times, each a chance to over-submit.
    polls = executor.polls
    deadline = time.monotonic() + DEADLINE_S
    while executor.polls < polls + 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [manager.get(project[0], i).status for i in ids[1:]] == [JobStatus.QUEUED] * 2
    assert len(executor.submitted) == 1
    assert executor.refused == 0


def test_a_job_claimed_alone_is_offered_every_free_worker(
    manager: JobManager, project, run_scheduler
) -> None:
    job_id = submit(manager, project)
    executor = FakeExecutor(lambda task: None, size=3)
    run_scheduler(executor)
    assert wait_for_status(manager, project, job_id, JobStatus.RUNNING) is JobStatus.RUNNING
    assert executor.shares == [3]


def test_jobs_claimed_together_leave_a_worker_to_each(
    manager: JobManager, project, run_scheduler
) -> None:
    ids = [submit(manager, project) for _ in range(2)]
    executor = FakeExecutor(lambda task: None, size=3)
    run_scheduler(executor)
    for job_id in ids:
        assert wait_for_status(manager, project, job_id, JobStatus.RUNNING) is JobStatus.RUNNING
    assert executor.shares == [1, 2]
    assert executor.refused == 0


def test_jobs_for_a_device_that_is_not_online_wait(
    manager: JobManager, project, run_scheduler
) -> None:
    devices = [
        dataclasses.replace(d, status=DeviceStatus.MAINTENANCE) if d.name == "mps" else d
        for d in default_catalogue()
    ]
    waiting = submit(manager, project, "mps")
    runs = submit(manager, project, "statevector")
    run_scheduler(FakeExecutor(done), Catalogue(devices))
    assert wait_for_status(manager, project, runs, JobStatus.DONE) is JobStatus.DONE
    assert manager.get(project[0], waiting).status is JobStatus.QUEUED


def test_start_takes_over_jobs_left_running_by_a_previous_centre(
    manager: JobManager, project, run_scheduler
) -> None:
    job_id = submit(manager, project)
    [claim] = manager.claim("previous-centre", 3600.0, 1, {"statevector": 1})
    executor = FakeExecutor(done)
    run_scheduler(executor, recover_all=True)
    assert wait_for_status(manager, project, job_id, JobStatus.DONE) is JobStatus.DONE
    assert [t.attempt for t in executor.submitted] == [claim.attempt + 1]


class FailingExecutor(FakeExecutor):
    """An executor whose first few polls of running work fail, as a broken status would."""

    def __init__(self, failures: int) -> None:
        super().__init__(done)
        self.failures = failures

    def running(self) -> dict[str, int]:
        if self.failures > 0:
            self.failures -= 1
            raise OverflowError("date value out of range")
        return super().running()


def test_an_iteration_that_keeps_failing_is_logged_once_and_its_recovery_once(
    manager: JobManager, project, run_scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    executor = FailingExecutor(failures=3)
    with caplog.at_level(logging.INFO, logger="qharbor.jobs.scheduler"):
        run_scheduler(executor)
        job = submit(manager, project)
        assert wait_for_status(manager, project, job, JobStatus.DONE) is JobStatus.DONE
    assert executor.failures == 0
    failures = [r for r in caplog.records if "iteration failed" in r.getMessage()]
    recoveries = [r for r in caplog.records if "runs again" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is not None
    assert len(recoveries) == 1
