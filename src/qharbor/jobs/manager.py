"""The job manager: the only code that writes job and result rows.

Every state change is one conditional UPDATE. Changes made on behalf of a worker
are fenced by the attempt number, so a late answer from a worker that was given
up on can never overwrite the answer of the attempt that replaced it.
"""

from __future__ import annotations

import base64
import builtins
import dataclasses
import datetime as dt
import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from qharbor import errors, wire
from qharbor.jobs import policy
from qharbor.jobs.job import FINAL_STATUSES, Job, JobStatus
from qharbor.jobs.request import PreparedJob
from qharbor.security import usage
from qharbor.security.signing import Signer
from qharbor.store import Database
from qharbor.store.tables import job_tags, jobs, projects, results


@dataclass(frozen=True)
class Claim:
    """A job leased to this scheduler, with what a worker needs to run it."""

    job_id: str
    attempt: int
    device: str
    shots: int
    seed: int
    programs: list[dict[str, Any]]
    kind: str = "circuits"
    primitive: dict[str, Any] | None = None
    options: dict[str, Any] | None = None
    #: The programs are one sealed envelope, opened by the worker.
    sealed: bool = False
    #: The submitter's ML-KEM key id the result is to be sealed to.
    result_key_id: str | None = None
    #: The memory its worker needs (bytes), reserved on the host while it runs.
    memory_bytes: int = 0


#: The PostgreSQL advisory lock key that serialises claims ("qharbor" in ASCII).
_CLAIM_LOCK = 0x71686172626F72

_JOB_COLUMNS = [*jobs.c, projects.c.name.label("project_name")]


#: Results this process stored in the last few seconds, kept so that the request
#: waiting for one is answered from memory instead of reading back what was just
#: written. Short-lived, so a deletion by another centre sharing the database is
#: seen within seconds.
_RECENT_S = 5.0
_RECENT_MAX = 1024


_INSERT_JOB = jobs.insert()
_INSERT_RESULT = results.insert()
_ANY_QUEUED = sa.select(jobs.c.seq).where(jobs.c.status == JobStatus.QUEUED.value).limit(1)


def _select_jobs() -> sa.Select[Any]:
    return sa.select(*_JOB_COLUMNS).join(projects, projects.c.id == jobs.c.project_id)


