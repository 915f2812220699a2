"""Sessions tied to a Slurm job: opened by its job script, closed when it ends.

The centre cannot see a cluster's Slurm jobs, so the session is closed from the
job's side, in layers (docs/operations.md, "Slurm"):

1. the script itself: :class:`SlurmSession` closes on exit, and on the SIGTERM
   that ``scancel`` and the time limit send; ``qharbor session open --slurm
   --shell`` prints a shell ``trap`` that does the same for a bash script;
2. a watcher process the CLI starts, which closes the session once the batch
   script's process is gone (it was killed before its traps could run);
3. the cluster's epilog, with a centre admin's token, closing every session of
   the Slurm job whatever became of the job's processes;
4. the session's own idle timeout and lifetime, on the centre.
"""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

from qharbor import errors

if TYPE_CHECKING:
    from qharbor.client.service import HarborService

#: How long a session opened by a Slurm job may sit idle by default (seconds): an
#: optimiser's classical step between jobs fits; a forgotten session does not linger.
DEFAULT_IDLE_TTL_S = 300.0


@dataclass(frozen=True)
class SlurmJob:
    """The Slurm job this process runs in.

    Attributes:
        job_id: ``SLURM_JOB_ID``.
        cluster: ``SLURM_CLUSTER_NAME``, if Slurm set it.
    """

    job_id: str
    cluster: str | None = None

    @classmethod
    def from_environment(cls, job_id: str | None = None) -> SlurmJob:
        """The job from Slurm's variables; ``job_id`` overrides ``SLURM_JOB_ID``.

        Raises:
            errors.NotInSlurmJob: neither is set.
        """
        found = job_id or os.environ.get("SLURM_JOB_ID")
        if not found:
            raise errors.NotInSlurmJob()
        return cls(found, os.environ.get("SLURM_CLUSTER_NAME") or None)


class SlurmSession:
    """A session tied to the Slurm job this process runs in; a context manager.

    On leaving the ``with`` block, and on SIGTERM (``scancel``, the time limit),
    the session is closed; SIGTERM then ends the process as it would have.

    Example:
        >>> with service.slurm_session("sc25") as session:
        ...     job = service.run(circuit, session=session.id)
    """

    def __init__(self, service: HarborService, details: dict[str, Any]) -> None:
        self.service = service
        self.details = details
        self._closed = False
        self._previous: Any = None

    @property
    def id(self) -> str:
        return str(self.details["id"])

    @property
    def slurm_job_id(self) -> str:
        return str(self.details["slurm_job_id"])

    def close(self) -> dict[str, Any]:
        """Close the session (idempotent)."""
        if not self._closed:
            self.details = self.service.close_session(self.id)
            self._closed = True
        return self.details

    def _on_term(self, signum: int, frame: FrameType | None) -> None:
        try:
            self.close()
        finally:
            signal.signal(signum, self._previous or signal.SIG_DFL)
            if callable(self._previous):
                self._previous(signum, frame)
            else:
                raise SystemExit(128 + signum)

    def __enter__(self) -> SlurmSession:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._on_term)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.close()
        finally:
            if self._previous is not None:
                signal.signal(signal.SIGTERM, self._previous)
                self._previous = None
