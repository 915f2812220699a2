"""The claim: the value a leased job becomes, from the manager to the worker that runs it.

The manager leases jobs (see :meth:`qharbor.jobs.manager.JobManager.claim`, and
:mod:`qharbor.jobs.queue` for which queued rows are candidates); the scheduler
prepares each claim for its device, and an executor hands it to a worker.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from qharbor import errors
from qharbor.devices import Device
from qharbor.jobs.options import JobOptions


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
