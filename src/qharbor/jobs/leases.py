"""Leases: the scheduler's side of the job manager.

A claim leases a queued job to one scheduler as a numbered attempt; the lease
is renewed by heartbeats and recovered when it expires. Every answer of an
attempt (a result, a failure, a requeue) is one UPDATE fenced by its number, so
a late answer from an attempt that was given up on can never overwrite the
answer of the attempt that replaced it. :class:`qharbor.jobs.manager.JobManager`
is built on this class; together they are the only writer of job rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa

from qharbor import errors
from qharbor.accounting import reservations
from qharbor.jobs import policy, queue
from qharbor.jobs.claims import Claim
from qharbor.jobs.endings import JobEnding
from qharbor.jobs.job import FINAL_STATUSES, Job, JobStatus
from qharbor.jobs.queries import JobQueries, select_jobs
from qharbor.jobs.result import Result, SealedResult, signature_context
from qharbor.security import usage
from qharbor.security.signing import Signer
from qharbor.store import Database
from qharbor.store.tables import jobs, projects, results

log = logging.getLogger(__name__)

#: The longest lease owner the jobs table holds (``lease_owner``).
_OWNER_CHARS = 64


def centre_owner() -> str:
    """A new lease owner for a centre process: ``<host>:<pid>:<instance>``.

    Every lease a centre's scheduler takes names it, so an operator (or a test)
    reading a running job's row knows which process holds it, and a centre that
    is started again in the same process id is still a new owner: the instance
    part is new each time. Leases of a dead owner are re-queued by any other
    centre once they expire, and the attempt number fences the dead one's work.
    """
    host = socket.gethostname()[:32] or "host"
    return f"{host}:{os.getpid()}:{uuid.uuid4().hex[:12]}"[:_OWNER_CHARS]


def owner_process(owner: str | None) -> tuple[str, int] | None:
    """The host and process id a lease owner names; None for an owner of another form."""
    parts = (owner or "").rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


#: The PostgreSQL advisory lock key that serialises claims ("qharbor" in ASCII).
_CLAIM_LOCK = 0x71686172626F72

_INSERT_RESULT = results.insert()
_ANY_QUEUED = sa.select(jobs.c.seq).where(jobs.c.status == JobStatus.QUEUED.value).limit(1)
#: How many jobs run on each device now (a claim's first read).
_RUNNING_PER_DEVICE = (
    sa.select(jobs.c.device, sa.func.count())
    .where(jobs.c.status == JobStatus.RUNNING.value)
    .group_by(jobs.c.device)
)

# Statements run for every job, built once; their parameters are bound per call.
#: An attempt that still owns its job (the fence of every worker's answer).
_FENCE = (
    jobs.c.id == sa.bindparam("fence_job"),
    jobs.c.attempt == sa.bindparam("fence_attempt"),
    jobs.c.status == JobStatus.RUNNING.value,
)
_RUNNING_ATTEMPT = select_jobs().where(*_FENCE)
_MARK_DONE = (
    jobs.update()
    .where(*_FENCE)
    .values(status=JobStatus.DONE.value, finished_at=sa.bindparam("done_at"), lease_owner=None)
)
_MARK_RUNNING = (
    jobs.update()
    .where(jobs.c.id == sa.bindparam("claim_job"), jobs.c.status == JobStatus.QUEUED.value)
    .values(
        status=JobStatus.RUNNING.value,
        attempt=sa.bindparam("claim_attempt"),
        lease_owner=sa.bindparam("claim_owner"),
        lease_expires_at=sa.bindparam("claim_expires"),
        started_at=sa.func.coalesce(
            jobs.c.started_at, sa.bindparam("claim_now", type_=jobs.c.started_at.type)
        ),
    )
)
_DELETE_RESULT = results.delete().where(results.c.job_id == sa.bindparam("job_id"))


def charge_usage(
    conn: sa.Connection, row: Any, job_id: str, device_s: float, at: dt.datetime
) -> None:
    """Charge an ending job's device time (seconds), less what its reserved window pays."""
    charged, window = reservations.job_charge(
        conn,
        project_id=row.project_id,
        device=row.device,
        started_at=row.started_at,
        device_s=device_s,
        at=at,
    )
    usage.charge(
        conn,
        job_id=job_id,
        project_id=row.project_id,
        device=row.device,
        device_s=charged,
        at=at,
        reservation_id=window,
    )


