"""The job manager: the only code that writes job and result rows.

Every state change is one conditional UPDATE. Changes made on behalf of a worker
are fenced by the attempt number, so a late answer from a worker that was given
up on can never overwrite the answer of the attempt that replaced it.
"""

from __future__ import annotations

import base64
import builtins
import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from qharbor import errors
from qharbor.jobs.job import FINAL_STATUSES, Job, JobStatus
from qharbor.jobs.request import PreparedJob
from qharbor.security.signing import Signer
from qharbor.store import Database
from qharbor.store.database import canonical_json
from qharbor.store.tables import job_tags, jobs, projects, results

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Claim:
    """A job leased to this scheduler, with what a worker needs to run it."""

    job_id: str
    attempt: int
    device: str
    shots: int
    seed: int
    programs: list[dict[str, Any]]
    #: The programs are one sealed envelope, opened by the worker.
    sealed: bool = False
    #: The submitter's ML-KEM key id the result is to be sealed to.
    result_key_id: str | None = None


#: The PostgreSQL advisory lock key that serialises claims ("qharbor" in ASCII).
_CLAIM_LOCK = 0x71686172626F72

_JOB_COLUMNS = [*jobs.c, projects.c.name.label("project_name")]


def _select_jobs() -> sa.Select[Any]:
    return sa.select(*_JOB_COLUMNS).join(projects, projects.c.id == jobs.c.project_id)


