"""Jobs: the value type, the manager (the only writer of job rows), its queries, the scheduler."""

from __future__ import annotations

from qharbor.jobs.job import FINAL_STATUSES, Job, JobStatus

__all__ = ["FINAL_STATUSES", "Job", "JobStatus"]
