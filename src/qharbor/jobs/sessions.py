"""Sessions and batches: groups of jobs on one device.

A *session* is for iterative work (a classical optimiser steering many short
jobs): its queued jobs go ahead of its project's other queued jobs on its
device, and ahead of other projects' jobs only while its project is within its
fair share (see ``jobs.policy``). It has a maximum lifetime and an idle timeout;
when it is closed, or either runs out, its jobs that are still queued fail with
``SESSION_CLOSED``, never silently. A project, and each of its users, may have
only so many sessions and batches open at once (``SESSION_LIMIT``).

A *batch* groups independent jobs for throughput and reporting. Its jobs keep
their ordinary place in the queue; closing it only stops new submissions, and
the jobs already queued still run.

This module writes the ``sessions`` table; job rows are changed only through the
job manager.
"""

from __future__ import annotations

import builtins
import datetime as dt
import enum
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from qharbor import errors, wire
from qharbor.jobs.manager import JobManager
from qharbor.store import Database
from qharbor.store.tables import sessions

#: Serialises session opening on PostgreSQL (SQLite's BEGIN IMMEDIATE already does).
_OPEN_LOCK = 0x71686172_73657373


class SessionMode(enum.StrEnum):
    SESSION = "session"  # priority on its device; closing fails its queued jobs
    BATCH = "batch"  # grouping only; closing stops new jobs, queued ones still run


class SessionStatus(enum.StrEnum):
    OPEN = "OPEN"  # accepting jobs
    CLOSED = "CLOSED"  # closed by its owner
    EXPIRED = "EXPIRED"  # its maximum lifetime or idle timeout ran out


@dataclass(frozen=True)
class Session:
    """A session or batch as stored."""

    id: str
    project_id: str
    user_id: str
    device: str
    mode: SessionMode
    status: SessionStatus
    max_ttl_s: float
    idle_ttl_s: float
    created_at: dt.datetime
    last_activity_at: dt.datetime
    closed_at: dt.datetime | None
    close_reason: str | None
    #: The Slurm job that opened it (``SLURM_JOB_ID``), and its cluster, if any.
    slurm_job_id: str | None = None
    slurm_cluster: str | None = None

    @property
    def expires_at(self) -> dt.datetime:
        """When the maximum lifetime ends."""
        return self.created_at + dt.timedelta(seconds=self.max_ttl_s)

    @classmethod
    def from_row(cls, row: Any) -> Session:
        m = row._mapping
        return cls(
            id=m["id"],
            project_id=m["project_id"],
            user_id=m["user_id"],
            device=m["device"],
            mode=SessionMode(m["mode"]),
            status=SessionStatus(m["status"]),
            max_ttl_s=float(m["max_ttl_s"]),
            idle_ttl_s=float(m["idle_ttl_s"]),
            created_at=m["created_at"],
            last_activity_at=m["last_activity_at"],
            closed_at=m["closed_at"],
            close_reason=m["close_reason"],
            slurm_job_id=m.get("slurm_job_id"),
            slurm_cluster=m.get("slurm_cluster"),
        )

    def to_json(self, jobs: dict[str, int] | None = None) -> dict[str, Any]:
        """The session as the API shows it, with its jobs counted by status if given."""
        return {
            "id": self.id,
            "device": self.device,
            "mode": str(self.mode),
            "status": str(self.status),
            "max_ttl_s": self.max_ttl_s,
            "idle_ttl_s": self.idle_ttl_s,
            "created_at": wire.iso(self.created_at),
            "last_activity_at": wire.iso(self.last_activity_at),
            "expires_at": wire.iso(self.expires_at),
            "closed_at": wire.iso(self.closed_at),
            "close_reason": self.close_reason,
            "slurm_job_id": self.slurm_job_id,
            "slurm_cluster": self.slurm_cluster,
            "jobs": jobs,
        }


