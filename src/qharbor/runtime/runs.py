"""Program runs: their value, their statuses, and the one store that writes their rows."""

from __future__ import annotations

import builtins
import enum
import hashlib
import uuid
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


_COLUMNS = [c for c in program_runs.c if c.name not in ("checkpoint", "result", "signature")]


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

    def unfinished(self) -> builtins.list[ProgramRun]:
        """Runs not yet final, oldest first: those a starting centre resumes."""
        query = (
            sa.select(*_COLUMNS)
            .where(program_runs.c.status.in_([str(RunStatus.QUEUED), str(RunStatus.RUNNING)]))
            .order_by(program_runs.c.created_at)
        )
        with self.db.read() as conn:
            return [ProgramRun.from_row(row) for row in conn.execute(query)]

    def start(self, run_id: str, session_id: str | None) -> tuple[int, dict[str, Any] | None]:
        """Mark the run RUNNING in a new attempt; its attempt number and saved state."""
        with self.db.write() as conn:
            row = conn.execute(
                sa.select(program_runs.c.attempt, program_runs.c.checkpoint).where(
                    program_runs.c.id == run_id
                )
            ).one()
            attempt = row.attempt + 1
            conn.execute(
                program_runs.update()
                .where(program_runs.c.id == run_id)
                .values(
                    status=str(RunStatus.RUNNING),
                    attempt=attempt,
                    session_id=session_id,
                    started_at=self._clock(),
                )
            )
        return attempt, row.checkpoint

    def save(
        self, run_id: str, checkpoint: dict[str, Any] | None, progress: dict[str, Any] | None
    ) -> None:
        values: dict[str, Any] = {"progress": progress}
        if checkpoint is not None:
            values["checkpoint"] = checkpoint
        with self.db.write() as conn:
            conn.execute(program_runs.update().where(program_runs.c.id == run_id).values(**values))

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
        status: RunStatus,
        *,
        progress: dict[str, Any] | None = None,
        result: dict[str, Any] | None = None,
        signature: dict[str, Any] | None = None,
        error: errors.QHarborError | None = None,
    ) -> None:
        with self.db.write() as conn:
            conn.execute(
                program_runs.update()
                .where(program_runs.c.id == run_id)
                .values(
                    status=str(status),
                    progress=progress,
                    result=result,
                    signature=signature,
                    error_code=error.code if error else None,
                    error_message=error.message if error else None,
                    finished_at=self._clock(),
                )
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
