"""The default executor: a pool of worker processes on this machine.

Each worker is a separate process, so a running job can be stopped at once by
ending its process, and a crash in an engine cannot take the centre down.
Workers die with the centre (``PR_SET_PDEATHSIG``), so a killed centre leaves no
orphans computing results nobody will store.

A large batch handed over while other workers are idle is split over them, in
the chunks the Ray executor uses (:mod:`qharbor.executors.ray_chunks`): each
worker runs a contiguous slice of the runs from that slice's own seed, and the
results are gathered in order into the one result a single worker would have
built, signed once by the centre. The job ends as its first failing chunk ends;
a cancel or a lost worker ends every worker of the job.

Claims predicted to take under a millisecond skip the hand-off and run in the
scheduler's thread (:mod:`qharbor.executors.inline`).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from qharbor import errors
from qharbor.executors.base import Outcome, OutcomeKind
from qharbor.executors.inline import InlineRuns
from qharbor.executors.memory import MemoryBudget
from qharbor.executors.ray_chunks import MIN_CHUNK_RUNS, Chunk, chunk_claim, gather, plan
from qharbor.executors.report import ExecutorReport, WorkerState
from qharbor.jobs.claims import Claim
from qharbor.jobs.result import Result
from qharbor.workers.execution import execute

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """End this process when its parent ends (a signal on Linux, and a watch everywhere)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    # Also watch for the parent's end, for platforms without the signal.
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="qharbor-parent-watch", daemon=True).start()