# Statements run for every job, built once; their parameters are bound per call.
_LOAD = _select_jobs().where(jobs.c.id == sa.bindparam("job_id"))
#: An attempt that still owns its job (the fence of every worker's answer).
_FENCE = (
    jobs.c.id == sa.bindparam("fence_job"),
    jobs.c.attempt == sa.bindparam("fence_attempt"),
    jobs.c.status == JobStatus.RUNNING.value,
)
_RUNNING_ATTEMPT = _select_jobs().where(*_FENCE)
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
_LOAD_IN_PROJECT = _LOAD.where(jobs.c.project_id == sa.bindparam("project_id"))
_POSITION = (
    sa.select(sa.func.count())
    .select_from(jobs)
    .where(
        jobs.c.status == JobStatus.QUEUED.value,
        jobs.c.device == sa.bindparam("device"),
        sa.or_(
            jobs.c.priority > sa.bindparam("priority"),
            sa.and_(jobs.c.priority == sa.bindparam("priority"), jobs.c.seq < sa.bindparam("seq")),
        ),
    )
)


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
        clock: wire.Clock = wire.utcnow,
        signer: Signer | None = None,
    ) -> None:
        self.db = db
        self._on_change = on_change or (lambda _job_id: None)
        self._clock = clock
        self.signer = signer
        # job id -> (monotonic time stored, the DONE job, its result with signature)
        self._recent: OrderedDict[str, tuple[float, Job, dict[str, Any]]] = OrderedDict()
        self._recent_lock = threading.Lock()

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
                    dict(
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
                        kind=request.kind,
                        primitive=prepared.primitive,
                        session_id=request.session_id,
                        priority=prepared.priority,
                        options=request.options.to_json(),
                        sealed=prepared.sealed,
                        result_key_id=prepared.result_key_id,
                        estimated_s=estimated_s,
                        memory_bytes=prepared.memory_bytes,
                    ),
                )
                if request.tags:
                    conn.execute(
                        job_tags.insert(),
                        [{"job_id": job_id, "tag": tag} for tag in dict.fromkeys(request.tags)],
                    )
                # Read back in the same transaction: no second connection and BEGIN.
                job = self._load(conn, job_id, project_id)
        except IntegrityError:
            # Another request with the same key won the race; answer as a replay.
            existing = self._by_key(project_id, key) if key is not None else None
            if existing is None:
                raise
            return self._replay(existing, fingerprint), True
        self._on_change(job_id)
        return job, False

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
        if project_id is None:
            row = conn.execute(_LOAD, {"job_id": job_id}).first()
        else:
            row = conn.execute(
                _LOAD_IN_PROJECT, {"job_id": job_id, "project_id": project_id}
            ).first()
        if row is None:
            raise errors.JobNotFound(f"no job {job_id!r} in your project", job_id=job_id)
        position = None
        if row.status == JobStatus.QUEUED.value:
            position = conn.execute(
                _POSITION, {"device": row.device, "priority": row.priority, "seq": row.seq}
            ).scalar_one()
        return Job.from_row(row, queue_position=position)

    def list(
        self,
        project_id: str,
        *,
        status: JobStatus | None = None,
        device: str | None = None,
        tag: str | None = None,
        session_id: str | None = None,
        created_after: dt.datetime | None = None,
        created_before: dt.datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[Job], str | None]:
        """A page of the project's jobs, newest first, and the cursor of the next page."""
        query = _select_jobs().where(jobs.c.project_id == project_id)
        if session_id is not None:
            query = query.where(jobs.c.session_id == session_id)
        if created_after is not None:
            query = query.where(jobs.c.created_at >= created_after)
        if created_before is not None:
            query = query.where(jobs.c.created_at < created_before)
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
        return self.result_and_submitter(project_id, job_id)[0]

    def result_and_submitter(
        self, project_id: str, job_id: str, *, recent: bool = False
    ) -> tuple[dict[str, Any], str]:
        """The stored result of a finished job, and the id of the user who submitted it.

        Args:
            project_id: the caller's project.
            job_id: the job.
            recent: a result this process stored moments ago may be answered from
                memory (for a waiter woken by its completion): it is what the
                committed row holds. Otherwise the stored row is read, so a row
                altered in the database shows.

        Raises:
            errors.JobNotFinished, errors.JobFailed, errors.JobCancelled: when there is none.
        """
        known = self._recent_done(project_id, job_id) if recent else None
        if known is not None:
            return dict(known[1]), known[0].user_id
        with self.db.read() as conn:
            job = self._load(conn, job_id, project_id)
            if job.status is JobStatus.DONE:
                return _read_result(conn, job_id), job.user_id
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

    def finished(self, project_id: str, job_id: str) -> tuple[Job, dict[str, Any] | None]:
        """The final job, with its result if it is DONE (None if it failed or was cancelled).

        For a waiter woken by a change: a job this process completed moments ago is
        answered from memory.

        Raises:
            errors.JobNotFinished: it is queued or running.
            errors.JobNotFound: no such job in the project.
        """
        recent = self._recent_done(project_id, job_id)
        if recent is not None:
            return recent[0], dict(recent[1])
        with self.db.read() as conn:
            job = self._load(conn, job_id, project_id)
            if job.status is JobStatus.DONE:
                return job, _read_result(conn, job_id)
        if job.is_final:
            return job, None
        raise errors.JobNotFinished(
            f"job {job_id} is {job.status}", job_id=job_id, status=str(job.status)
        )

    def recently_done(self, project_id: str, job_id: str) -> tuple[Job, dict[str, Any]] | None:
        """The job and its result if this process completed it moments ago; memory only."""
        recent = self._recent_done(project_id, job_id)
        return None if recent is None else (recent[0], dict(recent[1]))

    def _remember(self, job: Job, data: dict[str, Any]) -> None:
        now = time.monotonic()
        with self._recent_lock:
            self._recent[job.id] = (now, job, data)
            while self._recent and (
                len(self._recent) > _RECENT_MAX
                or now - next(iter(self._recent.values()))[0] > _RECENT_S
            ):
                self._recent.popitem(last=False)

    def _recent_done(self, project_id: str, job_id: str) -> tuple[Job, dict[str, Any]] | None:
        """A job this process completed moments ago, and its result, from memory."""
        with self._recent_lock:
            entry = self._recent.get(job_id)
        if entry is None:
            return None
        stored_at, job, data = entry
        if job.project_id != project_id or time.monotonic() - stored_at > _RECENT_S:
            return None
        return job, data

    def _forget(self, job_ids: Iterable[str]) -> None:
        with self._recent_lock:
            for job_id in job_ids:
                self._recent.pop(job_id, None)

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

    def export_user(self, user_id: str) -> builtins.list[dict[str, Any]]:
        """Every job the user submitted, with its programs and result, oldest first."""
        with self.db.read() as conn:
            rows = conn.execute(
                _select_jobs().where(jobs.c.user_id == user_id).order_by(jobs.c.seq)
            ).all()
            found = {
                r.job_id: dict(r.data)
                for r in conn.execute(
                    sa.select(results.c.job_id, results.c.data)
                    .join(jobs, jobs.c.id == results.c.job_id)
                    .where(jobs.c.user_id == user_id)
                ).all()
            }
        return [
            {**Job.from_row(row).to_json(), "programs": row.programs, "result": found.get(row.id)}
            for row in rows
        ]

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
        self._forget(ids)
        for job_id in ids:
            self._on_change(job_id)
        return len(ids)

    # --- the scheduler's side --------------------------------------------------------

    def claim(
        self,
        owner: str,
        lease_s: float,
        slots: int,
        concurrency: dict[str, int],
        shares: Mapping[str, float] | None = None,
        memory_free: int | None = None,
        memory_capacity: int | None = None,
    ) -> builtins.list[Claim]:
        """Lease up to ``slots`` queued jobs within device concurrency and free memory.

        Projects are served in the order :func:`qharbor.jobs.policy.turns` gives:
        fair share between projects, session jobs first within each, and session
        jobs ahead of other projects only within their project's fair share.

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
            shares: each project's decayed recent usage (device-seconds); projects
                not in it count as unused. None serves every job oldest first.
            memory_free: bytes the host's running jobs leave free; None claims
                without regard to memory.
            memory_capacity: bytes the host's jobs may use together.
        """
        if slots <= 0 or not concurrency:
            return []
        # Most looks at an idle queue find nothing: a plain read answers that without
        # taking the write lock (a job stored after it wakes the scheduler again).
        with self.db.read() as conn:
            if conn.execute(_ANY_QUEUED).first() is None:
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
            queued = sa.select(*_CLAIM_COLUMNS).where(jobs.c.status == JobStatus.QUEUED.value)
            if shares is None:
                queues = [queued]
            else:
                waiting = conn.execute(
                    sa.select(
                        jobs.c.project_id,
                        sa.func.min(jobs.c.seq).label("oldest"),
                        sa.func.max(jobs.c.priority).label("top"),
                    )
                    .where(jobs.c.status == JobStatus.QUEUED.value, jobs.c.device.in_(wanted))
                    .group_by(jobs.c.project_id)
                ).all()
                order = policy.turns(
                    [policy.Waiting(r.project_id, r.oldest, bool(r.top)) for r in waiting],
                    shares,
                )
                queues = [
                    queued.where(jobs.c.project_id == turn.project_id, jobs.c.priority > 0)
                    if turn.sessions_only
                    else queued.where(jobs.c.project_id == turn.project_id)
                    for turn in order
                ]
            for queue in queues:
                wanted = [d for d, n in free.items() if n > 0]
                if len(claimed) >= slots or not wanted:
                    break
                for row in _candidates(conn, queue, wanted, free, slots - len(claimed)):
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
                        claimed.append(
                            Claim(
                                row.id,
                                attempt,
                                row.device,
                                row.shots,
                                row.seed,
                                row.programs,
                                kind=row.kind,
                                primitive=row.primitive,
                                options=row.options,
                                sealed=bool(row.sealed),
                                result_key_id=row.result_key_id,
                                memory_bytes=need,
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
        fenced = {"fence_job": job_id, "fence_attempt": attempt}
        with self.db.read() as conn:
            row = conn.execute(_RUNNING_ATTEMPT, fenced).first()
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
            measured = timings.get("qpu_s")
            if measured is None:
                measured = timings.get("run_s")
            usage.charge(
                conn,
                job_id=job_id,
                project_id=row.project_id,
                device=row.device,
                device_s=float(measured)
                if measured is not None
                else (now - row.started_at).total_seconds(),
                at=now,
            )
        done = dataclasses.replace(
            Job.from_row(row), status=JobStatus.DONE, finished_at=now, queue_position=None
        )
        self._remember(done, data if signature is None else {**data, "signature": signature})
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
                sa.select(jobs.c.project_id, jobs.c.device, jobs.c.started_at).where(
                    jobs.c.id == job_id
                )
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
                usage.charge(
                    conn,
                    job_id=job_id,
                    project_id=row.project_id,
                    device=row.device,
                    device_s=(now - row.started_at).total_seconds(),
                    at=now,
                )
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

    def fail_queued_in_session(self, session_id: str, code: str, message: str) -> int:
        """Fail every queued job of a session (it closed or expired before they ran).

        Returns:
            How many jobs failed.
        """
        now = self._clock()
        with self.db.write() as conn:
            ids = (
                conn.execute(
                    sa.select(jobs.c.id).where(
                        jobs.c.session_id == session_id,
                        jobs.c.status == JobStatus.QUEUED.value,
                    )
                )
                .scalars()
                .all()
            )
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
        for job_id in ids:
            self._on_change(job_id)
        return len(ids)

    def session_activity(self, session_ids: Iterable[str]) -> dict[str, tuple[int, Any]]:
        """Per session: its queued and running jobs, and when its last job ended."""
        ids = list(session_ids)
        if not ids:
            return {}
        active = sa.func.sum(
            sa.case(
                (jobs.c.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]), 1),
                else_=0,
            )
        )
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(jobs.c.session_id, active, sa.func.max(jobs.c.finished_at))
                .where(jobs.c.session_id.in_(ids))
                .group_by(jobs.c.session_id)
            ).all()
        return {r[0]: (int(r[1] or 0), r[2]) for r in rows}

    def session_summary(self, session_id: str) -> dict[str, int]:
        """How many of a session's jobs are in each status."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(jobs.c.status, sa.func.count())
                .where(jobs.c.session_id == session_id)
                .group_by(jobs.c.status)
            ).all()
        summary = {str(status): 0 for status in JobStatus}
        summary.update({status: count for status, count in rows})
        return summary

    def queue_position(self, device: str) -> int:
        """How many jobs are queued for a device now."""
        with self.db.read() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(jobs)
                    .where(jobs.c.device == device, jobs.c.status == JobStatus.QUEUED.value)
                ).scalar_one()
            )

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


def _read_result(conn: Any, job_id: str) -> dict[str, Any]:
    """A DONE job's stored result, read as the text the database holds and checked."""
    row = conn.execute(
        sa.select(
            sa.cast(results.c.data, sa.Text).label("data"),
            sa.cast(results.c.signature, sa.Text).label("signature"),
        ).where(results.c.job_id == job_id)
    ).one()
    return _stored_result(job_id, row.data, row.signature)


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
    if wire.canonical_json(data) != data_text or wire.canonical_json(signature) != signature_text:
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


