"""Reads of jobs for their users: one job, pages of jobs, results, exports, queue metrics.

Nothing here writes; :class:`qharbor.jobs.manager.JobManager` is the only writer
of job rows and builds on these reads.
The figures the quota check reads inside its own transaction are in
:mod:`qharbor.jobs.backlog`.
"""

from __future__ import annotations

import base64
import builtins
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from qharbor import errors
from qharbor.jobs.job import Job, JobStatus
from qharbor.jobs.result import RecentResults, read_result
from qharbor.store import Database
from qharbor.store.tables import job_tags, jobs, projects, results

#: The payloads a job was submitted with: read only where they are wanted (an
#: estimator's parameter values run to thousands of JSON numbers, read on every load).
_PAYLOADS = frozenset({"programs", "primitive"})
_JOB_COLUMNS = [
    *(c for c in jobs.c if c.name not in _PAYLOADS),
    projects.c.name.label("project_name"),
]


def select_jobs(*extra: Any) -> sa.Select[Any]:
    """Job rows with their project's name (the columns :meth:`Job.from_row` reads).

    Args:
        extra: further columns to read, such as ``jobs.c.programs``.
    """
    return sa.select(*_JOB_COLUMNS, *extra).join(projects, projects.c.id == jobs.c.project_id)


# Statements run for every job, built once; their parameters are bound per call.
_LOAD = select_jobs().where(jobs.c.id == sa.bindparam("job_id"))
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


class JobQueries:
    """Reads jobs, their results and the queues.

    Args:
        db: the database.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        #: Results this process stored moments ago; the manager adds to it.
        self._recent = RecentResults()

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
        query = select_jobs().where(jobs.c.project_id == project_id)
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

    def get_many(self, project_id: str, job_ids: Iterable[str]) -> builtins.list[Job]:
        """Those of the jobs that belong to the project, newest first; others are left out."""
        ids = builtins.list(job_ids)
        if not ids:
            return []
        query = (
            select_jobs()
            .where(jobs.c.project_id == project_id, jobs.c.id.in_(ids))
            .order_by(jobs.c.seq.desc())
        )
        with self.db.read() as conn:
            return [Job.from_row(r) for r in conn.execute(query).all()]

    def programs(self, project_id: str, job_id: str) -> builtins.list[dict[str, Any]]:
        """The programs a job was submitted with: source, format, name and bindings.

        A sealed job's programs are one envelope that only the workers open, so it
        shows none.

        Raises:
            errors.JobNotFound: for an unknown id and for another project's job alike.
        """
        query = sa.select(jobs.c.programs, jobs.c.sealed).where(
            jobs.c.id == job_id, jobs.c.project_id == project_id
        )
        with self.db.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise errors.JobNotFound(f"no job {job_id!r} in your project", job_id=job_id)
        return [] if row.sealed else [dict(p) for p in row.programs or []]

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
        known = self._recent.get(project_id, job_id) if recent else None
        if known is not None:
            return dict(known[1]), known[0].user_id
        with self.db.read() as conn:
            job = self._load(conn, job_id, project_id)
            if job.status is JobStatus.DONE:
                return read_result(conn, job_id), job.user_id
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
        recent = self._recent.get(project_id, job_id)
        if recent is not None:
            return recent[0], dict(recent[1])
        with self.db.read() as conn:
            job = self._load(conn, job_id, project_id)
            if job.status is JobStatus.DONE:
                return job, read_result(conn, job_id)
        if job.is_final:
            return job, None
        raise errors.JobNotFinished(
            f"job {job_id} is {job.status}", job_id=job_id, status=str(job.status)
        )

    def recently_done(self, project_id: str, job_id: str) -> tuple[Job, dict[str, Any]] | None:
        """The job and its result if this process completed it moments ago; memory only."""
        recent = self._recent.get(project_id, job_id)
        return None if recent is None else (recent[0], dict(recent[1]))

    def export_user(self, user_id: str) -> builtins.list[dict[str, Any]]:
        """Every job the user submitted, with its programs and result, oldest first."""
        with self.db.read() as conn:
            rows = conn.execute(
                select_jobs(jobs.c.programs).where(jobs.c.user_id == user_id).order_by(jobs.c.seq)
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

    def queued_unparsed(self, after: str = "", limit: int = 200) -> Sequence[sa.Row[Any]]:
        """Queued jobs an older release stored without parsed circuits, by id after ``after``.

        A job stored since keeps ``circuit_qpy`` or ``circuit_gates`` in each program,
        ``circuit_qpy`` in each PUB, or marks its
        sealed envelope ``parsed``; the database finds the others by their text.
        """
        programs = sa.cast(jobs.c.programs, sa.Text)
        pubs = sa.cast(jobs.c.primitive, sa.Text)
        with self.db.read() as conn:
            return conn.execute(
                sa.select(jobs)
                .where(
                    jobs.c.status == JobStatus.QUEUED.value,
                    jobs.c.id > after,
                    sa.or_(
                        sa.and_(
                            jobs.c.kind == "circuits",
                            programs.not_like("%circuit_qpy%"),
                            programs.not_like("%circuit_gates%"),
                            programs.not_like('%"parsed"%'),
                        ),
                        sa.and_(jobs.c.kind != "circuits", pubs.not_like("%circuit_qpy%")),
                    ),
                )
                .order_by(jobs.c.id)
                .limit(limit)
            ).all()

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

    def queue_depths(self) -> builtins.list[tuple[str, str, str, int]]:
        """Unfinished jobs now, as ``(device, project name, status, count)`` rows.

        For the centre's metrics: the status is QUEUED or RUNNING.
        """
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(jobs.c.device, projects.c.name, jobs.c.status, sa.func.count())
                .join(projects, projects.c.id == jobs.c.project_id)
                .where(jobs.c.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]))
                .group_by(jobs.c.device, projects.c.name, jobs.c.status)
            ).all()
        return [(r[0], r[1], r[2], int(r[3])) for r in rows]


def encode_cursor(seq: int) -> str:
    """The opaque cursor of the page that starts after the job at ``seq``."""
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
