"""The queue a claim picks from: which queued rows are candidates, in which order.

Projects are served in the order a :class:`qharbor.jobs.policy.QueuePolicy`
gives; within a project, by priority, then age. Only the manager's leases read
these, inside the claiming transaction.
"""

from __future__ import annotations

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
_ALL_CANDIDATES = (
    _QUEUED.where(_WANTED)
    .order_by(*_OLDEST_FIRST)
    .limit(sa.bindparam("limit"))
    .with_for_update(skip_locked=True)
)


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
    waiting = conn.execute(_WAITING_PROJECTS, {"wanted": wanted}).all()
    turns = order.turns([policy.Waiting(r.project_id, r.oldest, bool(r.top)) for r in waiting])
    return [_served(turn) for turn in turns]


def _served(turn: policy.Turn) -> sa.Select[Any]:
    """The queued jobs one turn serves."""
    served = _QUEUED.where(jobs.c.project_id == turn.project_id)
    if turn.sessions_only:
        served = served.where(jobs.c.priority > 0)
    if turn.only is not None:
        served = served.where(jobs.c.device.in_(sorted(turn.only)))
    if turn.barred:
        served = served.where(jobs.c.device.not_in(sorted(turn.barred)))
    return served


def candidates(
    conn: sa.Connection,
    queued: sa.Select[Any],
    wanted: list[str],
    free: dict[str, int],
    slots: int,
) -> list[Any]:
    """The oldest queued rows of ``queued`` on the wanted devices, locked for claiming."""
    limit = max(slots * 4, 16)
    if queued is _QUEUED:
        statement = _ALL_CANDIDATES
    else:
        statement = (
            queued.where(_WANTED)
            .order_by(*_OLDEST_FIRST)
            .limit(sa.bindparam("limit"))
            .with_for_update(skip_locked=True)
        )
    found = conn.execute(statement, {"wanted": wanted, "limit": limit}).all()
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
                .order_by(*_OLDEST_FIRST)
                .limit(min(free[device], slots))
                .with_for_update(skip_locked=True)
            ).all()
        ),
        key=lambda row: (-row.priority, row.seq),
    )