_CLAIM_COLUMNS = (
    jobs.c.seq,
    jobs.c.id,
    jobs.c.device,
    jobs.c.attempt,
    jobs.c.shots,
    jobs.c.seed,
    jobs.c.programs,
    jobs.c.kind,
    jobs.c.primitive,
    jobs.c.priority,
    jobs.c.options,
    jobs.c.sealed,
    jobs.c.result_key_id,
    jobs.c.memory_bytes,
)


def _candidates(
    conn: sa.Connection,
    queued: sa.Select[Any],
    wanted: builtins.list[str],
    free: dict[str, int],
    slots: int,
) -> builtins.list[Any]:
    """The oldest queued rows of ``queued`` on the wanted devices, locked for claiming."""
    limit = max(slots * 4, 16)
    candidates = conn.execute(
        queued.where(jobs.c.device.in_(wanted))
        .order_by(jobs.c.priority.desc(), jobs.c.seq)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if len(candidates) < limit:
        return builtins.list(candidates)
    # A long queue on one device may hide another device's jobs from free
    # workers: look again, at the oldest jobs of each device.
    return sorted(
        (
            row
            for device in wanted
            for row in conn.execute(
                queued.where(jobs.c.device == device)
                .order_by(jobs.c.priority.desc(), jobs.c.seq)
                .limit(min(free[device], slots))
                .with_for_update(skip_locked=True)
            ).all()
        ),
        key=lambda row: (-row.priority, row.seq),
    )


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
