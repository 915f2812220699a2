"""What an executor tells the centre's operators: its workers, and a cluster's nodes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qharbor.executors.ray_cluster import Node


@dataclass(frozen=True)
class WorkerState:
    """One worker as the executor sees it.

    Attributes:
        name: the worker's name (``pid 1234`` for a local process, the job for a Ray task).
        ready: whether it can take a claim (a local worker warms up first).
        job_id: the job it runs, if any.
        attempt: that job's attempt.
        busy_s: how long it has run that job, in seconds (None when idle or unknown).
        progress: runs done and runs in all, when the job reports them.
    """

    name: str
    ready: bool
    job_id: str | None = None
    attempt: int | None = None
    busy_s: float | None = None
    progress: tuple[int, int] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ready": self.ready,
            "job_id": self.job_id,
            "attempt": self.attempt,
            "busy_s": self.busy_s,
            "progress": (
                {"done": self.progress[0], "total": self.progress[1]}
                if self.progress is not None
                else None
            ),
        }


@dataclass(frozen=True)
class ExecutorReport:
    """An executor's state for the operators' page.

    Attributes:
        kind: ``local`` (a process pool on this host) or ``ray``.
        health: None when claims can run; otherwise what is wrong.
        slots: how many claims may run at once.
        free_slots: how many more could start now.
        workers: the workers (local) or the running tasks (Ray).
        nodes: a Ray cluster's nodes as last seen (empty for the local executor).
        address: the Ray cluster's address (None for the local executor).
    """

    kind: str
    health: str | None
    slots: int
    free_slots: int
    workers: tuple[WorkerState, ...] = ()
    nodes: tuple[Node, ...] = field(default_factory=tuple)
    address: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "health": self.health,
            "slots": self.slots,
            "free_slots": self.free_slots,
            "workers": [w.to_json() for w in self.workers],
            "nodes": [n.to_json() for n in self.nodes],
            "address": self.address,
        }
