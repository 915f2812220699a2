"""The queue a claim picks from: which queued rows are candidates, in which order.

Projects are served in the order a :class:`qharbor.jobs.policy.QueuePolicy`
gives; within a project, by priority, then age. Only the manager's leases read
these, inside the claiming transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from qharbor.jobs import policy
from qharbor.jobs.job import JobStatus
from qharbor.store.tables import jobs

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

# Statements every claim runs, built once (building one costs more than running it
# on a short queue); the devices and the limit are bound per call.
_WANTED = jobs.c.device.in_(sa.bindparam("wanted", expanding=True))
_WAITING_PROJECTS = (
    sa.select(
        jobs.c.project_id,
        sa.func.min(jobs.c.seq).label("oldest"),
        sa.func.max(jobs.c.priority).label("top"),
    )
    .where(jobs.c.status == JobStatus.QUEUED.value, _WANTED)
    .group_by(jobs.c.project_id)
)
_OLDEST_FIRST = (jobs.c.priority.desc(), jobs.c.seq)


def _oldest(queued: sa.Select[Any]) -> sa.Select[Any]:
    """The oldest rows of ``queued`` on the wanted devices, locked for claiming."""
    return (
        queued.where(_WANTED)
        .order_by(*_OLDEST_FIRST)
        .limit(sa.bindparam("limit"))
        .with_for_update(skip_locked=True)
    )


@dataclass(frozen=True)
class Served:
    """One queue a claim serves: its statements, built once per shape, and their values."""

    #: The queued rows this queue holds.
    queued: sa.Select[Any]
    #: The oldest of them on the wanted devices (bound: ``wanted``, ``limit``), locked.
    oldest: sa.Select[Any]
    #: The values of ``queued``'s parameters.
    values: Mapping[str, Any] = field(default_factory=dict)


_EVERY_JOB = Served(_QUEUED, _oldest(_QUEUED))


def queues(
    conn: sa.Connection, order: policy.QueuePolicy | None, wanted: list[str]
) -> list[Served]:
    """The queued jobs on the wanted devices, as queues to serve one after another.

    Args:
        conn: the claiming transaction.
        order: the order in which projects are served; None serves every job by
            priority, then age.
        wanted: the devices with room.
    """
    if order is None:
        return [_EVERY_JOB]
    waiting = conn.execute(_WAITING_PROJECTS, {"wanted": wanted}).all()
    turns = order.turns([policy.Waiting(r.project_id, r.oldest, bool(r.top)) for r in waiting])
    return [_served(turn) for turn in turns]


def _served(turn: policy.Turn) -> Served:
    """The queued jobs one turn serves."""
    queued, oldest = _turn_statements(turn.sessions_only, turn.only is not None, bool(turn.barred))
    values: dict[str, Any] = {"project": turn.project_id}
    if turn.only is not None:
        values["only"] = sorted(turn.only)
    if turn.barred:
        values["barred"] = sorted(turn.barred)
    return Served(queued, oldest, values)


@functools.cache
def _turn_statements(
    sessions_only: bool, narrowed: bool, barred: bool
) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """A turn's statements, by its shape: at most eight, each built once."""
    queued = _QUEUED.where(jobs.c.project_id == sa.bindparam("project"))
    if sessions_only:
        queued = queued.where(jobs.c.priority > 0)
    if narrowed:
        queued = queued.where(jobs.c.device.in_(sa.bindparam("only", expanding=True)))
    if barred:
        queued = queued.where(jobs.c.device.not_in(sa.bindparam("barred", expanding=True)))
    return queued, _oldest(queued)


def candidates(
    conn: sa.Connection,
    served: Served,
    wanted: list[str],
    free: dict[str, int],
    slots: int,
) -> list[Any]:
    """The oldest queued rows of ``served`` on the wanted devices, locked for claiming."""
    limit = max(slots * 4, 16)
    found = conn.execute(served.oldest, {**served.values, "wanted": wanted, "limit": limit}).all()
    if len(found) < limit:
        return list(found)
    # A long queue on one device may hide another device's jobs from free
    # workers: look again, at the oldest jobs of each device.
    return sorted(
        (
            row
            for device in wanted
            for row in conn.execute(
                served.queued.where(jobs.c.device == device)
                .order_by(*_OLDEST_FIRST)
                .limit(min(free[device], slots))
                .with_for_update(skip_locked=True),
                dict(served.values),
            ).all()
        ),
        key=lambda row: (-row.priority, row.seq),
    )