@dataclasses.dataclass(frozen=True)
class Leased:
    """What one claim leased, and whether it left no job queued on any device."""

    claims: list[Claim]
    #: No job was queued once the claim committed (a claim that did not look: False).
    queue_empty: bool


class Leases(JobQueries):
    """Leases queued jobs to schedulers and stores the answers of their attempts.

    Args:
        db: the database.
        on_change: called with a job id after every committed change, from
            whichever thread made it.
        clock: the time source (UTC).
        signer: signs every result as it is stored; None stores results unsigned.
        on_end: called with a :class:`JobEnding` once a job's final status is
            committed, from whichever thread made it.
    """

    def __init__(
        self,
        db: Database,
        on_change: Callable[[str], None],
        clock: Callable[[], dt.datetime],
        signer: Signer | None,
        on_end: Callable[[JobEnding], None] | None = None,
    ) -> None:
        super().__init__(db)
        self._on_change = on_change
        self._clock = clock
        self.signer = signer
        self.on_end = on_end

    def _ended(self, ending: JobEnding) -> None:
        """Log a job's end and tell the listener; its failure never undoes the end."""
        log.info(
            "job %s ended %s%s",
            ending.job_id,
            ending.status,
            f" ({ending.error_code})" if ending.error_code else "",
            extra={
                "job_id": ending.job_id,
                "project": ending.project,
                "device": ending.device,
                "status": str(ending.status),
                "error_code": ending.error_code,
            },
        )
        if self.on_end is None:
            return
        try:
            self.on_end(ending)
        except Exception:
            log.exception("the job-end listener failed for job %s", ending.job_id)

    def claim(
        self,
        owner: str,
        lease_s: float,
        slots: int,
        concurrency: dict[str, int],
        order: policy.QueuePolicy | None = None,
        memory_free: int | None = None,
        memory_capacity: int | None = None,
        *,
        expect_queued: bool = False,
    ) -> list[Claim]:
        """Lease up to ``slots`` queued jobs (see :meth:`lease_queued`)."""
        return self.lease_queued(
            owner,
            lease_s,
            slots,
            concurrency,
            order,
            memory_free,
            memory_capacity,
            expect_queued=expect_queued,
        ).claims

    def lease_queued(
        self,
        owner: str,
        lease_s: float,
        slots: int,
        concurrency: dict[str, int],
        order: policy.QueuePolicy | None = None,
        memory_free: int | None = None,
        memory_capacity: int | None = None,
        *,
        expect_queued: bool = False,
    ) -> Leased:
        """Lease up to ``slots`` queued jobs within device concurrency and free memory.

        Projects are served in the order ``order`` gives (the scheduler passes
        :class:`qharbor.jobs.policy.FairShare`: fair share between projects,
        session jobs first within each, and session jobs ahead of other projects
        only within their project's fair share).

        A job whose memory need does not fit in ``memory_free`` stays queued, and
        keeps its turn: the jobs after it may use only what is left once its
        need is set aside, so a stream of small jobs cannot hold a large one back
        for ever; it starts as soon as the running jobs have freed enough. A job
        that needs more than ``memory_capacity`` could never start: it is claimed
        at once (for the scheduler to fail it) and holds no one back.

        Args:
            owner: this scheduler's id, recorded on the lease.
            lease_s: seconds until the lease expires unless renewed.
            slots: how many free workers there are.
            concurrency: per device, how many of its jobs may run at once; jobs for
                devices not in the map are not claimed.
            order: the queue policy that orders the waiting projects; None serves
                every job by priority, then age.
            memory_free: bytes the host's running jobs leave free; None claims
                without regard to memory.
            memory_capacity: bytes the host's jobs may use together.
            expect_queued: the caller was just told of a change to the queue (a job
                stored): it skips the idle look and claims at once.
        """
        if slots <= 0 or not concurrency:
            return Leased([], queue_empty=False)
        # Most looks at an idle queue find nothing: a plain read answers that without
        # taking the write lock (a job stored after it wakes the scheduler again).
        # After a wake-up the queue most likely holds a job: the read would only
        # cost one more transaction before the claim's own.
        if not expect_queued:
            with self.db.read() as conn:
                if conn.execute(_ANY_QUEUED).first() is None:
                    return Leased([], queue_empty=True)
        now = self._clock()
        claimed: list[Claim] = []
        with self.db.write() as conn:
            if not self.db.is_sqlite:
                # Claims count running jobs, then add to them: serialise them, or two
                # schedulers could each see a free slot and both fill it. (SQLite's
                # BEGIN IMMEDIATE already serialises every writer.)
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_CLAIM_LOCK)))
            running: dict[str, int] = dict(conn.execute(_RUNNING_PER_DEVICE).all())
            free = {d: limit - running.get(d, 0) for d, limit in concurrency.items()}
            wanted = [d for d, n in free.items() if n > 0]
            if not wanted:
                return Leased([], queue_empty=False)
            for served in queue.queues(conn, order, wanted):
                wanted = [d for d, n in free.items() if n > 0]
                if len(claimed) >= slots or not wanted:
                    break
                for row in queue.candidates(conn, served, wanted, free, slots - len(claimed)):
                    if len(claimed) >= slots:
                        break
                    if free[row.device] <= 0:
                        continue
                    need = row.memory_bytes or 0
                    never = memory_capacity is not None and need > memory_capacity
                    if memory_free is not None and not never:
                        # Set aside even when it does not fit: what is left is all
                        # the jobs behind this one may take.
                        memory_free -= need
                        if memory_free < 0:
                            continue
                    attempt = row.attempt + 1
                    updated = conn.execute(
                        _MARK_RUNNING,
                        {
                            "claim_job": row.id,
                            "claim_attempt": attempt,
                            "claim_owner": owner,
                            "claim_expires": now + dt.timedelta(seconds=lease_s),
                            "claim_now": now,
                        },
                    ).rowcount
                    if updated:
                        free[row.device] -= 1
                        claimed.append(Claim.from_row(row, attempt))
            # Asked in the same transaction, so the scheduler need not look again
            # when these jobs end (a job stored later wakes it).
            queue_empty = conn.execute(_ANY_QUEUED).first() is None
        for claim in claimed:
            self._on_change(claim.job_id)
        return Leased(claimed, queue_empty=queue_empty)

    def heartbeat(self, owner: str, lease_s: float) -> None:
        """Extend every lease this scheduler holds."""
        with self.db.write() as conn:
            conn.execute(
                jobs.update()
                .where(jobs.c.lease_owner == owner, jobs.c.status == JobStatus.RUNNING.value)
                .values(lease_expires_at=self._clock() + dt.timedelta(seconds=lease_s))
            )

    def record_progress(self, job_id: str, attempt: int, done: int, total: int) -> bool:
        """Note that a running attempt has done ``done`` of its ``total`` runs.

        Returns:
            False when the attempt no longer owns the job; nothing is written then.
        """
        with self.db.write() as conn:
            updated = conn.execute(
                jobs.update()
                .where(
                    jobs.c.id == job_id,
                    jobs.c.attempt == attempt,
                    jobs.c.status == JobStatus.RUNNING.value,
                )
                .values(progress_done=done, progress_total=total)
            ).rowcount
        if updated:
            self._on_change(job_id)
        return bool(updated)

    def cancel_requests(self, job_ids: Iterable[str]) -> set[str]:
        """Which of these running jobs their owners asked to stop."""
        ids = list(job_ids)
        if not ids:
            return set()
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(jobs.c.id).where(jobs.c.id.in_(ids), jobs.c.cancel_requested.is_(True))
            ).all()
        return {r.id for r in rows}

    def complete(self, job_id: str, attempt: int, result: Result | SealedResult) -> bool:
        """Store the result of an attempt and mark the job DONE.

        Returns:
            False when the attempt no longer owns the job; nothing is written then.
        """
        now = self._clock()
        fenced = {"fence_job": job_id, "fence_attempt": attempt}
        with self.db.read() as conn:
            row = conn.execute(_RUNNING_ATTEMPT, fenced).first()
        if row is None:
            return False
        result = result.with_queue_times(
            queued_s=(row.started_at - row.created_at).total_seconds(),
            total_s=(now - row.created_at).total_seconds(),
        )
        data = result.to_json()
        # Signed before the write transaction, so no lock is held while signing; the
        # fenced UPDATE below still stores nothing if the attempt lost the job meanwhile.
        signature = None
        if self.signer is not None:
            signature = self.signer.sign(data, signature_context(row, data))
        with self.db.write() as conn:
            updated = conn.execute(_MARK_DONE, {**fenced, "done_at": now}).rowcount
            if not updated:
                return False
            conn.execute(_DELETE_RESULT, {"job_id": job_id})
            conn.execute(
                _INSERT_RESULT,
                {
                    "job_id": job_id,
                    "attempt": attempt,
                    "data": data,
                    "signature": signature,
                    "created_at": now,
                },
            )
            # A twin reports the device time its timing model stands for (qpu_s);
            # a simulator, the run time it measured.
            measured = result.timings.qpu_s
            if measured is None:
                measured = result.timings.run_s
            charge_usage(
                conn,
                row,
                job_id,
                float(measured) if measured is not None else (now - row.started_at).total_seconds(),
                now,
            )
        done = dataclasses.replace(
            Job.from_row(row), status=JobStatus.DONE, finished_at=now, queue_position=None
        )
        self._recent.remember(done, data if signature is None else {**data, "signature": signature})
        # Counted and logged before anyone waiting on the job is woken.
        self._ended(
            JobEnding.of(
                job_id=job_id,
                project=row.project_name,
                device=row.device,
                status=JobStatus.DONE,
                error_code=None,
                created_at=row.created_at,
                started_at=row.started_at,
                finished_at=now,
                compile_s=result.timings.compile_s,
                run_s=result.timings.run_s,
            )
        )
        self._on_change(job_id)
        return True

    def finish_without_result(
        self, job_id: str, attempt: int, status: JobStatus, code: str | None, message: str | None
    ) -> bool:
        """Mark an attempt FAILED or CANCELLED. False if the attempt no longer owns the job."""
        assert status in FINAL_STATUSES and status is not JobStatus.DONE
        now = self._clock()
        with self.db.write() as conn:
            row = conn.execute(
                sa.select(
                    jobs.c.project_id,
                    jobs.c.device,
                    jobs.c.created_at,
                    jobs.c.started_at,
                    projects.c.name.label("project_name"),
                )
                .join(projects, projects.c.id == jobs.c.project_id)
                .where(jobs.c.id == job_id)
            ).first()
            updated = conn.execute(
                jobs.update()
                .where(
                    jobs.c.id == job_id,
                    jobs.c.attempt == attempt,
                    jobs.c.status == JobStatus.RUNNING.value,
                )
                .values(
                    status=status.value,
                    finished_at=now,
                    lease_owner=None,
                    error_code=code,
                    error_message=message,
                )
            ).rowcount
            if updated and row is not None and row.started_at is not None:
                # It held a device from its start until now: that time is charged.
                charge_usage(conn, row, job_id, (now - row.started_at).total_seconds(), now)
        if updated:
            if row is not None:
                self._ended(
                    JobEnding.of(
                        job_id=job_id,
                        project=row.project_name,
                        device=row.device,
                        status=status,
                        error_code=code,
                        created_at=row.created_at,
                        started_at=row.started_at,
                        finished_at=now,
                    )
                )
            self._on_change(job_id)
        return bool(updated)

    def requeue(self, job_id: str, attempt: int) -> bool:
        """Put a running attempt's job back in the queue, keeping its place by age."""
        with self.db.write() as conn:
            updated = conn.execute(
                jobs.update()
                .where(
                    jobs.c.id == job_id,
                    jobs.c.attempt == attempt,
                    jobs.c.status == JobStatus.RUNNING.value,
                )
                .values(status=JobStatus.QUEUED.value, lease_owner=None, lease_expires_at=None)
            ).rowcount
        if updated:
            self._on_change(job_id)
        return bool(updated)

    def recover(self, max_attempts: int, *, all_but_owner: str | None = None) -> int:
        """Requeue running jobs whose lease expired; fail those out of attempts.

        Args:
            max_attempts: attempts a job may use before it fails with WORKER_LOST.
            all_but_owner: also recover every lease not held by this owner, expired
                or not (for the single-node SQLite centre, at start).

        Returns:
            How many jobs were recovered.
        """
        now = self._clock()
        condition = jobs.c.lease_expires_at < now
        if all_but_owner is not None:
            condition = sa.or_(
                condition, jobs.c.lease_owner.is_(None), jobs.c.lease_owner != all_but_owner
            )
        with self.db.read() as conn:
            stale = conn.execute(
                sa.select(jobs.c.id, jobs.c.attempt, jobs.c.cancel_requested).where(
                    jobs.c.status == JobStatus.RUNNING.value, condition
                )
            ).all()
        for row in stale:
            if row.cancel_requested:
                self.finish_without_result(row.id, row.attempt, JobStatus.CANCELLED, None, None)
            elif row.attempt >= max_attempts:
                self.finish_without_result(
                    row.id,
                    row.attempt,
                    JobStatus.FAILED,
                    errors.WorkerLost.code,
                    f"the worker was lost {row.attempt} times; giving up",
                )
            else:
                self.requeue(row.id, row.attempt)
        return len(stale)
