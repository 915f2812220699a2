"""Quotas: each project's budget of device-seconds per period, and its concurrent-job limit.

A submission is admitted inside the same write transaction that stores it, so
concurrent submissions see each other: on SQLite ``BEGIN IMMEDIATE`` serialises
writers, and on PostgreSQL :func:`admit` takes a per-project advisory lock first.
The budget is charged twice over a job's life: its *estimate* is reserved while it
is queued or running, and its *measured* device time replaces the estimate in the
usage ledger when it ends.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from qharbor import errors, wire
from qharbor.devices import Catalogue, Device
from qharbor.store import Database
from qharbor.store.tables import projects, quotas, usage


class Backlog(Protocol):
    """A project's unfinished jobs, as the jobs layer counts them (``qharbor.jobs.backlog``).

    Quotas sit below the jobs layer, which calls them on every submission, so
    they are handed this view of the job rows instead of querying them.
    """

    def count(self, conn: sa.Connection, project_id: str) -> int:
        """How many of the project's jobs are queued or running."""
        ...

    def reserved_s(self, conn: sa.Connection, project_id: str, devices: Sequence[str]) -> float:
        """The estimated device time (seconds) of those jobs on ``devices``."""
        ...


class DeviceClass(enum.StrEnum):
    SIMULATOR = "simulator"  # simulators: cheap, plentiful
    QPU = "qpu"  # processors and their twins: scarce


class Period(enum.StrEnum):
    DAY = "day"  # from 00:00 UTC
    WEEK = "week"  # from Monday 00:00 UTC
    MONTH = "month"  # from the 1st, 00:00 UTC


def device_class(device: Device) -> DeviceClass:
    """Simulators are one class; twins and QPUs the other."""
    return DeviceClass.SIMULATOR if device.kind == "simulator" else DeviceClass.QPU


def period_start(period: Period, now: dt.datetime) -> dt.date:
    """The first day (UTC) of the period that contains ``now``."""
    today = now.astimezone(dt.UTC).date()
    if period is Period.DAY:
        return today
    if period is Period.WEEK:
        return today - dt.timedelta(days=today.weekday())
    return today.replace(day=1)


@dataclass(frozen=True)
class CostModel:
    """How many device-seconds a job is expected to take.

    Attributes:
        per_shot_s: seconds per shot of one experiment.
        per_experiment_s: fixed seconds per experiment (loading, compiling, readout set-up).
    """

    per_shot_s: float
    per_experiment_s: float


COST_MODELS = {
    DeviceClass.SIMULATOR: CostModel(per_shot_s=1e-5, per_experiment_s=0.01),
    DeviceClass.QPU: CostModel(per_shot_s=1e-3, per_experiment_s=1.0),
}
#: No job is estimated below this many seconds.
MIN_ESTIMATE_S = 0.01


def estimate_s(
    device: Device, shots: int, experiments: int, *, total_shots: int | None = None
) -> float:
    """A job's estimated device time in seconds: experiments x overhead, plus every
    shot x per-shot.

    Args:
        shots: shots per experiment.
        experiments: experiments the job runs.
        total_shots: every shot the job runs, where experiments differ in shots or
            error mitigation adds runs; replaces ``experiments x shots``.
    """
    model = COST_MODELS[device_class(device)]
    if total_shots is None:
        total_shots = experiments * shots
    return max(
        MIN_ESTIMATE_S, experiments * model.per_experiment_s + total_shots * model.per_shot_s
    )


