"""A project's backlog: its unfinished jobs, how many, and the device time they reserve.

Quotas admit a submission against these figures inside the write transaction
that stores it; the jobs layer owns the query, so which statuses count as
unfinished is decided here, by the status enum, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from qharbor.jobs.job import JobStatus
from qharbor.store.tables import jobs

#: Job statuses that hold a reservation and count towards the concurrent-job limit.
ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


def count(conn: sa.Connection, project_id: str) -> int:
    """How many of the project's jobs are queued or running."""
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(jobs)
            .where(jobs.c.project_id == project_id, jobs.c.status.in_(ACTIVE_STATUSES))
        ).scalar_one()
    )


def reserved_s(conn: sa.Connection, project_id: str, devices: Sequence[str]) -> float:
    """The estimated device time (seconds) of the project's unfinished jobs on ``devices``."""
    total = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(jobs.c.estimated_s), 0.0)).where(
            jobs.c.project_id == project_id,
            jobs.c.status.in_(ACTIVE_STATUSES),
            jobs.c.device.in_(devices),
        )
    )
    return float(total.scalar_one())
