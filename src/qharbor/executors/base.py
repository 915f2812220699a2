"""The executor interface: how the scheduler hands claims to workers.

The scheduler knows only this interface, so a cluster executor (Ray) can
replace the local process pool without touching it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from qharbor.jobs.claims import Claim
from qharbor.jobs.result import Result, SealedResult


class OutcomeKind(enum.Enum):
    DONE = "done"  # the claim produced a result document
    FAILED = "failed"  # the claim raised an error with a code
    LOST = "lost"  # the worker died while running the claim
    CANCELLED = "cancelled"  # the worker was ended on request


@dataclass(frozen=True)
class Outcome:
    """How one claim ended."""

    kind: OutcomeKind
    job_id: str
    attempt: int
    result: Result | SealedResult | None = None
    code: str | None = None
    message: str | None = None


class Executor(Protocol):
    """Runs claims on workers and reports how they end."""

    def free_slots(self) -> int:
        """How many more claims could start now."""
        ...

    def free_memory(self) -> int | None:
        """Bytes of memory the running claims leave free; None when memory is not tracked.

        A claim is handed over only when its ``memory_bytes`` fit; its reservation
        is returned however it ends.
        """
        ...

    def memory_capacity(self) -> int | None:
        """Bytes of memory the claims may use together; None when memory is not tracked."""
        ...

    def submit(self, claim: Claim, slots: int = 1) -> None:
        """Start a claim on a free worker, reserving its memory (check ``free_memory`` first).

        ``slots`` free workers are the claim's to share, where the executor can split
        it (a large batch); the others stay free for the claims handed over with it.
        """
        ...

    def poll(self, timeout: float) -> list[Outcome]:
        """Outcomes that arrived, waiting at most ``timeout`` seconds (or until woken)."""
        ...

    def cancel(self, job_id: str) -> Outcome | None:
        """End the worker running this job; its outcome, or None if it was not running."""
        ...

    def wake(self) -> None:
        """Make a waiting ``poll`` return early; safe from any thread."""
        ...

    def running(self) -> dict[str, int]:
        """Job id to attempt, for every claim in progress."""
        ...

    def health(self) -> str | None:
        """None when claims can run; otherwise what is wrong (jobs wait queued meanwhile)."""
        ...

    def close(self) -> None:
        """Stop every worker."""
        ...