class JobManager:
    """Creates, reads and moves jobs through their states.

    Args:
        db: the database.
        on_change: called with a job id after every committed change, from
            whichever thread made it.
        clock: the time source (UTC).
        signer: signs every result as it is stored; None stores results unsigned.
    """

    def __init__(
        self,
        db: Database,
        on_change: Callable[[str], None] | None = None,
        clock: Clock = utcnow,
        signer: Signer | None = None,
    ) -> None:
        self.db = db
        self._on_change = on_change or (lambda _job_id: None)
        self._clock = clock
        self.signer = signer

    # --- users' side -------------------------------------------------------------

    def create(self, project_id: str, user_id: str, prepared: PreparedJob) -> tuple[Job, bool]:
        """Store a new queued job, or return the one its idempotency key names.

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
                conn.execute(
                    jobs.insert().values(
                        id=job_id,
                        project_id=project_id,
                        user_id=user_id,
                        device=request.device,
                        status=JobStatus.QUEUED.value,
                        shots=request.shots,
                        seed=prepared.seed,
                        seed_given=request.seed is not None,
                        tags=list(request.tags),
                        programs=prepared.programs,
                        num_programs=prepared.sealed_count or len(prepared.programs),
                        num_experiments=prepared.num_experiments,
                        idempotency_key=key,
                        request_hash=fingerprint,
                        attempt=0,
                        cancel_requested=False,
                        created_at=now,
                        sealed=prepared.sealed,
                        result_key_id=prepared.result_key_id,
                    )
                )
                if request.tags:
                    conn.execute(
                        job_tags.insert(),
                        [{"job_id": job_id, "tag": tag} for tag in dict.fromkeys(request.tags)],
                    )
        except IntegrityError:
            # Another request with the same key won the race; answer as a replay.
            existing = self._by_key(project_id, key) if key is not None else None
            if existing is None:
                raise
            return self._replay(existing, fingerprint), True
        self._on_change(job_id)
        return self.get(project_id, job_id), False

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

    def get(self, project_id: str, job_id: str) -> Job:
        """The job, if it belongs to the project.

        Raises:
            errors.JobNotFound: for an unknown id and for another project's job alike.
        """
        with self.db.read() as conn:
            return self._load(conn, job_id, project_id)

    def _load(self, conn: sa.Connection, job_id: str, project_id: str | None = None) -> Job:
        query = _select_jobs().where(jobs.c.id == job_id)
        if project_id is not None:
            query = query.where(jobs.c.project_id == project_id)
        row = conn.execute(query).first()
        if row is None:
            raise errors.JobNotFound(f"no job {job_id!r} in your project", job_id=job_id)
        position = None
        if row.status == JobStatus.QUEUED.value:
            position = conn.execute(
                sa.select(sa.func.count())
                .select_from(jobs)
                .where(
                    jobs.c.status == JobStatus.QUEUED.value,
                    jobs.c.device == row.device,
                    jobs.c.seq < row.seq,
                )
            ).scalar_one()
        return Job.from_row(row, queue_position=position)

    def list(
        self,
        project_id: str,
        *,
        status: JobStatus | None = None,
        device: str | None = None,
        tag: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[Job], str | None]:
        """A page of the project's jobs, newest first, and the cursor of the next page."""
        query = _select_jobs().where(jobs.c.project_id == project_id)
        if status is not None:
            query = query.where(jobs.c.status == status.value)
        if device is not None:
            query = query.where(jobs.c.device == device)
        if tag is not None:
            query = query.where(
                jobs.c.id.in_(sa.select(job_tags.c.job_id).where(job_tags.c.tag == tag))
            )
        if cursor is not None:
            query = query.where(jobs.c.seq < decode_cursor(cursor))
        query = query.order_by(jobs.c.seq.desc()).limit(limit + 1)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        page = [Job.from_row(r) for r in rows[:limit]]
        next_cursor = encode_cursor(page[-1].seq) if len(rows) > limit else None
        return page, next_cursor

    def result(self, project_id: str, job_id: str) -> dict[str, Any]:
        """The stored result of a finished job.

        Raises:
            errors.JobNotFinished, errors.JobFailed, errors.JobCancelled: when there is none.
        """
        with self.db.read() as conn:
            job = self._load(conn, job_id, project_id)
            if job.status is JobStatus.DONE:
                row = conn.execute(
                    sa.select(results.c.data, results.c.signature).where(results.c.job_id == job_id)
                ).one()
                if row.signature is None:
                    return dict(row.data)
                return {**row.data, "signature": row.signature}
        if job.status is JobStatus.FAILED:
            raise errors.JobFailed(
                f"job {job_id} failed: {job.error_code}: {job.error_message}",
                job_id=job_id,
                job_error={"code": job.error_code, "message": job.error_message},
            )
        if job.status is JobStatus.CANCELLED:
            raise errors.JobCancelled(f"job {job_id} was cancelled", job_id=job_id)
        raise errors.JobNotFinished(
            f"job {job_id} is {job.status}; wait for it (GET /v1/jobs/{job_id}/result?wait=30)",
            job_id=job_id,
            status=str(job.status),
        )

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
        self._on_change(job_id)
        return self.get(project_id, job_id)

    # --- the scheduler's side --------------------------------------------------------

    def claim(
        self, owner: str, lease_s: float, slots: int, concurrency: dict[str, int]
    ) -> builtins.list[Claim]:
        """Lease up to ``slots`` queued jobs, oldest first, within device concurrency.

        Args:
            owner: this scheduler's id, recorded on the lease.
            lease_s: seconds until the lease expires unless renewed.
            slots: how many free workers there are.
            concurrency: per device, how many of its jobs may run at once; jobs for
                devices not in the map are not claimed.
        """
        if slots <= 0 or not concurrency:
            return []
        now = self._clock()
        claimed: builtins.list[Claim] = []
        with self.db.write() as conn:
            if not self.db.is_sqlite:
                # Claims count running jobs, then add to them: serialise them, or two
                # schedulers could each see a free slot and both fill it. (SQLite's
                # BEGIN IMMEDIATE already serialises every writer.)
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_CLAIM_LOCK)))
            running: dict[str, int] = dict(
                conn.execute(
                    sa.select(jobs.c.device, sa.func.count())
                    .where(jobs.c.status == JobStatus.RUNNING.value)
                    .group_by(jobs.c.device)
                ).all()
            )
            free = {d: limit - running.get(d, 0) for d, limit in concurrency.items()}
            wanted = [d for d, n in free.items() if n > 0]
            if not wanted:
                return []
            columns = (
                jobs.c.seq,
                jobs.c.id,
                jobs.c.device,
                jobs.c.attempt,
                jobs.c.shots,
                jobs.c.seed,
                jobs.c.programs,
                jobs.c.sealed,
                jobs.c.result_key_id,
            )
            queued = sa.select(*columns).where(jobs.c.status == JobStatus.QUEUED.value)
            limit = max(slots * 4, 16)
            candidates = conn.execute(
                queued.where(jobs.c.device.in_(wanted))
                .order_by(jobs.c.seq)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            if len(candidates) == limit:
                # A long queue on one device may hide another device's jobs from
                # free workers: look again, at the oldest jobs of each device.
                candidates = sorted(
                    (
                        row
                        for device in wanted
                        for row in conn.execute(
                            queued.where(jobs.c.device == device)
                            .order_by(jobs.c.seq)
                            .limit(min(free[device], slots))
                            .with_for_update(skip_locked=True)
                        ).all()
                    ),
                    key=lambda row: row.seq,
                )
            for row in candidates:
                if len(claimed) >= slots:
                    break
                if free[row.device] <= 0:
                    continue
                attempt = row.attempt + 1
                updated = conn.execute(
                    jobs.update()
                    .where(jobs.c.id == row.id, jobs.c.status == JobStatus.QUEUED.value)
                    .values(
                        status=JobStatus.RUNNING.value,
                        attempt=attempt,
                        lease_owner=owner,
                        lease_expires_at=now + dt.timedelta(seconds=lease_s),
                        started_at=sa.func.coalesce(jobs.c.started_at, now),
                    )
                ).rowcount
                if updated:
                    free[row.device] -= 1
                    claimed.append(
                        Claim(
                            row.id,
                            attempt,
                            row.device,
                            row.shots,
                            row.seed,
                            row.programs,
                            sealed=bool(row.sealed),
                            result_key_id=row.result_key_id,
                        )
                    )
        for claim in claimed:
            self._on_change(claim.job_id)
        return claimed

    def heartbeat(self, owner: str, lease_s: float) -> None:
        """Extend every lease this scheduler holds."""
        with self.db.write() as conn:
            conn.execute(
                jobs.update()
                .where(jobs.c.lease_owner == owner, jobs.c.status == JobStatus.RUNNING.value)
                .values(lease_expires_at=self._clock() + dt.timedelta(seconds=lease_s))
            )

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

    def complete(self, job_id: str, attempt: int, data: dict[str, Any]) -> bool:
        """Store the result of an attempt and mark the job DONE.

        Returns:
            False when the attempt no longer owns the job; nothing is written then.
        """
        now = self._clock()
        fenced = (
            jobs.c.id == job_id,
            jobs.c.attempt == attempt,
            jobs.c.status == JobStatus.RUNNING.value,
        )
        with self.db.read() as conn:
            row = conn.execute(_select_jobs().where(*fenced)).first()
        if row is None:
            return False
        timings = dict(data.get("timings", {}))
        timings["queued_s"] = (row.started_at - row.created_at).total_seconds()
        timings["total_s"] = (now - row.created_at).total_seconds()
        data = {**data, "timings": timings}
        # Signed before the write transaction, so no lock is held while signing; the
        # fenced UPDATE below still stores nothing if the attempt lost the job meanwhile.
        signature = None
        if self.signer is not None:
            signature = self.signer.sign(data, signature_context(row, data))
        with self.db.write() as conn:
            updated = conn.execute(
                jobs.update()
                .where(*fenced)
                .values(status=JobStatus.DONE.value, finished_at=now, lease_owner=None)
            ).rowcount
            if not updated:
                return False
            conn.execute(results.delete().where(results.c.job_id == job_id))
            conn.execute(
                results.insert().values(
                    job_id=job_id,
                    attempt=attempt,
                    data=data,
                    signature=signature,
                    created_at=now,
                )
            )
        self._on_change(job_id)
        return True

    def finish_without_result(
        self, job_id: str, attempt: int, status: JobStatus, code: str | None, message: str | None
    ) -> bool:
        """Mark an attempt FAILED or CANCELLED. False if the attempt no longer owns the job."""
        assert status in FINAL_STATUSES and status is not JobStatus.DONE
        with self.db.write() as conn:
            updated = conn.execute(
                jobs.update()
                .where(
                    jobs.c.id == job_id,
                    jobs.c.attempt == attempt,
                    jobs.c.status == JobStatus.RUNNING.value,
                )
                .values(
                    status=status.value,
                    finished_at=self._clock(),
                    lease_owner=None,
                    error_code=code,
                    error_message=message,
                )
            ).rowcount
        if updated:
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

    def queue_lengths(self) -> dict[str, dict[str, int]]:
        """Per device, the number of queued and running jobs."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(jobs.c.device, jobs.c.status, sa.func.count())
                .where(jobs.c.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]))
                .group_by(jobs.c.device, jobs.c.status)
            ).all()
        lengths: dict[str, dict[str, int]] = {}
        for device, status, count in rows:
            lengths.setdefault(device, {"queued": 0, "running": 0})[status.lower()] = count
        return lengths


def _stored_result(job_id: str, data_text: str, signature_text: str | None) -> dict[str, Any]:
    """A stored result from its column texts; a signed one must be exactly as written.

    Signed results are stored as canonical JSON, so any changed byte either changes
    a value (and the signature no longer verifies) or leaves text that is no longer
    canonical, caught here.

    Raises:
        errors.ResultCorrupt: the stored text was altered.
    """
    try:
        data = json.loads(data_text)
        if signature_text is None:
            return dict(data)
        signature = json.loads(signature_text)
    except ValueError:
        raise errors.ResultCorrupt(job_id=job_id) from None
    if canonical_json(data) != data_text or canonical_json(signature) != signature_text:
        raise errors.ResultCorrupt(job_id=job_id)
    return {**data, "signature": signature}


def signature_context(job_row: Any, data: dict[str, Any]) -> dict[str, Any]:
    """What a result's signature binds it to, besides the result itself.

    The calibration snapshot id is read from the result's metadata, where devices
    with a calibration record it; it is None for devices without one.
    """
    metadata = data.get("metadata") or {}
    return {
        "job_id": job_row.id,
        "project": job_row.project_name,
        "device": job_row.device,
        "calibration_snapshot_id": metadata.get("calibration_snapshot_id"),
        "input_hash": job_row.request_hash,
    }


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The position a cursor names.

    Raises:
        errors.InvalidRequest: the cursor was not made by this API.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("s"):
            raise ValueError(raw)
        return int(raw[1:])
    except (ValueError, UnicodeDecodeError):
        raise errors.InvalidRequest(
            "the cursor is not valid; pass next_cursor from a previous page", field="cursor"
        ) from None
