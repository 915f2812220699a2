"""The job manager: the only code that writes job and result rows.

Every state change is one conditional UPDATE. Changes made on behalf of a worker
are fenced by the attempt number, so a late answer from a worker that was given
up on can never overwrite the answer of the attempt that replaced it.

The users' side (submitting, cancelling, erasing) is here; the scheduler's side
(claims, leases and the fenced answers of attempts) is in :mod:`qharbor.jobs.leases`,
and the reads both build on are in :mod:`qharbor.jobs.queries`.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from qharbor import errors, wire
from qharbor.accounting import reservations
from qharbor.jobs.endings import JobEnding
from qharbor.jobs.job import Job, JobStatus
from qharbor.jobs.leases import Leases
from qharbor.jobs.request import PreparedJob
from qharbor.jobs.result import Result, signature_context
from qharbor.security import usage
from qharbor.security.signing import Signer
from qharbor.store import Database
from qharbor.store.tables import job_tags, jobs, projects, results

_INSERT_JOB = jobs.insert()
_INSERT_RESULT = results.insert()

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RanJob:
    """A job that ran outside the queue, to be stored by :meth:`JobManager.record_ran`."""

    job_id: str
    prepared: PreparedJob
    #: What the engine returned (never sealed), without queue times; None if it failed.
    result: Result | None
    started_at: dt.datetime
    finished_at: dt.datetime
    #: The device-seconds its quota check counts.
    estimated_s: float | None = None
    #: Why the engine failed (its error's code and message); such a job is stored FAILED.
    error: tuple[str, str] | None = None


class JobManager(Leases):
    """Creates jobs and moves them through their states; reads as ``JobQueries``.

    Args:
        db: the database.
        on_change: called with a job id after every committed change, from
            whichever thread made it.
        clock: the time source (UTC).
        signer: signs every result as it is stored; None stores results unsigned.
        on_end: called with a :class:`JobEnding` once a job's final status is committed.
    """

    def __init__(
        self,
        db: Database,
        on_change: Callable[[str], None] | None = None,
        clock: wire.Clock = wire.utcnow,
        signer: Signer | None = None,
        on_end: Callable[[JobEnding], None] | None = None,
    ) -> None:
        super().__init__(db, on_change or (lambda _job_id: None), clock, signer, on_end)

    # --- users' side -------------------------------------------------------------

    def create(
        self,
        project_id: str,
        user_id: str,
        prepared: PreparedJob,
        *,
        estimated_s: float | None = None,
        admit: Callable[[sa.Connection], None] | None = None,
    ) -> tuple[Job, bool]:
        """Store a new queued job, or return the one its idempotency key names.

        Args:
            project_id: the job's project.
            user_id: its submitter.
            prepared: the parsed request.
            estimated_s: device-seconds reserved against the project's quota until it ends.
            admit: called inside the write transaction, before the insert, so a quota
                check sees every job stored before it; it refuses by raising.

        Returns:
            The job, and whether it already existed (an idempotent replay).

        Raises:
            errors.IdempotencyConflict: the key was used with another body.
        """
        request = prepared.request
        fingerprint = prepared.fingerprint or request.fingerprint()
        key = request.idempotency_key
        if key is not None:
            existing = self._by_key(project_id, key)
            if existing is not None:
                return self._replay(existing, fingerprint), True
        job_id = uuid.uuid4().hex
        now = self._clock()
        try:
            with self.db.write() as conn:
                if admit is not None:
                    admit(conn)
                # Parameters apart from the statement: it is compiled once and cached.
                conn.execute(
                    _INSERT_JOB,
                    _row(job_id, project_id, user_id, prepared, now, fingerprint, estimated_s),
                )
                _insert_tags(conn, job_id, request.tags)
                # Read back in the same transaction: no second connection and BEGIN.
                job = self._load(conn, job_id, project_id)
        except IntegrityError:
            # Another request with the same key won the race; answer as a replay.
            existing = self._by_key(project_id, key) if key is not None else None
            if existing is None:
                raise
            return self._replay(existing, fingerprint), True
        self._on_change(job_id)
        log.info(
            "job %s queued on %s",
            job_id,
            request.device,
            extra={"job_id": job_id, "project": job.project, "device": request.device},
        )
        return job, False

    def record_ran(
        self,
        project_id: str,
        user_id: str,
        project_name: str,
        ran: list[RanJob],
        *,
        admit: Callable[[sa.Connection, float], None] | None = None,
        also: Callable[[sa.Connection], None] | None = None,
    ) -> None:
        """Store jobs that already ran in this process, with their signed results, at once.

        A trusted caller (a centre program's fast lane) runs its jobs' engine itself;
        this records them as any job ends: each job's row (``DONE``, attempt 1), its
        tags, its result and signature and the usage charged, all in one transaction
        (a group commit), so the audit trail holds every job whether it went through
        the queue or not. A job whose engine failed is stored ``FAILED`` with its
        error's code and message, without a result, and is charged nothing.

        Args:
            project_id: the jobs' project.
            user_id: their submitter.
            project_name: the project's name, which each signature binds.
            ran: the jobs, in the order they ran.
            admit: the quota check, given the device-seconds of them all; called
                inside the transaction before anything is inserted.
            also: called inside the transaction after the jobs are inserted (the
                caller's own record of them, such as a run's checkpoint).

        Raises:
            errors.QuotaExceeded: ``admit`` refused; nothing is stored.
        """
        if not ran:
            return
        now = self._clock()
        job_rows: list[dict[str, Any]] = []
        tag_rows: list[dict[str, Any]] = []
        result_rows: list[dict[str, Any]] = []
        endings: list[JobEnding] = []
        for job in ran:
            request = job.prepared.request
            fingerprint = job.prepared.fingerprint or request.fingerprint()
            values = _row(
                job.job_id,
                project_id,
                user_id,
                job.prepared,
                job.started_at,
                fingerprint,
                job.estimated_s,
            )
            values.update(
                attempt=1,
                started_at=job.started_at,
                finished_at=job.finished_at,
                error_code=None,
                error_message=None,
            )
            job_rows.append(values)
            tag_rows += [{"job_id": job.job_id, "tag": tag} for tag in dict.fromkeys(request.tags)]
            if job.result is None:
                code, message = job.error or ("ENGINE_ERROR", "the engine gave no result")
                values.update(status=JobStatus.FAILED.value, error_code=code, error_message=message)
                endings.append(_ending(job, project_name, JobStatus.FAILED, code))
                continue
            result = job.result.with_queue_times(
                queued_s=0.0, total_s=(job.finished_at - job.started_at).total_seconds()
            )
            data = result.to_json()
            bound = SimpleNamespace(
                id=job.job_id,
                project_name=project_name,
                device=request.device,
                request_hash=fingerprint,
            )
            signature = (
                self.signer.sign(data, signature_context(bound, data)) if self.signer else None
            )
            values.update(status=JobStatus.DONE.value)
            result_rows.append(
                {
                    "job_id": job.job_id,
                    "attempt": 1,
                    "data": data,
                    "signature": signature,
                    "created_at": now,
                }
            )
            endings.append(_ending(job, project_name, JobStatus.DONE, None, result.timings))
        with self.db.write() as conn:
            if admit is not None:
                admit(conn, sum(job.estimated_s or 0.0 for job in ran))
            conn.execute(_INSERT_JOB, job_rows)
            if tag_rows:
                conn.execute(job_tags.insert(), tag_rows)
            if result_rows:
                conn.execute(_INSERT_RESULT, result_rows)
            charge_usages(conn, project_id, [job for job in ran if job.result is not None], now)
            if also is not None:
                also(conn)
        for ending in endings:
            self._ended(ending)
            self._on_change(ending.job_id)

    def replace_programs(
        self, job_id: str, programs: list[dict[str, Any]], primitive: dict[str, Any] | None
    ) -> bool:
        """Store a queued job's programs (or PUBs) as admitted again; False if it left the queue."""
        with self.db.write() as conn:
            done = conn.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.status == JobStatus.QUEUED.value)
                .values(programs=programs, primitive=primitive)
            )
        return bool(done.rowcount)

    def _by_key(self, project_id: str, key: str) -> Any:
        with self.db.read() as conn:
            return conn.execute(
                sa.select(jobs.c.id, jobs.c.request_hash).where(
                    jobs.c.project_id == project_id, jobs.c.idempotency_key == key
                )
            ).first()

    def _replay(self, existing: Any, fingerprint: str) -> Job:
        if existing.request_hash != fingerprint:
            raise errors.IdempotencyConflict(
                "this idempotency key was already used for a different request; "
                "use a new key for a new job",
                job_id=existing.id,
            )
        with self.db.read() as conn:
            return self._load(conn, existing.id)

    def cancel(self, project_id: str, job_id: str) -> Job:
        """Cancel a queued job now, or ask for a running job to be stopped.

        Raises:
            errors.JobAlreadyFinal: the job is done or failed.
        """
        now = self._clock()
        with self.db.write() as conn:
            job = self._load(conn, job_id, project_id)
            cancelled_in_queue = (
                job.status is JobStatus.QUEUED
                and conn.execute(
                    jobs.update()
                    .where(jobs.c.id == job_id, jobs.c.status == JobStatus.QUEUED.value)
                    .values(
                        status=JobStatus.CANCELLED.value, finished_at=now, cancel_requested=True
                    )
                ).rowcount
            )
            if not cancelled_in_queue and job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
                # Running, or claimed a moment ago: the scheduler stops its worker.
                conn.execute(jobs.update().where(jobs.c.id == job_id).values(cancel_requested=True))
            elif job.status in (JobStatus.DONE, JobStatus.FAILED):
                raise errors.JobAlreadyFinal(
                    f"job {job_id} is already {job.status}; only queued or running jobs "
                    "can be cancelled",
                    job_id=job_id,
                    status=str(job.status),
                )
        if cancelled_in_queue:
            self._ended(
                JobEnding.of(
                    job_id=job_id,
                    project=job.project,
                    device=job.device,
                    status=JobStatus.CANCELLED,
                    error_code=None,
                    created_at=job.created_at,
                    started_at=None,
                    finished_at=now,
                )
            )
        self._on_change(job_id)
        return self.get(project_id, job_id)

    def erase_user(self, user_id: str) -> int:
        """Delete every job the user submitted, with its result and tags.

        A running job's worker finds its row gone and its answer is dropped.

        Returns:
            How many jobs were deleted.
        """
        owned = sa.select(jobs.c.id).where(jobs.c.user_id == user_id)
        with self.db.write() as conn:
            ids = [row.id for row in conn.execute(owned).all()]
            conn.execute(results.delete().where(results.c.job_id.in_(owned)))
            conn.execute(job_tags.delete().where(job_tags.c.job_id.in_(owned)))
            conn.execute(jobs.delete().where(jobs.c.user_id == user_id))
        self._recent.forget(ids)
        for job_id in ids:
            self._on_change(job_id)
        return len(ids)

    def fail_queued_in_session(self, session_id: str, code: str, message: str) -> int:
        """Fail every queued job of a session (it closed or expired before they ran).

        Returns:
            How many jobs failed.
        """
        now = self._clock()
        with self.db.write() as conn:
            rows = conn.execute(
                sa.select(
                    jobs.c.id,
                    jobs.c.device,
                    jobs.c.created_at,
                    projects.c.name.label("project_name"),
                )
                .join(projects, projects.c.id == jobs.c.project_id)
                .where(
                    jobs.c.session_id == session_id,
                    jobs.c.status == JobStatus.QUEUED.value,
                )
            ).all()
            ids = [row.id for row in rows]
            if ids:
                conn.execute(
                    jobs.update()
                    .where(jobs.c.id.in_(ids), jobs.c.status == JobStatus.QUEUED.value)
                    .values(
                        status=JobStatus.FAILED.value,
                        error_code=code,
                        error_message=message,
                        finished_at=now,
                    )
                )
        for row in rows:
            self._ended(
                JobEnding.of(
                    job_id=row.id,
                    project=row.project_name,
                    device=row.device,
                    status=JobStatus.FAILED,
                    error_code=code,
                    created_at=row.created_at,
                    started_at=None,
                    finished_at=now,
                )
            )
            self._on_change(row.id)
        return len(ids)