class SessionManager:
    """Opens, reads, closes and expires sessions and batches.

    Args:
        db: the database.
        jobs: the job manager, which fails a closed session's queued jobs.
        max_ttl_s: the centre's longest lifetime, in seconds (also the default).
        idle_ttl_s: the centre's longest idle timeout, in seconds (also the default).
        max_open_per_project: sessions and batches a project may have open at once.
        max_open_per_user: sessions and batches a user may have open at once.
        clock: the time source (UTC).
    """

    def __init__(
        self,
        db: Database,
        jobs: JobManager,
        *,
        max_ttl_s: float,
        idle_ttl_s: float,
        max_open_per_project: int = 20,
        max_open_per_user: int = 5,
        clock: wire.Clock = wire.utcnow,
    ) -> None:
        self.db = db
        self._jobs = jobs
        self.max_ttl_s = max_ttl_s
        self.idle_ttl_s = idle_ttl_s
        self.max_open_per_project = max_open_per_project
        self.max_open_per_user = max_open_per_user
        self._clock = clock

    def create(
        self,
        project_id: str,
        user_id: str,
        device: str,
        mode: SessionMode = SessionMode.SESSION,
        max_ttl_s: float | None = None,
        idle_ttl_s: float | None = None,
        slurm_job_id: str | None = None,
        slurm_cluster: str | None = None,
    ) -> Session:
        """Open a session or batch on a device.

        ``slurm_job_id`` and ``slurm_cluster`` tie it to the Slurm job that opened
        it: :meth:`close_slurm_job` closes it when that job ends, and the usage of
        its jobs is reported per Slurm job.

        Raises:
            errors.InvalidRequest: a lifetime over the centre's limit.
            errors.SessionLimit: the project or the user has its most open already.
        """
        max_ttl = self._within(max_ttl_s, self.max_ttl_s, "max_ttl_s")
        idle_ttl = self._within(idle_ttl_s, self.idle_ttl_s, "idle_ttl_s")
        self.expire_due()  # sessions past their time do not count against the limits
        session_id = uuid.uuid4().hex
        now = self._clock()
        with self.db.write() as conn:
            if not self.db.is_sqlite:
                # Count and insert as one step, or two requests could both see room.
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_OPEN_LOCK)))
            self._check_limits(conn, project_id, user_id)
            conn.execute(
                sessions.insert().values(
                    id=session_id,
                    project_id=project_id,
                    user_id=user_id,
                    device=device,
                    mode=str(mode),
                    status=str(SessionStatus.OPEN),
                    max_ttl_s=max_ttl,
                    idle_ttl_s=idle_ttl,
                    created_at=now,
                    last_activity_at=now,
                    slurm_job_id=slurm_job_id,
                    slurm_cluster=slurm_cluster,
                )
            )
        return self.get(project_id, session_id)

    def _check_limits(self, conn: sa.Connection, project_id: str, user_id: str) -> None:
        is_open = sessions.c.status == str(SessionStatus.OPEN)
        for column, key, limit, whose in (
            (sessions.c.user_id, user_id, self.max_open_per_user, "you have"),
            (sessions.c.project_id, project_id, self.max_open_per_project, "your project has"),
        ):
            count = conn.execute(
                sa.select(sa.func.count()).select_from(sessions).where(is_open, column == key)
            ).scalar_one()
            if count >= limit:
                raise errors.SessionLimit(
                    f"{whose} {count} sessions or batches open, the most this centre allows "
                    f"({limit}); close one (DELETE /v1/sessions/{{id}}) or let one expire first",
                    limit=limit,
                    open=count,
                    per="user" if column is sessions.c.user_id else "project",
                )

    @staticmethod
    def _within(value: float | None, limit: float, name: str) -> float:
        if value is None:
            return limit
        if not 0 < value <= limit:
            raise errors.InvalidRequest(
                f"{name}={value:g} is outside what this centre allows (0 < {name} <= {limit:g} s)",
                field=name,
                limit_s=limit,
            )
        return float(value)

    def get(self, project_id: str, session_id: str) -> Session:
        """The session, if it belongs to the project.

        Raises:
            errors.SessionNotFound: for an unknown id and another project's alike.
        """
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(sessions).where(
                    sessions.c.id == session_id, sessions.c.project_id == project_id
                )
            ).first()
        if row is None:
            raise errors.SessionNotFound(
                f"no session {session_id!r} in your project", session_id=session_id
            )
        return Session.from_row(row)

    def list(
        self,
        project_id: str,
        *,
        mode: SessionMode | None = None,
        status: SessionStatus | None = None,
        limit: int = 50,
    ) -> list[Session]:
        """The project's sessions, newest first."""
        query = sa.select(sessions).where(sessions.c.project_id == project_id)
        if mode is not None:
            query = query.where(sessions.c.mode == str(mode))
        if status is not None:
            query = query.where(sessions.c.status == str(status))
        query = query.order_by(sessions.c.created_at.desc()).limit(limit)
        with self.db.read() as conn:
            return [Session.from_row(r) for r in conn.execute(query).all()]

    def summary(self, session: Session) -> dict[str, int]:
        """The session's jobs, counted by status."""
        return self._jobs.session_summary(session.id)

    def admit(self, project_id: str, session_id: str, device: str) -> Session:
        """Check that a job may join the session, and record the activity.

        Raises:
            errors.SessionNotFound: no such session in the project.
            errors.SessionClosed: it is closed or has expired.
            errors.InvalidRequest: the job is for another device.
        """
        self.expire_due()
        session = self.get(project_id, session_id)
        if session.status is not SessionStatus.OPEN:
            raise errors.SessionClosed(
                f"session {session_id} is {session.status.lower()} "
                f"({session.close_reason}); open a new session",
                session_id=session_id,
                reason=session.close_reason,
            )
        if session.device != device:
            raise errors.InvalidRequest(
                f"session {session_id} is on device {session.device!r}, not {device!r}; "
                "submit to its device or open another session",
                field="device",
                session_device=session.device,
            )
        with self.db.write() as conn:
            conn.execute(
                sessions.update()
                .where(sessions.c.id == session_id)
                .values(last_activity_at=self._clock())
            )
        return session

    def after_submit(self, session: Session) -> None:
        """Fail a job that joined just as its session closed, so none waits forever."""
        current = self.get(session.project_id, session.id)
        if current.status is not SessionStatus.OPEN and current.mode is SessionMode.SESSION:
            self._fail_queued(current, current.close_reason or "closed")

    def close(self, project_id: str, session_id: str) -> Session:
        """Close a session (its queued jobs fail) or a batch (its queued jobs still run).

        Closing an already closed session is not an error and changes nothing.
        """
        session = self.get(project_id, session_id)
        if session.status is SessionStatus.OPEN:
            self._end(session, SessionStatus.CLOSED, "closed")
        return self.get(project_id, session_id)

    def close_slurm_job(
        self, project_id: str | None, slurm_job_id: str, slurm_cluster: str | None = None
    ) -> builtins.list[Session]:
        """Close every open session a Slurm job opened (its job script ended).

        Args:
            project_id: only this project's sessions; None for every project (the
                cluster's epilog, with an admin token).
            slurm_job_id: the Slurm job's id.
            slurm_cluster: only sessions from this cluster; None for any.

        Returns:
            The sessions it closed, as they are now; none is not an error.
        """
        query = sa.select(sessions).where(
            sessions.c.slurm_job_id == slurm_job_id,
            sessions.c.status == str(SessionStatus.OPEN),
        )
        if project_id is not None:
            query = query.where(sessions.c.project_id == project_id)
        if slurm_cluster is not None:
            query = query.where(sessions.c.slurm_cluster == slurm_cluster)
        with self.db.read() as conn:
            found = [Session.from_row(r) for r in conn.execute(query).all()]
        closed = [s for s in found if self._end(s, SessionStatus.CLOSED, "slurm_job_ended")]
        return [self.get(s.project_id, s.id) for s in closed]

    def expire_due(self) -> builtins.list[str]:
        """Expire every open session past its lifetime or idle timeout.

        Idle time counts from the later of the last submission and the end of its
        last job; a session with jobs queued or running is never idle.

        Returns:
            The ids of the sessions that expired.
        """
        now = self._clock()
        with self.db.read() as conn:
            open_sessions = [
                Session.from_row(r)
                for r in conn.execute(
                    sa.select(sessions).where(sessions.c.status == str(SessionStatus.OPEN))
                ).all()
            ]
        if not open_sessions:
            return []
        activity = self._jobs.session_activity(s.id for s in open_sessions)
        expired: builtins.list[str] = []
        for session in open_sessions:
            reason = None
            if now >= session.expires_at:
                reason = "max_ttl"
            else:
                active, last_end = activity.get(session.id, (0, None))
                last = max(session.last_activity_at, last_end or session.last_activity_at)
                if not active and now >= last + dt.timedelta(seconds=session.idle_ttl_s):
                    reason = "idle"
            if reason is not None and self._end(session, SessionStatus.EXPIRED, reason):
                expired.append(session.id)
        return expired

    def _end(self, session: Session, status: SessionStatus, reason: str) -> bool:
        with self.db.write() as conn:
            changed = conn.execute(
                sessions.update()
                .where(
                    sessions.c.id == session.id,
                    sessions.c.status == str(SessionStatus.OPEN),
                )
                .values(status=str(status), closed_at=self._clock(), close_reason=reason)
            ).rowcount
        if changed and session.mode is SessionMode.SESSION:
            self._fail_queued(session, reason)
        return bool(changed)

    def _fail_queued(self, session: Session, reason: str) -> None:
        why = {
            "closed": "was closed",
            "max_ttl": "reached its maximum lifetime",
            "idle": "expired after its idle timeout",
            "slurm_job_ended": "was closed as its Slurm job ended",
        }.get(reason, reason)
        self._jobs.fail_queued_in_session(
            session.id,
            errors.SessionClosed.code,
            f"session {session.id} {why} before this job ran; submit it again in a new session",
        )
