"""The queue policy: in which order the scheduler serves projects and their sessions.

Reservations come first: while a project's approved window holds a device, that
project's jobs on it go first, and no other project's job starts on it
(:class:`Reserved`, wrapped around fair share).

Fair share decides which project goes next: the one with the least recent usage
(device-seconds, decayed), ties to the project whose oldest job waited longest.
Within a project, the jobs of its open sessions go first, then its oldest jobs.

A session's jobs go ahead of *other* projects' jobs only while their project is
within its fair share: its recent usage is at most the average of the projects
with jobs waiting. Session jobs are charged like any other, so a project that
keeps a session busy soon uses more than the average and from then on waits its
turn in fair-share order; a session cannot starve the other projects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol


@dataclass(frozen=True)
class Waiting:
    """A project with queued jobs on a device that has room."""

    project_id: str
    oldest: int  # the queue position (seq) of its oldest queued job
    has_session_jobs: bool  # some of its queued jobs belong to an open session


@dataclass(frozen=True)
class Turn:
    """Serve this project's queued jobs next: only its session jobs, or all of them.

    ``only`` narrows the turn to those devices; ``barred`` leaves those devices out
    (they are reserved for another project now).
    """

    project_id: str
    sessions_only: bool
    only: frozenset[str] | None = None
    barred: frozenset[str] = frozenset()


def turns(waiting: Sequence[Waiting], shares: Mapping[str, float]) -> list[Turn]:
    """The order in which to serve the waiting projects.

    Args:
        waiting: the projects with queued jobs.
        shares: each project's decayed recent usage, in device-seconds; projects not
            in it count as unused.

    Returns:
        First the session jobs of the projects within their fair share, least used
        first; then every project's jobs (session jobs first), least used first.
    """
    if not waiting:
        return []
    by_share = sorted(waiting, key=lambda w: (shares.get(w.project_id, 0.0), w.oldest))
    fair = sum(shares.get(w.project_id, 0.0) for w in waiting) / len(waiting)
    ahead = [
        Turn(w.project_id, sessions_only=True)
        for w in by_share
        if w.has_session_jobs and shares.get(w.project_id, 0.0) <= fair
    ]
    return ahead + [Turn(w.project_id, sessions_only=False) for w in by_share]


class QueuePolicy(Protocol):
    """Decides the order in which the projects waiting for devices are served."""

    def turns(self, waiting: Sequence[Waiting]) -> list[Turn]:
        """The turns to serve, first to last; projects left out are not served."""
        ...


@dataclass(frozen=True)
class FairShare:
    """Fair share between projects, with sessions ahead within it (see :func:`turns`).

    Args:
        shares: each project's decayed recent usage, in device-seconds; projects
            not in it count as unused.
    """

    shares: Mapping[str, float]

    def turns(self, waiting: Sequence[Waiting]) -> list[Turn]:
        return turns(waiting, self.shares)


@dataclass(frozen=True)
class Reserved:
    """Reservations, then the inner policy (see ``qharbor.accounting.reservations``).

    A project holding a device goes first on it; every project's jobs on a device
    another project holds stay queued until the window ends.

    Args:
        holds: each device under an approved window now, with the project holding it.
        inner: the order of everything else (fair share).
    """

    holds: Mapping[str, str]
    inner: QueuePolicy

    def turns(self, waiting: Sequence[Waiting]) -> list[Turn]:
        held: dict[str, set[str]] = {}
        for device, project_id in self.holds.items():
            held.setdefault(project_id, set()).add(device)
        first = [
            Turn(w.project_id, sessions_only=False, only=frozenset(held[w.project_id]))
            for w in sorted(waiting, key=lambda w: w.oldest)
            if w.project_id in held
        ]
        rest = [
            replace(
                turn,
                barred=frozenset(d for d, p in self.holds.items() if p != turn.project_id),
            )
            for turn in self.inner.turns(waiting)
        ]
        return first + rest