def charge_usages(conn: sa.Connection, project_id: str, ran: list[RanJob], at: dt.datetime) -> None:
    """Charge jobs that ran in this process, as :func:`~qharbor.jobs.leases.charge_usage`
    charges one, with one read of the reserved windows per device and two
    statements in all (one each per job cost more than a small job's run).

    A twin reports the device time its timing model stands for (``qpu_s``); a
    simulator, the run time it measured.
    """
    by_device: dict[str, list[RanJob]] = {}
    for job in ran:
        by_device.setdefault(job.prepared.request.device, []).append(job)
    charges: list[dict[str, Any]] = []
    for device, group in by_device.items():
        measured = [_measured_s(job.result) if job.result else 0.0 for job in group]
        paid = reservations.job_charges(
            conn,
            project_id=project_id,
            device=device,
            started=[(job.started_at, s) for job, s in zip(group, measured, strict=True)],
            at=at,
        )
        charges += [
            {
                "job_id": job.job_id,
                "project_id": project_id,
                "device": device,
                "device_s": charged,
                "at": at,
                "reservation_id": window,
            }
            for job, (charged, window) in zip(group, paid, strict=True)
        ]
    usage.charge_many(conn, charges)


def _ending(
    job: RanJob,
    project_name: str,
    status: JobStatus,
    error_code: str | None,
    timings: Any = None,
) -> JobEnding:
    """The end of a job that ran outside the queue, as the job store reports endings."""
    return JobEnding.of(
        job_id=job.job_id,
        project=project_name,
        device=job.prepared.request.device,
        status=status,
        error_code=error_code,
        created_at=job.started_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        compile_s=timings.compile_s if timings is not None else None,
        run_s=timings.run_s if timings is not None else None,
    )


