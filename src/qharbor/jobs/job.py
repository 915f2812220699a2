"""The ``Job`` value type and its status enum."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from qharbor import wire


class JobStatus(enum.StrEnum):
    QUEUED = "QUEUED"  # accepted and stored, waiting for a worker
    RUNNING = "RUNNING"  # leased to a worker, which is executing it
    DONE = "DONE"  # finished; the result is stored
    FAILED = "FAILED"  # ended without a result; error_code says why
    CANCELLED = "CANCELLED"  # cancelled by its owner before it finished


FINAL_STATUSES = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED})


@dataclass(frozen=True)
class Job:
    """A job as stored. Built from a row; never mutated (the manager writes rows)."""

    id: str
    seq: int
    project_id: str
    project: str
    user_id: str
    device: str
    status: JobStatus
    shots: int
    seed: int
    tags: tuple[str, ...]
    num_programs: int
    num_experiments: int
    attempt: int
    cancel_requested: bool
    error_code: str | None
    error_message: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    queue_position: int | None = None
    kind: str = "circuits"
    session_id: str | None = None
    priority: int = 0
    options: dict[str, Any] | None = None
    sealed: bool = False
    result_sealed: bool = False
    #: Runs done and runs in all, while a fanned-out job runs (and once it ended).
    progress: tuple[int, int] | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @classmethod
    def from_row(cls, row: Any, project: str = "", queue_position: int | None = None) -> Job:
        m = row._mapping
        return cls(
            id=m["id"],
            seq=m["seq"],
            project_id=m["project_id"],
            project=m.get("project_name") or project,
            user_id=m["user_id"],
            device=m["device"],
            status=JobStatus(m["status"]),
            shots=m["shots"],
            seed=m["seed"],
            tags=tuple(m["tags"] or ()),
            num_programs=m["num_programs"],
            num_experiments=m["num_experiments"],
            attempt=m["attempt"],
            cancel_requested=bool(m["cancel_requested"]),
            error_code=m["error_code"],
            error_message=m["error_message"],
            created_at=m["created_at"],
            started_at=m["started_at"],
            finished_at=m["finished_at"],
            queue_position=queue_position,
            kind=m.get("kind") or "circuits",
            session_id=m.get("session_id"),
            priority=m.get("priority") or 0,
            options=m.get("options"),
            sealed=bool(m.get("sealed", False)),
            result_sealed=m.get("result_key_id") is not None,
            progress=(
                (m["progress_done"], m["progress_total"])
                if m.get("progress_total") is not None
                else None
            ),
        )

    def to_json(self) -> dict[str, Any]:
        """The job as the API shows it."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": str(self.status),
            "device": self.device,
            "project": self.project,
            "shots": self.shots,
            "seed": self.seed,
            "tags": list(self.tags),
            "num_programs": self.num_programs,
            "num_experiments": self.num_experiments,
            "attempt": self.attempt,
            "created_at": wire.iso(self.created_at),
            "started_at": wire.iso(self.started_at),
            "finished_at": wire.iso(self.finished_at),
            "cancel_requested": self.cancel_requested,
            "queue_position": self.queue_position,
            "session_id": self.session_id,
            "options": dict(self.options or {}),
            "sealed": self.sealed,
            "result_sealed": self.result_sealed,
            "progress": (
                {"done": self.progress[0], "total": self.progress[1]}
                if self.progress is not None
                else None
            ),
            "error": (
                {"code": self.error_code, "message": self.error_message}
                if self.error_code
                else None
            ),
        }
