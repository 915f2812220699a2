"""``JobEnding``: what the store tells its listeners when a job reaches a final status.

The job manager builds one for every job it moves to DONE, FAILED or CANCELLED,
after the change is committed, and hands it to the ``on_end`` listener (the
centre's metrics, its log). Listeners never write: the row is already final.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from qharbor.jobs.job import JobStatus


@dataclass(frozen=True)
class JobEnding:
    """One job's end.

    Attributes:
        job_id: the job.
        project: its project's name.
        device: its device.
        status: DONE, FAILED or CANCELLED.
        error_code: why it failed (None unless FAILED).
        queued_s: from submission to its first start (seconds); None if it never started.
        running_s: from its first start to its end (seconds); None if it never started.
        total_s: from submission to its end (seconds).
        compile_s: parsing and compiling in the worker (seconds), for a DONE job.
        run_s: running on the engines (seconds), for a DONE job.
    """

    job_id: str
    project: str
    device: str
    status: JobStatus
    error_code: str | None
    queued_s: float | None
    running_s: float | None
    total_s: float
    compile_s: float | None = None
    run_s: float | None = None

    @classmethod
    def of(
        cls,
        *,
        job_id: str,
        project: str,
        device: str,
        status: JobStatus,
        error_code: str | None,
        created_at: dt.datetime,
        started_at: dt.datetime | None,
        finished_at: dt.datetime,
        compile_s: float | None = None,
        run_s: float | None = None,
    ) -> JobEnding:
        """The ending of a job with these times (UTC)."""
        queued_s = running_s = None
        if started_at is not None:
            queued_s = (started_at - created_at).total_seconds()
            running_s = (finished_at - started_at).total_seconds()
        return cls(
            job_id=job_id,
            project=project,
            device=device,
            status=status,
            error_code=error_code,
            queued_s=queued_s,
            running_s=running_s,
            total_s=max(0.0, (finished_at - created_at).total_seconds()),
            compile_s=compile_s,
            run_s=run_s,
        )