def _lock_key(project_id: str) -> int:
    """A signed 64-bit advisory lock key for the project."""
    digest = hashlib.sha256(b"qharbor-quota:" + project_id.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class Standing:
    """One project's budget in one device class, now."""

    device_class: DeviceClass
    period: Period
    budget_s: float
    used_s: float
    reserved_s: float
    period_start: dt.date

    @property
    def remaining_s(self) -> float:
        return self.budget_s - self.used_s - self.reserved_s

    def to_json(self) -> dict[str, Any]:
        return {
            "device_class": str(self.device_class),
            "period": str(self.period),
            "period_start": self.period_start.isoformat(),
            "budget_s": self.budget_s,
            "used_s": round(self.used_s, 6),
            "reserved_s": round(self.reserved_s, 6),
            "remaining_s": round(self.remaining_s, 6),
        }


class Quotas:
    """Reads and sets quotas, and admits submissions against them.

    Args:
        db: the database.
        catalogue: the devices, to know each one's class.
        backlog: the projects' unfinished jobs.
        clock: the time source (UTC).
    """

    def __init__(
        self,
        db: Database,
        catalogue: Catalogue,
        backlog: Backlog,
        clock: wire.Clock = wire.utcnow,
    ) -> None:
        self.db = db
        self.catalogue = catalogue
        self.backlog = backlog
        self._clock = clock

    def _devices(self, klass: DeviceClass) -> list[str]:
        return [d.name for d in self.catalogue if device_class(d) is klass]

    # --- administration -------------------------------------------------------------

    def set_budget(
        self, project_id: str, klass: DeviceClass, budget_s: float | None, period: Period
    ) -> None:
        """Set (or, with ``budget_s=None``, remove) a project's budget for a device class."""
        with self.db.write() as conn:
            conn.execute(
                quotas.delete().where(
                    quotas.c.project_id == project_id, quotas.c.device_class == klass.value
                )
            )
            if budget_s is not None:
                conn.execute(
                    quotas.insert().values(
                        project_id=project_id,
                        device_class=klass.value,
                        period=period.value,
                        budget_s=budget_s,
                    )
                )

    def set_max_concurrent_jobs(self, project_id: str, limit: int | None) -> None:
        """Set (or, with None, remove) the project's limit on unfinished jobs."""
        with self.db.write() as conn:
            conn.execute(
                projects.update()
                .where(projects.c.id == project_id)
                .values(max_concurrent_jobs=limit)
            )

    def standing(self, project_id: str) -> dict[str, Any]:
        """The project's limits, usage and reservations, as the API shows them."""
        with self.db.read() as conn:
            limit = conn.execute(
                sa.select(projects.c.max_concurrent_jobs).where(projects.c.id == project_id)
            ).scalar_one_or_none()
            active = self.backlog.count(conn, project_id)
            budgets = [
                self._standing(conn, project_id, DeviceClass(row.device_class)).to_json()
                for row in conn.execute(
                    sa.select(quotas.c.device_class)
                    .where(quotas.c.project_id == project_id)
                    .order_by(quotas.c.device_class)
                )
            ]
        return {"max_concurrent_jobs": limit, "active_jobs": active, "budgets": budgets}

    def standings(self) -> list[tuple[str, Standing]]:
        """Every budget of every project now, as ``(project name, standing)`` pairs."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(quotas.c.project_id, quotas.c.device_class, projects.c.name)
                .join(projects, projects.c.id == quotas.c.project_id)
                .order_by(projects.c.name, quotas.c.device_class)
            ).all()
            return [
                (row.name, self._standing(conn, row.project_id, DeviceClass(row.device_class)))
                for row in rows
            ]

    # --- admission ------------------------------------------------------------------

    def admit(self, conn: sa.Connection, project_id: str, device: Device, cost_s: float) -> None:
        """Refuse a job the project cannot afford; call inside the job's write transaction.

        Raises:
            errors.QuotaExceeded: with the figures (budget, used, reserved, estimate).
        """
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_lock_key(project_id))))
        limit = conn.execute(_CONCURRENT_LIMIT, {"project_id": project_id}).scalar_one_or_none()
        if limit is not None:
            active = self.backlog.count(conn, project_id)
            if active >= limit:
                raise errors.QuotaExceeded(
                    f"your project has {active} jobs queued or running and may have at most "
                    f"{limit} at once; wait for one to finish or cancel one",
                    max_concurrent_jobs=limit,
                    active_jobs=active,
                )
        klass = device_class(device)
        has_budget = conn.execute(
            _BUDGET, {"project_id": project_id, "device_class": klass.value}
        ).first()
        if has_budget is None:
            return
        standing = self._standing(conn, project_id, klass)
        if cost_s > standing.remaining_s:
            raise errors.QuotaExceeded(
                f"this job is estimated at {cost_s:.3f} device-seconds on {device.name!r}, but "
                f"your project has {max(standing.remaining_s, 0.0):.3f} s left of its "
                f"{standing.budget_s:.3f} s {klass} budget this {standing.period} "
                f"({standing.used_s:.3f} s used, {standing.reserved_s:.3f} s reserved by "
                "unfinished jobs); use fewer shots or experiments, wait for the next period, "
                "or ask the centre for more",
                estimate_s=cost_s,
                **standing.to_json(),
            )

    def _standing(self, conn: sa.Connection, project_id: str, klass: DeviceClass) -> Standing:
        row = conn.execute(
            sa.select(quotas.c.budget_s, quotas.c.period).where(
                quotas.c.project_id == project_id, quotas.c.device_class == klass.value
            )
        ).one()
        period = Period(row.period)
        start = period_start(period, self._clock())
        names = self._devices(klass)
        used = _sum(
            conn,
            usage.c.device_s,
            [usage.c.project_id == project_id, usage.c.day >= start, usage.c.device.in_(names)],
        )
        reserved = self.backlog.reserved_s(conn, project_id, names)
        return Standing(klass, period, float(row.budget_s), used, reserved, start)


# Read for every submission inside its write transaction: built once.
_CONCURRENT_LIMIT = sa.select(projects.c.max_concurrent_jobs).where(
    projects.c.id == sa.bindparam("project_id")
)
_BUDGET = sa.select(quotas.c.budget_s).where(
    quotas.c.project_id == sa.bindparam("project_id"),
    quotas.c.device_class == sa.bindparam("device_class"),
)


def _sum(conn: sa.Connection, column: Any, where: Iterable[Any]) -> float:
    total = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(column), 0.0)).where(*where))
    return float(total.scalar_one())
