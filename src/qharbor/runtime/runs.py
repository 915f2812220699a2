"""Program runs: their value, their statuses, and the one store that writes their rows."""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import enum
import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from qharbor import errors, wire
from qharbor.store import Database
from qharbor.store.tables import job_tags, jobs, program_runs, projects


class RunStatus(enum.StrEnum):
    QUEUED = "QUEUED"  # stored; its classical loop has not started in this centre
    RUNNING = "RUNNING"  # its loop runs (again, after a restart, from its checkpoint)
    DONE = "DONE"  # finished with a signed result
    FAILED = "FAILED"  # the program raised; error_code and error_message say why
    CANCELLED = "CANCELLED"  # cancelled on request

    @property
    def is_final(self) -> bool:
        return self in (RunStatus.DONE, RunStatus.FAILED, RunStatus.CANCELLED)


def run_tag(run_id: str) -> str:
    """The tag every quantum job of the run carries."""
    return f"program-run:{run_id}"


def inputs_hash(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(wire.canonical(inputs)).hexdigest()


@dataclass(frozen=True)
class ProgramRun:
    """One run of a program, as stored."""

    id: str
    project_id: str
    user_id: str
    program: str
    version: str
    device: str
    status: RunStatus
    inputs: dict[str, Any]
    inputs_hash: str
    attempt: int
    cancel_requested: bool
    progress: dict[str, Any] | None
    session_id: str | None
    error_code: str | None
    error_message: str | None
    created_at: Any
    started_at: Any
    finished_at: Any

    @classmethod
    def from_row(cls, row: Any) -> ProgramRun:
        return cls(
            id=row.id,
            project_id=row.project_id,
            user_id=row.user_id,
            program=row.program,
            version=row.version,
            device=row.device,
            status=RunStatus(row.status),
            inputs=dict(row.inputs),
            inputs_hash=row.inputs_hash,
            attempt=row.attempt,
            cancel_requested=bool(row.cancel_requested),
            progress=row.progress,
            session_id=row.session_id,
            error_code=row.error_code,
            error_message=row.error_message,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )

    def to_json(self) -> dict[str, Any]:
        error = None
        if self.error_code is not None:
            error = {"code": self.error_code, "message": self.error_message}
        return {
            "id": self.id,
            "program": self.program,
            "version": self.version,
            "device": self.device,
            "status": str(self.status),
            "inputs": self.inputs,
            "attempt": self.attempt,
            "cancel_requested": self.cancel_requested,
            "progress": self.progress,
            "session_id": self.session_id,
            "error": error,
            "created_at": wire.iso(self.created_at),
            "started_at": wire.iso(self.started_at) if self.started_at else None,
            "finished_at": wire.iso(self.finished_at) if self.finished_at else None,
        }


_COLUMNS = [
    c
    for c in program_runs.c
    if c.name not in ("checkpoint", "result", "signature", "lease_owner", "lease_expires_at")
]
_UNFINISHED = program_runs.c.status.in_([str(RunStatus.QUEUED), str(RunStatus.RUNNING)])


class RunLost(Exception):
    """The run's lease passed to another process: this attempt must stop, writing nothing."""


class RunStore:
    """The only writer of ``program_runs`` rows."""

    def __init__(self, db: Database, clock: wire.Clock = wire.utcnow) -> None:
        self.db = db
        self._clock = clock

    def create(
        self,
        project_id: str,
        user_id: str,
        program: str,
        version: str,
        device: str,
        inputs: dict[str, Any],
    ) -> ProgramRun:
        run_id = uuid.uuid4().hex
        with self.db.write() as conn:
            conn.execute(
                program_runs.insert().values(
                    id=run_id,
                    project_id=project_id,
                    user_id=user_id,
                    program=program,
                    version=version,
                    device=device,
                    status=str(RunStatus.QUEUED),
                    inputs=inputs,
                    inputs_hash=inputs_hash(inputs),
                    attempt=0,
                    cancel_requested=False,
                    created_at=self._clock(),
                )
            )
        return self.get(project_id, run_id)

    def get(self, project_id: str | None, run_id: str) -> ProgramRun:
        """Raises: errors.ProgramRunNotFound."""
        query = sa.select(*_COLUMNS).where(program_runs.c.id == run_id)
        if project_id is not None:
            query = query.where(program_runs.c.project_id == project_id)
        with self.db.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise errors.ProgramRunNotFound(run_id=run_id)
        return ProgramRun.from_row(row)

    def list(
        self, project_id: str, program: str | None = None, limit: int = 50
    ) -> builtins.list[ProgramRun]:
        query = (
            sa.select(*_COLUMNS)
            .where(program_runs.c.project_id == project_id)
            .order_by(program_runs.c.created_at.desc())
            .limit(limit)
        )
        if program is not None:
            query = query.where(program_runs.c.program == program)
        with self.db.read() as conn:
            return [ProgramRun.from_row(row) for row in conn.execute(query)]

    def claimable(self) -> builtins.list[ProgramRun]:
        """Unfinished runs no live process holds, oldest first: those a centre may take."""
        now = self._clock()
        query = (
            sa.select(*_COLUMNS)
            .where(
                _UNFINISHED,
                sa.or_(program_runs.c.lease_owner.is_(None), program_runs.c.lease_expires_at < now),
            )
            .order_by(program_runs.c.created_at)
        )
        with self.db.read() as conn:
            return [ProgramRun.from_row(row) for row in conn.execute(query)]

    def claim(
        self, run_id: str, owner: str, lease_s: float
    ) -> tuple[int, dict[str, Any] | None] | None:
        """Lease the run to ``owner`` as a new attempt, if no live process holds it.

        Returns:
            The attempt's number and the state the run last saved; None when the run
            is final or another process's lease on it has not expired.
        """
        now = self._clock()
        with self.db.write() as conn:
            row = conn.execute(
                sa.select(program_runs.c.attempt, program_runs.c.checkpoint).where(
                    program_runs.c.id == run_id
                )
            ).first()
            if row is None:
                return None
            attempt = row.attempt + 1
            claimed = conn.execute(
                program_runs.update()
                .where(
                    program_runs.c.id == run_id,
                    program_runs.c.attempt == row.attempt,
                    _UNFINISHED,
                    sa.or_(
                        program_runs.c.lease_owner.is_(None),
                        program_runs.c.lease_expires_at < now,
                    ),
                )
                .values(
                    status=str(RunStatus.RUNNING),
                    attempt=attempt,
                    lease_owner=owner,
                    lease_expires_at=now + dt.timedelta(seconds=lease_s),
                    started_at=now,
                )
            ).rowcount
        return (attempt, row.checkpoint) if claimed else None

    def set_session(self, run_id: str, attempt: int, session_id: str) -> None:
        """Record the session the attempt's jobs join.

        Raises:
            RunLost: the attempt no longer holds the run.
        """
        self._fenced(run_id, attempt, {"session_id": session_id})

    def renew(self, owner: str, run_ids: Iterable[str], lease_s: float) -> set[str]:
        """Extend the owner's leases on these runs; which of them were asked to cancel."""
        ids = list(run_ids)
        if not ids:
            return set()
        held = sa.and_(
            program_runs.c.id.in_(ids),
            program_runs.c.lease_owner == owner,
            program_runs.c.status == str(RunStatus.RUNNING),
        )
        with self.db.write() as conn:
            conn.execute(
                program_runs.update()
                .where(held)
                .values(lease_expires_at=self._clock() + dt.timedelta(seconds=lease_s))
            )
            cancelled = conn.execute(
                sa.select(program_runs.c.id).where(held, program_runs.c.cancel_requested.is_(True))
            ).scalars()
            return set(cancelled)

    def release(self, run_id: str, attempt: int) -> None:
        """Give the run up, still RUNNING, for the next centre to take at once."""
        with contextlib.suppress(RunLost):
            self._fenced(run_id, attempt, {"lease_owner": None, "lease_expires_at": None})

    def save(
        self,
        run_id: str,
        attempt: int,
        checkpoint: dict[str, Any] | None,
        progress: dict[str, Any] | None,
        conn: sa.Connection | None = None,
    ) -> None:
        """Store the attempt's progress and, if given, its state; in ``conn``'s
        transaction when given (the one that stores the jobs the state counts).

        Raises:
            RunLost: the attempt no longer holds the run.
        """
        values: dict[str, Any] = {"progress": progress}
        if checkpoint is not None:
            values["checkpoint"] = checkpoint
        self._fenced(run_id, attempt, values, conn)

    def _fenced(
        self,
        run_id: str,
        attempt: int,
        values: dict[str, Any],
        conn: sa.Connection | None = None,
    ) -> None:
        update = (
            program_runs.update()
            .where(
                program_runs.c.id == run_id,
                program_runs.c.attempt == attempt,
                program_runs.c.status == str(RunStatus.RUNNING),
            )
            .values(**values)
        )
        if conn is not None:
            updated = conn.execute(update).rowcount
        else:
            with self.db.write() as own:
                updated = own.execute(update).rowcount
        if not updated:
            raise RunLost(run_id)

    def request_cancel(self, project_id: str, run_id: str) -> ProgramRun:
        """Raises: errors.ProgramRunNotFound, errors.ProgramRunFinal."""
        run = self.get(project_id, run_id)
        if run.status.is_final:
            raise errors.ProgramRunFinal(
                f"program run {run_id} is already {run.status}", status=str(run.status)
            )
        values: dict[str, Any] = {"cancel_requested": True}
        if run.status is RunStatus.QUEUED:
            values.update(status=str(RunStatus.CANCELLED), finished_at=self._clock())
        with self.db.write() as conn:
            conn.execute(
                program_runs.update()
                .where(program_runs.c.id == run_id, program_runs.c.status == str(run.status))
                .values(**values)
            )
        return self.get(project_id, run_id)

    def cancel_requested(self, run_id: str) -> bool:
        with self.db.read() as conn:
            return bool(
                conn.execute(
                    sa.select(program_runs.c.cancel_requested).where(program_runs.c.id == run_id)
                ).scalar()
            )

    def finish(
        self,
        run_id: str,
        attempt: int | None,
        status: RunStatus,
        *,
        progress: dict[str, Any] | None = None,
        result: dict[str, Any] | None = None,
        signature: dict[str, Any] | None = None,
        error: errors.QHarborError | None = None,
    ) -> bool:
        """End the run; with ``attempt``, only if that attempt still holds it.

        Returns:
            False when the attempt no longer holds the run; nothing is written then.
        """
        fence = [program_runs.c.id == run_id, _UNFINISHED]
        if attempt is not None:
            fence.append(program_runs.c.attempt == attempt)
        with self.db.write() as conn:
            return bool(
                conn.execute(
                    program_runs.update()
                    .where(*fence)
                    .values(
                        lease_owner=None,
                        lease_expires_at=None,
                        status=str(status),
                        progress=progress,
                        result=result,
                        signature=signature,
                        error_code=error.code if error else None,
                        error_message=error.message if error else None,
                        finished_at=self._clock(),
                    )
                ).rowcount
            )

    def result(self, project_id: str, run_id: str) -> dict[str, Any]:
        """The signed result of a DONE run.

        Raises:
            errors.ProgramRunNotFound, errors.ProgramRunNotDone.
        """
        run = self.get(project_id, run_id)
        if run.status is not RunStatus.DONE:
            raise errors.ProgramRunNotDone(
                f"program run {run_id} is {run.status}"
                + (f" ({run.error_code}: {run.error_message})" if run.error_code else "")
                + ("; wait for it" if not run.status.is_final else ""),
                status=str(run.status),
            )
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(program_runs.c.result, program_runs.c.signature).where(
                    program_runs.c.id == run_id
                )
            ).one()
        return {**row.result, "signature": row.signature}

    def job_ids(self, run_id: str) -> builtins.list[str]:
        """Every job the run submitted, in every attempt, by their tag."""
        with self.db.read() as conn:
            return list(
                conn.execute(
                    sa.select(jobs.c.id)
                    .join(job_tags, job_tags.c.job_id == jobs.c.id)
                    .where(job_tags.c.tag == run_tag(run_id))
                    .order_by(jobs.c.seq)
                ).scalars()
            )

    def project_name(self, project_id: str) -> str:
        with self.db.read() as conn:
            return str(
                conn.execute(sa.select(projects.c.name).where(projects.c.id == project_id)).scalar()
            )
