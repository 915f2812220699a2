"""The scheduler: leases queued jobs to workers and records how they end.

It runs in one thread of the centre. While a project's approved reservation
holds a device, only that project's jobs start on it (``jobs.policy.Reserved``).
Otherwise it serves the project with the least
recent usage first (fair share), and within a project its session jobs, then
its oldest jobs; a session's jobs go ahead of other projects' only while their
project is within its fair share (``jobs.policy``). It never runs more of a device's jobs at once
than the device's concurrency allows. Jobs of a device that is not ONLINE stay
queued; the jobs running on a device that goes OFFLINE are stopped and put back
in the queue. It only talks to the job manager, the session manager, the fleet
(for device status and the calibration in force) and an ``Executor``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from qharbor import errors
from qharbor.devices import Catalogue, DeviceStatus
from qharbor.devices.fleet import Fleet
from qharbor.executors.base import Executor, Outcome, OutcomeKind
from qharbor.jobs import leases, policy
from qharbor.jobs.claims import Claim
from qharbor.jobs.job import JobStatus
from qharbor.jobs.manager import JobManager
from qharbor.jobs.sessions import SessionManager
from qharbor.security.keys import KeyStore

log = logging.getLogger(__name__)

#: Seconds after which the scheduler looks at a queue it knows to be empty anyway.
_LOOK_ANYWAY_S = 1.0


class Bookings(Protocol):
    """The reserved windows, as the scheduler needs them (``qharbor.accounting.reservations``)."""

    def holds(self) -> Mapping[str, str]:
        """Each device under an approved window now, with the project holding it."""
        ...

    def settle(self) -> int:
        """Close (and charge) the windows that have ended."""
        ...


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
        fleet: device status and calibrations; without one every device is ONLINE.
        keys: the centre's keys, to hand workers what sealed jobs need; without
            them sealed jobs fail.
        shares: returns each project's decayed recent usage for fair share; None
            serves every job oldest first.
        shares_refresh_s: seconds between calls to ``shares``.
        reservations: the reserved windows; ended ones are settled here, beside the
            sessions. None: no reservations.
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
        fleet: Fleet | None = None,
        keys: KeyStore | None = None,
        shares: Callable[[], Mapping[str, float]] | None = None,
        shares_refresh_s: float = 5.0,
        reservations: Bookings | None = None,
    ) -> None:
        self.owner = leases.centre_owner()
        self._manager = manager
        self._catalogue = catalogue
        self._executor = executor
        self._lease_s = lease_s
        self._heartbeat_s = heartbeat_s
        self._max_attempts = max_attempts
        self._recover_all = recover_all_at_start
        self._sessions = sessions
        self._session_check_s = session_check_s
        self._fleet = fleet
        self._devices: dict[str, str] = {}  # running job id -> device
        self._keys = keys
        self._shares = shares
        self._shares_refresh_s = shares_refresh_s
        self._shares_at = float("-inf")
        self._share_cache: Mapping[str, float] = {}
        self._reservations = reservations
        # Set by wake(): the next claim goes straight to the queue (see _dispatch).
        self._woken = False
        # When a claim last found no job queued on any device (monotonic seconds);
        # None once this scheduler put a job back or has not looked.
        self._queue_empty_at: float | None = None
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

    @property
    def alive(self) -> bool:
        """Whether the scheduler's thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until a worker can take a job, so the first jobs do not wait for start-up.

        Returns:
            Whether a worker became ready within ``timeout`` seconds.
        """
        return self._ready.wait(timeout)

    def wake(self) -> None:
        """Look at the queue now (after a submission or a cancel request)."""
        self._woken = True
        self._executor.wake()

    def stop(self) -> None:
        self._stop.set()
        self._executor.wake()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        last_heartbeat = last_recovery = last_sessions = time.monotonic()
        failing: str | None = None  # the last failure, logged once until an iteration succeeds
        while not self._stop.is_set():
            try:
                busy = bool(self._executor.running())
                for outcome in self._executor.poll(0.2 if busy else 1.0):
                    self._record(outcome)
                if self._stop.is_set():
                    break
                self._record_progress()
                self._stop_cancelled()
                self._requeue_offline()
                now = time.monotonic()
                if now - last_heartbeat >= self._heartbeat_s:
                    self._manager.heartbeat(self.owner, self._lease_s)
                    last_heartbeat = now
                if now - last_recovery >= self._lease_s / 2:
                    if self._manager.recover(self._max_attempts):
                        self._queue_empty_at = None
                    last_recovery = now
                if now - last_sessions >= self._session_check_s:
                    if self._sessions is not None:
                        self._sessions.expire_due()
                    if self._reservations is not None:
                        self._reservations.settle()
                    last_sessions = now
                self._dispatch()
            except Exception as exc:  # the database may be briefly unreachable; keep going
                what = f"{type(exc).__name__}: {exc}"
                if what != failing:
                    log.exception("scheduler iteration failed; retrying every second")
                    failing = what
                self._stop.wait(1.0)
            else:
                if failing is not None:
                    log.warning("scheduler runs again after: %s", failing)
                    failing = None

    def _dispatch(self) -> None:
        slots = self._executor.free_slots()
        if slots <= 0:
            return
        self._ready.set()
        if self._queue_still_empty():
            return
        concurrency = {
            d.name: d.concurrency
            for d in self._catalogue
            if self._status(d.name) is DeviceStatus.ONLINE
        }
        # Cleared before the claim: a wake-up that comes during it is kept for the next.
        woken, self._woken = self._woken, False
        looked = time.monotonic()
        leased = self._manager.lease_queued(
            self.owner,
            self._lease_s,
            slots,
            concurrency,
            self._policy(),
            memory_free=self._executor.free_memory(),
            memory_capacity=self._executor.memory_capacity(),
            expect_queued=woken,
        )
        self._queue_empty_at = looked if leased.queue_empty else None
        # Each claim has a worker; the last one also gets the workers no claim took,
        # which a large batch is split over.
        spare = slots - len(leased.claims)
        for number, claim in enumerate(leased.claims, start=1):
            try:
                task = self._prepare(claim)
            except errors.QHarborError as exc:
                self._manager.finish_without_result(
                    claim.job_id, claim.attempt, JobStatus.FAILED, exc.code, exc.message
                )
                continue
            except Exception:  # e.g. the calibration could not be read: try again later
                log.exception("could not prepare job %s; requeued", claim.job_id)
                self._requeue(claim.job_id, claim.attempt)
                continue
            self._devices[claim.job_id] = claim.device
            self._executor.submit(task, 1 + spare if number == len(leased.claims) else 1)

    def _queue_still_empty(self) -> bool:
        """Whether the last claim left no job queued, and nothing could have queued one.

        Every job stored (here, or by another process sharing the database) wakes
        the scheduler, and every job it puts back goes through :meth:`_requeue`;
        so after a job ends, the claim that would look at an empty queue is
        skipped. A look at least every ``_LOOK_ANYWAY_S`` covers whatever
        changes the table without a word (an operator's hand, say).
        """
        if self._woken or self._queue_empty_at is None:
            return False
        return time.monotonic() - self._queue_empty_at < _LOOK_ANYWAY_S

    def _requeue(self, job_id: str, attempt: int) -> None:
        """Put a job back in the queue, which is then no longer known to be empty."""
        self._queue_empty_at = None
        self._manager.requeue(job_id, attempt)

    def _status(self, device: str) -> DeviceStatus:
        if self._fleet is None:
            return self._catalogue.get(device).status
        return self._fleet.status(device)

    def _policy(self) -> policy.QueuePolicy | None:
        """Reservations, then fair share over the projects' recent usage (refreshed now
        and then)."""
        holds = self._reservations.holds() if self._reservations is not None else {}
        if self._shares is None:
            return policy.Reserved(holds, policy.FairShare({})) if holds else None
        now = time.monotonic()
        if now - self._shares_at >= self._shares_refresh_s:
            self._share_cache = self._shares()
            self._shares_at = now
        fair = policy.FairShare(self._share_cache)
        return policy.Reserved(holds, fair) if holds else fair

    def _prepare(self, claim: Claim) -> Claim:
        device = self._catalogue.get(claim.device)
        capacity = self._executor.memory_capacity()
        if capacity is not None and claim.memory_bytes > capacity:
            # Queued before this host's memory limit was lowered.
            raise errors.DeviceLimit(
                f"the job needs {claim.memory_bytes} bytes of memory; this host's jobs may "
                f"use {capacity} together; submit it again with fewer qubits",
                memory_bytes=claim.memory_bytes,
                capacity_bytes=capacity,
            )
        twin = None
        if device.twin is not None and self._fleet is not None:
            # The calibration in force as the job starts; the result records its id.
            twin = self._fleet.twin_document(device.name).to_json()
        program_key = result_key = None
        if claim.sealed or claim.result_key_id:
            if self._keys is None:
                raise errors.SealedPayloadInvalid("this scheduler holds no keys for sealed jobs")
            if claim.sealed:
                # Only this job's AES key goes to the worker, never the centre's private key.
                program_key = self._keys.unwrap(claim.programs[0]["sealed"])
            if claim.result_key_id:
                user_key = self._keys.user_key_by_id(claim.result_key_id)
                result_key = (user_key.id, user_key.public_key)
        return claim.prepared(device, twin=twin, program_key=program_key, result_key=result_key)

    def _requeue_offline(self) -> None:
        """Stop the jobs running on an OFFLINE device and queue them again."""
        running = self._executor.running()
        for job_id in list(self._devices):
            if job_id not in running:
                del self._devices[job_id]
        for job_id, device in list(self._devices.items()):
            if self._status(device) is not DeviceStatus.OFFLINE:
                continue
            outcome = self._executor.cancel(job_id)
            self._devices.pop(job_id, None)
            if outcome is not None:
                log.warning("device %s went offline; job %s goes back to the queue", device, job_id)
                self._requeue(job_id, outcome.attempt)

    def _record_progress(self) -> None:
        """Store how far fanned-out jobs have come (an executor that reports it)."""
        progress = getattr(self._executor, "progress", None)
        if progress is None:
            return
        for job_id, step in progress().items():
            self._manager.record_progress(job_id, step.attempt, step.done, step.total)

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
            self._requeue(job, attempt)
        else:
            self._manager.finish_without_result(
                job,
                attempt,
                JobStatus.FAILED,
                errors.WorkerLost.code,
                f"the worker running this job stopped {attempt} times; giving up",
            )