def _measured_s(result: Result) -> float:
    """A result's device time in seconds: its model's for a twin, else the run's."""
    timings = result.timings
    measured = timings.qpu_s if timings.qpu_s is not None else timings.run_s
    return float(measured or 0.0)


def _row(
    job_id: str,
    project_id: str,
    user_id: str,
    prepared: PreparedJob,
    created_at: dt.datetime,
    fingerprint: str,
    estimated_s: float | None,
) -> dict[str, Any]:
    """A new job's row, queued."""
    request = prepared.request
    return dict(
        id=job_id,
        project_id=project_id,
        user_id=user_id,
        device=request.device,
        status=JobStatus.QUEUED.value,
        shots=request.shots,
        seed=prepared.seed,
        seed_given=request.seed is not None,
        tags=list(request.tags),
        programs=prepared.stored_programs(),
        num_programs=prepared.sealed_count or len(prepared.programs),
        num_experiments=prepared.num_experiments,
        idempotency_key=request.idempotency_key,
        request_hash=fingerprint,
        attempt=0,
        cancel_requested=False,
        created_at=created_at,
        kind=request.kind,
        primitive=prepared.primitive,
        session_id=request.session_id,
        priority=prepared.priority,
        options=request.options.to_json(),
        sealed=prepared.sealed,
        result_key_id=prepared.result_key_id,
        estimated_s=estimated_s,
        memory_bytes=prepared.memory_bytes,
    )


def _insert_tags(conn: sa.Connection, job_id: str, tags: tuple[str, ...]) -> None:
    if tags:
        conn.execute(
            job_tags.insert(), [{"job_id": job_id, "tag": tag} for tag in dict.fromkeys(tags)]
        )
