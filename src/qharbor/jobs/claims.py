"""Claims: the value a leased job becomes, and the choice of which queued jobs to lease.

The manager leases jobs (see :meth:`qharbor.jobs.manager.JobManager.claim`); this
module says which queued rows are candidates, in the order a
:class:`qharbor.jobs.policy.QueuePolicy` serves the projects, and what a worker
is handed for each.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from qharbor import errors
from qharbor.devices import Device
from qharbor.jobs import policy
from qharbor.jobs.job import JobStatus
from qharbor.jobs.options import JobOptions
from qharbor.store.tables import jobs


@dataclass(frozen=True)
class Claim:
    """One attempt of one job: leased by the manager, prepared by the scheduler, run by a worker.

    The manager fills what the job's row holds; the scheduler adds, with
    :meth:`prepared`, the device's catalogue entry and what only it may know
    (the twin's calibration in force, the keys of a sealed job) before an
    executor hands the claim to a worker.
    """

    job_id: str
    attempt: int
    device: str
    shots: int
    seed: int
    programs: list[dict[str, Any]]
    kind: str = "circuits"
    primitive: dict[str, Any] | None = None
    options: JobOptions = field(default_factory=JobOptions)
    #: The programs are one sealed envelope, opened by the worker.
    sealed: bool = False
    #: The submitter's ML-KEM key id the result is to be sealed to.
    result_key_id: str | None = None
    #: The memory its worker needs (bytes), reserved on the host while it runs.
    memory_bytes: int = 0
    #: The device's catalogue entry, once prepared.
    target: Device | None = None
    #: The twin document, with the calibration in force as the job starts.
    twin: dict[str, Any] | None = None
    #: For a sealed job, the AES key of its one programs envelope.
    program_key: bytes | None = None
    #: The (key id, raw ML-KEM-768 public key) to seal the result to, if any.
    result_key: tuple[str, bytes] | None = None

    @classmethod
    def from_row(cls, row: Any, attempt: int) -> Claim:
        """The claim of a candidate row (see :func:`queues`), leased as ``attempt``."""
        return cls(
            row.id,
            attempt,
            row.device,
            row.shots,
            row.seed,
            row.programs,
            kind=row.kind,
            primitive=row.primitive,
            options=JobOptions.from_json(row.options),
            sealed=bool(row.sealed),
            result_key_id=row.result_key_id,
            memory_bytes=row.memory_bytes or 0,
        )

    def prepared(
        self,
        target: Device,
        *,
        twin: dict[str, Any] | None = None,
        program_key: bytes | None = None,
        result_key: tuple[str, bytes] | None = None,
    ) -> Claim:
        """This claim ready for a worker: on ``target``, with the twin and keys it needs."""
        return dataclasses.replace(
            self, target=target, twin=twin, program_key=program_key, result_key=result_key
        )

    @property
    def runs_on(self) -> Device:
        """The device's catalogue entry.

        Raises:
            errors.ExecutionError: the claim was not prepared.
        """
        if self.target is None:
            raise errors.ExecutionError(f"job {self.job_id} reached a worker unprepared")
        return self.target


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

_QUEUED = sa.select(*_CLAIM_COLUMNS).where(jobs.c.status == JobStatus.QUEUED.value)


def queues(
    conn: sa.Connection, order: policy.QueuePolicy | None, wanted: list[str]
) -> list[sa.Select[Any]]:
    """The queued jobs on the wanted devices, as queues to serve one after another.

    Args:
        conn: the claiming transaction.
        order: the order in which projects are served; None serves every job by
            priority, then age.
        wanted: the devices with room.
    """
    if order is None:
        return [_QUEUED]
    waiting = conn.execute(
        sa.select(
            jobs.c.project_id,
            sa.func.min(jobs.c.seq).label("oldest"),
            sa.func.max(jobs.c.priority).label("top"),
        )
        .where(jobs.c.status == JobStatus.QUEUED.value, jobs.c.device.in_(wanted))
        .group_by(jobs.c.project_id)
    ).all()
    turns = order.turns([policy.Waiting(r.project_id, r.oldest, bool(r.top)) for r in waiting])
    return [
        _QUEUED.where(jobs.c.project_id == turn.project_id, jobs.c.priority > 0)
        if turn.sessions_only
        else _QUEUED.where(jobs.c.project_id == turn.project_id)
        for turn in turns
    ]


def candidates(
    conn: sa.Connection,
    queued: sa.Select[Any],
    wanted: list[str],
    free: dict[str, int],
    slots: int,
) -> list[Any]:
    """The oldest queued rows of ``queued`` on the wanted devices, locked for claiming."""
    limit = max(slots * 4, 16)
    found = conn.execute(
        queued.where(jobs.c.device.in_(wanted))
        .order_by(jobs.c.priority.desc(), jobs.c.seq)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if len(found) < limit:
        return list(found)
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