def worker_main(conn: Connection, parent_pid: int) -> None:
    """A worker process: warm up, then run claims until the connection closes."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        return
    from qharbor.engines import get_engine

    get_engine("aer")  # import the engine (and the twin noise models) before saying ready
    if os.environ.get("QHARBOR_WARM_ENGINES", "1") == "1":
        from qharbor.engines import loading

        # The other engines too, so the first jobs do not wait for their imports.
        loading.warm_up()
    conn.send(("ready",))
    while True:
        try:
            claim: Claim = conn.recv()
        except (EOFError, OSError):
            return
        try:
            result = execute(claim)
            message: tuple[Any, ...] = ("done", claim.job_id, claim.attempt, result)
        except errors.QHarborError as exc:
            message = ("failed", claim.job_id, claim.attempt, exc.code, exc.message)
        except Exception as exc:  # an engine bug must fail the job, not the worker
            message = ("failed", claim.job_id, claim.attempt, "ENGINE_ERROR", f"{exc!r}")
        try:
            conn.send(message)
        except (BrokenPipeError, OSError):
            return


def worker_environment() -> dict[str, str]:
    """The environment of a worker process: ours, with OpenMP threads that sleep when idle.

    By default OpenMP's threads spin for a while after each parallel region. An
    engine that runs many small circuits then keeps every core busy between them:
    on a small machine the spinning of idle workers takes the CPU the centre and
    the busy worker need (measured: 13 ms of CPU per tiny job instead of 1.5 ms).
    An operator's own ``OMP_WAIT_POLICY`` is kept.
    """
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


@dataclass
class _Slot:
    process: subprocess.Popen[bytes]
    conn: Connection
    ready: bool = False
    claim: Claim | None = None
    #: The index of the chunk it runs, when its claim is one chunk of a split job.
    chunk: int | None = None
    started: float = field(default_factory=time.monotonic)


@dataclass
class _Split:
    """A claim split over several workers: its chunks, and the results back so far."""

    claim: Claim
    chunks: list[Chunk]
    parts: dict[int, Result] = field(default_factory=dict)


class LocalExecutor:
    """Runs claims in ``size`` worker processes, replacing any that end.

    Args:
        size: worker processes.
        extra_env: variables the workers get on top of this process's environment.
        memory_bytes: the memory the running claims may use together; None does
            not track memory.
        inline_max_s: claims predicted to take at most this long (seconds) run in
            the thread that submits them instead of a worker; 0 runs none there.
    """

    def __init__(
        self,
        size: int,
        extra_env: dict[str, str] | None = None,
        memory_bytes: int | None = None,
        inline_max_s: float = 0.0,
    ) -> None:
        self._size = size
        #: What the running claims have reserved, against what this host has.
        self.memory = MemoryBudget(memory_bytes) if memory_bytes is not None else None
        #: Variables the workers get on top of this process's environment.
        self._extra_env = dict(extra_env or {})
        self._slots: list[_Slot] = []
        #: Which claims run in the submitting thread, and how.
        self.inline = InlineRuns(inline_max_s)
        # Outcomes of claims run in the submitting thread, for the next poll.
        self._ran: list[Outcome] = []
        #: Job id to the claim split over several workers, while its chunks run.
        self._splits: dict[str, _Split] = {}
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._closed = False

    def _ensure_started(self) -> None:
        # Workers are started by the thread that polls (the scheduler's), which
        # lives as long as the centre: PR_SET_PDEATHSIG fires when the *thread*
        # that started a child ends, so a short-lived thread must not start them.
        while len(self._slots) < self._size and not self._closed:
            self._slots.append(self._spawn())

    def _spawn(self) -> _Slot:
        # A fresh interpreter running this module: unlike multiprocessing's spawn,
        # it never re-imports the caller's __main__.
        ours, theirs = socket.socketpair()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "qharbor.executors.local",
                str(theirs.fileno()),
                str(os.getpid()),
            ],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env={**worker_environment(), **self._extra_env},
        )
        theirs.close()
        return _Slot(process=process, conn=Connection(ours.detach()))

    def free_slots(self) -> int:
        return sum(1 for s in self._slots if s.ready and s.claim is None)

    def free_memory(self) -> int | None:
        return self.memory.free() if self.memory is not None else None

    def memory_capacity(self) -> int | None:
        return self.memory.capacity_bytes if self.memory is not None else None

    def running(self) -> dict[str, int]:
        return {s.claim.job_id: s.claim.attempt for s in self._slots if s.claim is not None}

    def health(self) -> str | None:
        return None  # worker processes that end are replaced; nothing here can be away

    def report(self) -> ExecutorReport:
        """The worker processes: each one's pid, whether it is ready, and its job."""
        now = time.monotonic()
        workers = tuple(
            WorkerState(
                name=f"pid {slot.process.pid}",
                ready=slot.ready,
                job_id=slot.claim.job_id if slot.claim is not None else None,
                attempt=slot.claim.attempt if slot.claim is not None else None,
                busy_s=round(now - slot.started, 3) if slot.claim is not None else None,
            )
            for slot in list(self._slots)  # a copy: the scheduler's thread replaces slots
        )
        return ExecutorReport(
            kind="local",
            health=self.health(),
            slots=self._size,
            free_slots=self.free_slots(),
            workers=workers,
        )

    def submit(self, claim: Claim, slots: int = 1) -> None:
        """Start a claim on a free worker, or split it over up to ``slots`` free workers.

        A claim is split only where it can be (:func:`ray_chunks.can_fan_out`), each
        chunk holds at least ``MIN_CHUNK_RUNS`` runs, and the memory of one run per
        worker is free; its reservation is then that memory times the workers.
        """
        if self.inline.takes(claim):
            self._ran.append(self.inline.run(claim))
            return
        free = [slot for slot in self._slots if slot.ready and slot.claim is None]
        if not free:
            raise RuntimeError("no free worker; check free_slots() first")
        count = min(slots, len(free))
        chunks = plan(claim, MIN_CHUNK_RUNS, count, count) if count > 1 else []
        if len(chunks) > 1 and self._reserve(claim, claim.memory_bytes * len(chunks)):
            self._splits[claim.job_id] = _Split(claim, chunks)
            for slot, chunk in zip(free, chunks, strict=False):
                self._start(slot, chunk_claim(claim, chunk), chunk.index)
            return
        if not self._reserve(claim, claim.memory_bytes):
            assert self.memory is not None
            raise RuntimeError(
                f"job {claim.job_id} needs {claim.memory_bytes} bytes and "
                f"{self.memory.free()} are free; check free_memory() first"
            )
        self._start(free[0], claim, None)

    def _reserve(self, claim: Claim, nbytes: int) -> bool:
        return self.memory is None or self.memory.reserve(claim.job_id, nbytes)

    def _start(self, slot: _Slot, claim: Claim, chunk: int | None) -> None:
        slot.claim, slot.chunk = claim, chunk
        slot.started = time.monotonic()
        # A dead worker is reported as lost by the next poll.
        with contextlib.suppress(BrokenPipeError, OSError):
            slot.conn.send(claim)

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def poll(self, timeout: float) -> list[Outcome]:
        if self._closed:
            return []
        self._ensure_started()
        outcomes, self._ran = self._ran, []
        waitables: list[Any] = [self._wake_r]
        waitables.extend(slot.conn for slot in self._slots)
        ready = set(wait(waitables, 0 if outcomes else timeout))
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError, OSError):
                self._wake_r.recv(4096)
        for index, slot in enumerate(list(self._slots)):
            if slot.conn not in ready:
                continue
            try:
                message = slot.conn.recv()
            except (EOFError, OSError):  # the worker process ended
                outcomes.extend(self._replace(index, OutcomeKind.LOST))
                continue
            outcome = self._receive(slot, message)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _receive(self, slot: _Slot, message: Any) -> Outcome | None:
        if message[0] == "ready":
            slot.ready = True
            return None
        claim, slot.claim = slot.claim, None
        chunk, slot.chunk = slot.chunk, None
        if claim is None:
            return None
        if chunk is not None:
            return self._receive_chunk(claim, chunk, message)
        self._release(claim)
        if message[1] != claim.job_id:
            return None
        if message[0] == "done":
            return Outcome(OutcomeKind.DONE, claim.job_id, claim.attempt, result=message[3])
        return Outcome(
            OutcomeKind.FAILED, claim.job_id, claim.attempt, code=message[3], message=message[4]
        )

    def _receive_chunk(self, claim: Claim, chunk: int, message: Any) -> Outcome | None:
        """A chunk's answer: the job's outcome once every chunk is done or one failed."""
        split = self._splits.get(claim.job_id)
        if split is None or message[1] != claim.job_id:
            return None  # the job already ended with another chunk
        if message[0] == "done":
            split.parts[chunk] = message[3]
            if len(split.parts) < len(split.chunks):
                return None
        del self._splits[claim.job_id]
        self._release(claim)
        if message[0] != "done":
            self._end_job(claim.job_id)
            return Outcome(
                OutcomeKind.FAILED, claim.job_id, claim.attempt, code=message[3], message=message[4]
            )
        parts = [split.parts[c.index] for c in split.chunks]
        result = gather(split.claim, split.chunks, parts)
        return Outcome(OutcomeKind.DONE, claim.job_id, claim.attempt, result=result)

    def _end_job(self, job_id: str) -> list[Outcome]:
        """End every worker running a part of ``job_id``; the job's one outcome, if any."""
        outcomes: list[Outcome] = []
        # By index: each replacement puts a fresh, idle slot in its place.
        for index in range(len(self._slots)):
            claim = self._slots[index].claim
            if claim is not None and claim.job_id == job_id:
                outcomes.extend(self._replace(index, OutcomeKind.CANCELLED))
        return outcomes[:1]

    def _replace(self, index: int, kind: OutcomeKind) -> list[Outcome]:
        slot = self._slots[index]
        if slot.process.poll() is None:
            slot.process.kill()
        slot.process.wait(timeout=5)
        slot.conn.close()
        claim = slot.claim
        if not self._closed:
            self._slots[index] = self._spawn()
        if claim is None:
            return []
        self._release(claim)
        if self._splits.pop(claim.job_id, None) is not None:
            self._end_job(claim.job_id)  # the other chunks cannot make the result alone
        if kind is OutcomeKind.LOST:
            log.warning("worker running job %s (attempt %s) was lost", claim.job_id, claim.attempt)
        return [Outcome(kind, claim.job_id, claim.attempt)]

    def _release(self, claim: Claim) -> None:
        if self.memory is not None:
            self.memory.release(claim.job_id)

    def cancel(self, job_id: str) -> Outcome | None:
        outcomes = self._end_job(job_id)
        return outcomes[0] if outcomes else None

    def close(self) -> None:
        self._closed = True
        for slot in self._slots:
            with contextlib.suppress(OSError):
                slot.conn.close()
            if slot.process.poll() is None:
                slot.process.kill()
        for slot in self._slots:
            with contextlib.suppress(subprocess.TimeoutExpired):
                slot.process.wait(timeout=5)
        self._wake_r.close()
        self._wake_w.close()


if __name__ == "__main__":
    worker_main(Connection(int(sys.argv[1])), int(sys.argv[2]))
