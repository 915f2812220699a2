"""The cluster executor: claimed jobs run as tasks on a Ray cluster.

The database stays the source of truth: the scheduler claims, leases and fences
every attempt as it does for the local executor, and only hands the claim over
here. The Ray calls happen in a driver process (:mod:`qharbor.executors.ray_driver`)
so that losing the cluster's head never takes the centre down: while no driver
is connected, :meth:`RayExecutor.free_slots` is 0 and jobs wait in the queue;
the driver is started again every few seconds until the head answers.

A job asks Ray for one CPU, the memory its state needs, a GPU for a GPU engine,
and ``device:<name>`` where a node advertises it. A large batch or sweep is
split into chunks (:mod:`qharbor.executors.ray_chunks`) that run on several
nodes and are gathered into one result; :meth:`RayExecutor.progress` reports how
many of its runs are done.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from qharbor import errors
from qharbor.executors import ray_cluster
from qharbor.executors.base import Outcome, OutcomeKind
from qharbor.executors.local import worker_environment
from qharbor.executors.report import ExecutorReport, WorkerState
from qharbor.jobs.claims import Claim

log = logging.getLogger(__name__)

#: Seconds between attempts to reach a cluster that is not answering.
RECONNECT_S = 2.0
#: Seconds without news of the cluster after which its head counts as lost.
STALE_S = 10.0


@dataclass(frozen=True)
class Progress:
    """How far a running attempt has come: ``done`` of ``total`` runs."""

    attempt: int
    done: int
    total: int


class RayExecutor:
    """Runs claims on the Ray cluster at ``address``.

    Args:
        address: the cluster's address (``host:port`` of the head, or ``auto``).
        max_jobs: jobs running at once; None: one per CPU of the live nodes.
        chunk_runs: the fewest runs a fanned-out chunk holds.
        max_retries: how often a simulator's task runs again after its node died.
        extra_env: variables the driver process gets on top of this one's.
    """

    def __init__(
        self,
        address: str,
        *,
        max_jobs: int | None = None,
        chunk_runs: int = 64,
        max_retries: int = 3,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.address = address
        self._max_jobs = max_jobs
        self._chunk_runs = chunk_runs
        self._max_retries = max_retries
        self._extra_env = dict(extra_env or {})
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._started_at = float("-inf")
        self._cluster: ray_cluster.Cluster | None = None
        self._cluster_at = float("-inf")
        self._connected = threading.Event()
        self._problem: str | None = "the Ray driver has not started yet"
        self._running: dict[str, Claim] = {}
        #: When each running job was handed to the cluster (monotonic seconds).
        self._handed_at: dict[str, float] = {}
        self._progress: dict[str, Progress] = {}
        self._reported: dict[str, Progress] = {}
        #: Called with the largest live node when it changes (a node joined or left).
        self.on_largest_node: Callable[[ray_cluster.Node], None] | None = None
        self._largest: tuple[str, int] | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._closed = False

    # --- the driver process ----------------------------------------------------------

    def _ensure_driver(self) -> None:
        # Started by the polling thread, which lives as long as the centre
        # (PR_SET_PDEATHSIG follows the thread that started the child).
        if self._closed or self._process is not None:
            return
        if time.monotonic() - self._started_at < RECONNECT_S:
            return
        self._started_at = time.monotonic()
        ours, theirs = socket.socketpair()
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "qharbor.executors.ray_driver",
                str(theirs.fileno()),
                str(os.getpid()),
                self.address,
            ],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env={**worker_environment(), **self._extra_env},
        )
        theirs.close()
        self._conn = Connection(ours.detach())

    def _driver_ended(self, why: str) -> list[Outcome]:
        """The driver is gone (the head was lost): every running job's task is lost with it."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=5)
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None
        self._connected.clear()
        self._cluster = None
        self._problem = why
        log.warning("the Ray executor is unavailable: %s", why)
        running, self._running = self._running, {}
        self._handed_at.clear()
        self._progress.clear()
        return [self._lost(claim, why) for claim in running.values()]

    @staticmethod
    def _lost(claim: Claim, why: str) -> Outcome:
        if ray_cluster.is_real_device(claim):
            # A real device's run is not repeated: its owner decides.
            return Outcome(
                OutcomeKind.FAILED,
                claim.job_id,
                claim.attempt,
                code=errors.WorkerLost.code,
                message=f"the cluster node running this job on a real device was lost ({why})",
            )
        return Outcome(OutcomeKind.LOST, claim.job_id, claim.attempt)

    def wait_connected(self, timeout: float) -> bool:
        """Start the driver if needed and wait until it has seen the cluster."""
        deadline = time.monotonic() + timeout
        while not self._connected.is_set() and time.monotonic() < deadline:
            for outcome in self.poll(min(0.5, max(0.0, deadline - time.monotonic()))):
                log.warning("an outcome arrived before start: %s", outcome)
        return self._connected.is_set()

    # --- what the scheduler asks -----------------------------------------------------

    def cluster(self) -> ray_cluster.Cluster | None:
        """The cluster as last seen (refreshed every second); None while unreachable."""
        return self._cluster

    def health(self) -> str | None:
        """None when the cluster answers; otherwise what is wrong."""
        return None if self._connected.is_set() else self._problem

    def report(self) -> ExecutorReport:
        """The cluster's nodes as last seen, and the jobs running on it with their progress."""
        cluster = self._cluster
        limit = self._max_jobs
        if limit is None:
            limit = max(1, cluster.cpus) if cluster is not None else 0
        now = time.monotonic()
        workers = []
        for job_id, claim in list(self._running.items()):
            progress = self._progress.get(job_id)
            started = self._handed_at.get(job_id)
            workers.append(
                WorkerState(
                    name=f"ray task {job_id[:12]}",
                    ready=True,
                    job_id=job_id,
                    attempt=claim.attempt,
                    busy_s=round(now - started, 3) if started is not None else None,
                    progress=(progress.done, progress.total) if progress is not None else None,
                )
            )
        return ExecutorReport(
            kind="ray",
            health=self.health(),
            slots=limit,
            free_slots=self.free_slots(),
            workers=tuple(workers),
            nodes=cluster.nodes if cluster is not None else (),
            address=self.address,
        )

    def free_slots(self) -> int:
        cluster = self._cluster
        if cluster is None or not self._connected.is_set():
            return 0
        limit = self._max_jobs if self._max_jobs is not None else max(1, cluster.cpus)
        return max(0, limit - len(self._running))

    def free_memory(self) -> int | None:
        # Ray places each task on a node with room; a task waits there until one has.
        return None

    def memory_capacity(self) -> int | None:
        """The memory of the cluster's largest live node (bytes): no job may need more."""
        largest = self._cluster.largest() if self._cluster is not None else None
        return largest.memory_bytes if largest is not None else None

    def largest_node(self) -> ray_cluster.Node | None:
        return self._cluster.largest() if self._cluster is not None else None

    def running(self) -> dict[str, int]:
        return {job_id: claim.attempt for job_id, claim in self._running.items()}

    def progress(self) -> dict[str, Progress]:
        """The progress that changed since the last call, per running job."""
        changed = {
            job_id: p for job_id, p in self._progress.items() if self._reported.get(job_id) != p
        }
        self._reported.update(changed)
        return changed

    def submit(self, task: Claim, slots: int = 1) -> None:
        # The cluster's placement plans a batch's chunks over every node on its own.
        del slots
        if self._conn is None or self._cluster is None:
            raise RuntimeError("the Ray cluster is not connected; check free_slots() first")
        plan = ray_cluster.placement(
            task, self._cluster, chunk_runs=self._chunk_runs, max_retries=self._max_retries
        )
        self._running[task.job_id] = task
        self._handed_at[task.job_id] = time.monotonic()
        # A dead driver is noticed by the next poll, which reports the job lost.
        with contextlib.suppress(BrokenPipeError, OSError):
            self._conn.send(("submit", task, plan))

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def poll(self, timeout: float) -> list[Outcome]:
        if self._closed:
            return []
        self._ensure_driver()
        waitables: list[Any] = [self._wake_r]
        if self._conn is not None:
            waitables.append(self._conn)
        ready = wait(waitables, timeout)
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError, OSError):
                self._wake_r.recv(4096)
        outcomes: list[Outcome] = []
        while self._conn is not None and self._conn.poll(0):
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                outcomes.extend(self._driver_ended(self._problem or "the Ray driver ended"))
                break
            outcome = self._receive(message)
            if outcome is not None:
                outcomes.append(outcome)
        if self._connected.is_set() and time.monotonic() - self._cluster_at > STALE_S:
            # Ray's driver waits a long time for a head that is gone: start afresh.
            outcomes.extend(
                self._driver_ended(
                    f"the Ray head at {self.address} has not answered for {STALE_S:.0f} s"
                )
            )
        return outcomes

    def _receive(self, message: Any) -> Outcome | None:
        kind = message[0]
        if kind == "cluster":
            self._cluster = message[1]
            self._cluster_at = time.monotonic()
            self._problem = None
            self._connected.set()
            self._note_largest(message[1])
            return None
        if kind == "unavailable":
            self._problem = message[1]
            return None
        job_id, attempt = message[1], message[2]
        claim = self._running.get(job_id)
        if claim is None or claim.attempt != attempt:
            return None  # cancelled, or an answer for an attempt given up on
        if kind == "progress":
            self._progress[job_id] = Progress(attempt, message[3], message[4])
            return None
        del self._running[job_id]
        self._handed_at.pop(job_id, None)
        self._progress.pop(job_id, None)
        self._reported.pop(job_id, None)
        if kind == "done":
            return Outcome(OutcomeKind.DONE, job_id, attempt, result=message[3])
        if kind == "failed":
            return Outcome(OutcomeKind.FAILED, job_id, attempt, code=message[3], message=message[4])
        log.warning("job %s (attempt %s) lost its Ray task: %s", job_id, attempt, message[3])
        return self._lost(claim, message[3])

    def _note_largest(self, cluster: ray_cluster.Cluster) -> None:
        largest = cluster.largest()
        if largest is None:
            return
        key = (largest.node_id, largest.memory_bytes)
        if key != self._largest:
            self._largest = key
            if self.on_largest_node is not None:
                self.on_largest_node(largest)

    def cancel(self, job_id: str) -> Outcome | None:
        claim = self._running.pop(job_id, None)
        if claim is None:
            return None
        self._handed_at.pop(job_id, None)
        self._progress.pop(job_id, None)
        self._reported.pop(job_id, None)
        if self._conn is not None:
            with contextlib.suppress(BrokenPipeError, OSError):
                self._conn.send(("cancel", job_id))
        return Outcome(OutcomeKind.CANCELLED, job_id, claim.attempt)

    def close(self) -> None:
        self._closed = True
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=5)
            if self._process.poll() is None:
                self._process.kill()
                self._process.wait(timeout=5)
        self._wake_r.close()
        self._wake_w.close()
