"""The scheduler: leases queued jobs to workers and records how they end.

It runs in one thread of the centre. Within a device it serves jobs of open
sessions first, then the rest oldest first, and it never runs more of a
device's jobs at once than the device's concurrency allows. It only talks to
the job manager, the session manager and an ``Executor``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from qharbor import errors
from qharbor.devices import Catalogue, DeviceStatus
from qharbor.jobs.job import JobStatus
from qharbor.jobs.manager import Claim, JobManager
from qharbor.jobs.sessions import SessionManager
from qharbor.workers.execution import Task
from qharbor.workers.executor import Executor, Outcome, OutcomeKind

log = logging.getLogger(__name__)


class Scheduler:
    """Moves jobs from the queue to an executor and back to the manager.

    Args:
        manager: the job manager.
        catalogue: the devices, for concurrency and for what each worker needs.
        executor: where tasks run.
        lease_s: seconds a lease lasts without a heartbeat.
        heartbeat_s: seconds between lease renewals.
        max_attempts: attempts before a job whose worker keeps dying fails.
        recover_all_at_start: requeue every running job of another owner at once
            (right for a single-node centre; a cluster waits for leases to expire).
        sessions: the session manager, whose expired sessions are ended here.
        session_check_s: seconds between looks for expired sessions.
    """

    def __init__(
        self,
        manager: JobManager,
        catalogue: Catalogue,
        executor: Executor,
        *,
        lease_s: float,
        heartbeat_s: float,
        max_attempts: int,
        recover_all_at_start: bool,
        sessions: SessionManager | None = None,
        session_check_s: float = 1.0,
    ) -> None:
        self.owner = uuid.uuid4().hex
        self._manager = manager
        self._catalogue = catalogue
        self._executor = executor
        self._lease_s = lease_s
        self._heartbeat_s = heartbeat_s
        self._max_attempts = max_attempts
        self._recover_all = recover_all_at_start
        self._sessions = sessions
        self._session_check_s = session_check_s
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._recover_all:
            recovered = self._manager.recover(self._max_attempts, all_but_owner=self.owner)
            if recovered:
                log.info("recovered %d job(s) left running by a previous centre", recovered)
        self._thread = threading.Thread(target=self._loop, name="qharbor-scheduler", daemon=True)
        self._thread.start()
        self.wake()  # jobs may already be waiting

    def wait_ready(self, timeout: float) -> bool:
        """Wait until a worker can take a job, so the first jobs do not wait for start-up.

        Returns:
            Whether a worker became ready within ``timeout`` seconds.
        """
        return self._ready.wait(timeout)

    def wake(self) -> None:
        """Look at the queue now (after a submission or a cancel request)."""
        self._executor.wake()

    def stop(self) -> None:
        self._stop.set()
        self._executor.wake()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        last_heartbeat = last_recovery = last_sessions = time.monotonic()
        while not self._stop.is_set():
            try:
                busy = bool(self._executor.running())
                for outcome in self._executor.poll(0.2 if busy else 1.0):
                    self._record(outcome)
                if self._stop.is_set():
                    break
                self._stop_cancelled()
                now = time.monotonic()
                if now - last_heartbeat >= self._heartbeat_s:
                    self._manager.heartbeat(self.owner, self._lease_s)
                    last_heartbeat = now
                if now - last_recovery >= self._lease_s / 2:
                    self._manager.recover(self._max_attempts)
                    last_recovery = now
                if self._sessions is not None and now - last_sessions >= self._session_check_s:
                    self._sessions.expire_due()
                    last_sessions = now
                self._dispatch()
            except Exception:  # the database may be briefly unreachable; keep going
                log.exception("scheduler iteration failed; retrying")
                self._stop.wait(1.0)

    def _dispatch(self) -> None:
        slots = self._executor.free_slots()
        if slots <= 0:
            return
        self._ready.set()
        concurrency = {
            d.name: d.concurrency for d in self._catalogue if d.status is DeviceStatus.ONLINE
        }
        for claim in self._manager.claim(self.owner, self._lease_s, slots, concurrency):
            self._executor.submit(self._task(claim))

    def _task(self, claim: Claim) -> Task:
        return Task(
            job_id=claim.job_id,
            attempt=claim.attempt,
            device=self._catalogue.get(claim.device),
            shots=claim.shots,
            seed=claim.seed,
            programs=claim.programs,
            kind=claim.kind,
            primitive=claim.primitive,
        )

    def _stop_cancelled(self) -> None:
        running = self._executor.running()
        for job_id in self._manager.cancel_requests(running):
            outcome = self._executor.cancel(job_id)
            if outcome is not None:
                self._record(outcome)

    def _record(self, outcome: Outcome) -> None:
        job, attempt = outcome.job_id, outcome.attempt
        if outcome.kind is OutcomeKind.DONE:
            assert outcome.result is not None
            self._manager.complete(job, attempt, outcome.result)
        elif outcome.kind is OutcomeKind.FAILED:
            self._manager.finish_without_result(
                job, attempt, JobStatus.FAILED, outcome.code, outcome.message
            )
        elif outcome.kind is OutcomeKind.CANCELLED:
            self._manager.finish_without_result(job, attempt, JobStatus.CANCELLED, None, None)
        elif attempt < self._max_attempts:
            self._manager.requeue(job, attempt)
        else:
            self._manager.finish_without_result(
                job,
                attempt,
                JobStatus.FAILED,
                errors.WorkerLost.code,
                f"the worker running this job stopped {attempt} times; giving up",
            )
