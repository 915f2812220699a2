"""The usage ledger: measured device time, charged to projects when their jobs end.

The job manager charges a job in the same transaction that ends it, so a job is
charged exactly once. A job cancelled before it started costs nothing.

A reserved window is charged as one row of its own (no job), written when the
window is settled (``qharbor.accounting.reservations``); the jobs its project ran
inside it are recorded with the window's id and charged only for the time they
ran past its end.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from qharbor import wire
from qharbor.store import Database
from qharbor.store.tables import jobs, projects, sessions, usage, users

# Built once: they run for every finished job.
_DELETE = usage.delete().where(usage.c.job_id == sa.bindparam("job_id"))
_INSERT = usage.insert()
_DELETE_WINDOW = usage.delete().where(
    usage.c.reservation_id == sa.bindparam("window"), usage.c.job_id.is_(None)
)


def charge(
    conn: sa.Connection,
    *,
    job_id: str,
    project_id: str,
    device: str,
    device_s: float,
    at: dt.datetime,
    reservation_id: str | None = None,
) -> None:
    """Record a finished job's device time (seconds); call in the transaction that ends it.

    Args:
        reservation_id: the window the job ran inside, if any; the caller has already
            left out of ``device_s`` the time the window pays for.
    """
    charge_many(
        conn,
        [
            {
                "job_id": job_id,
                "project_id": project_id,
                "device": device,
                "device_s": device_s,
                "at": at,
                "reservation_id": reservation_id,
            }
        ],
    )


def charge_many(conn: sa.Connection, charges: Sequence[Mapping[str, Any]]) -> None:
    """:func:`charge` for many jobs, in two statements; call in the transaction that ends them.

    Args:
        charges: per job, :func:`charge`'s keyword arguments (``reservation_id`` included).
    """
    if not charges:
        return
    conn.execute(_DELETE, [{"job_id": c["job_id"]} for c in charges])
    conn.execute(
        _INSERT,
        [
            {
                "job_id": c["job_id"],
                "project_id": c["project_id"],
                "device": c["device"],
                "day": c["at"].astimezone(dt.UTC).date(),
                "device_s": max(0.0, float(c["device_s"])),
                "charged_at": c["at"],
                "reservation_id": c["reservation_id"],
            }
            for c in charges
        ],
    )


def charge_window(
    conn: sa.Connection,
    *,
    reservation_id: str,
    project_id: str,
    device: str,
    device_s: float,
    at: dt.datetime,
) -> None:
    """Record a reserved window's device time (seconds), once, as a row without a job."""
    conn.execute(_DELETE_WINDOW, {"window": reservation_id})
    conn.execute(
        _INSERT,
        {
            "job_id": None,
            "project_id": project_id,
            "device": device,
            "day": at.astimezone(dt.UTC).date(),
            "device_s": max(0.0, float(device_s)),
            "charged_at": at,
            "reservation_id": reservation_id,
        },
    )


class UsageLedger:
    """Reports from the ledger."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def report(
        self,
        project_ids: Iterable[str] | None,
        *,
        since: dt.date | None = None,
        until: dt.date | None = None,
        device: str | None = None,
    ) -> list[dict[str, Any]]:
        """Device-seconds, job and reservation counts per project, device and day (UTC).

        Oldest first. A reserved window counts on the day it was settled.

        Args:
            project_ids: the projects to report on; None for every project.
            since: the first day to include.
            until: the last day to include.
            device: only this device.
        """
        query = (
            sa.select(
                projects.c.name.label("project"),
                usage.c.device,
                usage.c.day,
                sa.func.sum(usage.c.device_s).label("device_s"),
                sa.func.count(usage.c.job_id).label("jobs"),
                sa.func.count(sa.distinct(usage.c.reservation_id)).label("reservations"),
            )
            .join(projects, projects.c.id == usage.c.project_id)
            .group_by(projects.c.name, usage.c.device, usage.c.day)
            .order_by(usage.c.day, projects.c.name, usage.c.device)
        )
        if project_ids is not None:
            query = query.where(usage.c.project_id.in_(list(project_ids)))
        if since is not None:
            query = query.where(usage.c.day >= since)
        if until is not None:
            query = query.where(usage.c.day <= until)
        if device is not None:
            query = query.where(usage.c.device == device)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [
            {
                "project": row.project,
                "device": row.device,
                "day": row.day.isoformat(),
                "device_s": round(float(row.device_s), 6),
                "jobs": int(row.jobs),
                "reservations": int(row.reservations),
            }
            for row in rows
        ]

    def accounting(
        self,
        project_ids: Iterable[str] | None,
        *,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Device-seconds per project, user, Slurm job and device, charged in a period.

        For a centre's billing beside its cluster's CPU hours: jobs run in a session a
        Slurm job opened carry that job's id and cluster; others have none. Rows are
        in the order of their first charge. A user whose account was erased shows as
        None.

        Args:
            project_ids: the projects to report on; None for every project.
            start: the first moment included (UTC).
            end: the first moment after the period (UTC).
        """
        query = (
            sa.select(
                projects.c.name.label("project"),
                users.c.name.label("user"),
                sessions.c.slurm_cluster,
                sessions.c.slurm_job_id,
                usage.c.device,
                sa.func.count().label("jobs"),
                sa.func.sum(usage.c.device_s).label("device_s"),
                sa.func.min(usage.c.charged_at).label("first_charged_at"),
                sa.func.max(usage.c.charged_at).label("last_charged_at"),
            )
            .select_from(usage)
            .join(projects, projects.c.id == usage.c.project_id)
            .outerjoin(jobs, jobs.c.id == usage.c.job_id)
            .outerjoin(users, users.c.id == jobs.c.user_id)
            .outerjoin(sessions, sessions.c.id == jobs.c.session_id)
            .group_by(
                projects.c.name,
                users.c.name,
                sessions.c.slurm_cluster,
                sessions.c.slurm_job_id,
                usage.c.device,
            )
            .order_by(sa.func.min(usage.c.charged_at), projects.c.name, usage.c.device)
        )
        if project_ids is not None:
            query = query.where(usage.c.project_id.in_(list(project_ids)))
        if start is not None:
            query = query.where(usage.c.charged_at >= start)
        if end is not None:
            query = query.where(usage.c.charged_at < end)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [
            {
                "project": row.project,
                "user": row.user,
                "slurm_cluster": row.slurm_cluster,
                "slurm_job_id": row.slurm_job_id,
                "device": row.device,
                "jobs": int(row.jobs),
                "device_s": round(float(row.device_s), 6),
                "first_charged_at": wire.iso(row.first_charged_at),
                "last_charged_at": wire.iso(row.last_charged_at),
            }
            for row in rows
        ]

    def decayed(self, half_life_s: float, now: dt.datetime | None = None) -> dict[str, float]:
        """Each project's recent usage in device-seconds, halved every ``half_life_s`` seconds.

        Charges older than ten half-lives weigh under 0.1 % and are left out.
        """
        now = now or dt.datetime.now(dt.UTC)
        since = now - dt.timedelta(seconds=10 * half_life_s)
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(usage.c.project_id, usage.c.device_s, usage.c.charged_at).where(
                    usage.c.charged_at >= since
                )
            ).all()
        scores: dict[str, float] = {}
        for row in rows:
            age = max(0.0, (now - row.charged_at).total_seconds())
            weight = math.pow(0.5, age / half_life_s)
            scores[row.project_id] = scores.get(row.project_id, 0.0) + row.device_s * weight
        return scores
