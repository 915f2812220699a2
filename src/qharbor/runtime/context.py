"""What a running program sees: its jobs in the run's session, progress, checkpoints.

Every quantum call is one job of the run's user, in the run's session, tagged
with the run's id (so the result can list every job the run ran). On a simulator
it takes the fast lane (:mod:`qharbor.runtime.fastlane`): admitted, run and
recorded in this thread. Otherwise, it is submitted through
:class:`qharbor.jobs.submission.Submission` and queued like any other job (ahead
of ordinary work on the device, as a session's), and this thread waits for it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from qharbor import errors
from qharbor.jobs.manager import JobManager
from qharbor.jobs.request import JobRequest, ProgramSpec
from qharbor.jobs.submission import JobSubmission, Submission
from qharbor.runtime.fastlane import FastLane
from qharbor.runtime.pubs import estimator_pub, qpy_text
from qharbor.security.identity import Principal

#: Stores a run's state and progress, in the given transaction or in one of its own.
SaveState = Callable[[dict[str, Any], dict[str, Any] | None, sa.Connection | None], None]

#: Seconds between looks at the store while a job runs, besides the wake-ups.
_RECHECK_S = 0.5


class RunCancelled(Exception):
    """The run was cancelled while its program ran."""


class JobWaiters:
    """Wakes the program threads waiting on a job when it changes. Safe from any thread."""

    def __init__(self) -> None:
        self._events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def changed(self, job_id: str) -> None:
        with self._lock:
            event = self._events.get(job_id)
        if event is not None:
            event.set()

    def event(self, job_id: str) -> threading.Event:
        with self._lock:
            return self._events.setdefault(job_id, threading.Event())

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._events.pop(job_id, None)


class RunContext:
    """The :class:`~qharbor.runtime.program.Context` of one run in one attempt."""

    def __init__(
        self,
        *,
        run_id: str,
        device: str,
        principal: Principal,
        session_id: str | None,
        submission: Submission,
        jobs: JobManager,
        waiters: JobWaiters,
        restored: dict[str, Any] | None,
        on_progress: Callable[[dict[str, Any]], None],
        on_save: SaveState,
        cancelled: threading.Event,
        checkpoint_s: float,
        tag: str,
        lane: FastLane | None = None,
    ) -> None:
        self.run_id = run_id
        self._device = device
        self._principal = principal
        self._session_id = session_id
        self._submission = submission
        self._jobs = jobs
        self._waiters = waiters
        self._restored = restored
        self._on_progress = on_progress
        self._on_save = on_save
        self._cancelled = cancelled
        self._checkpoint_s = checkpoint_s
        self._tag = tag
        self._lane = lane
        self._last_save = 0.0
        self.progress: dict[str, Any] | None = None
        self._running: set[str] = set()
        self._lock = threading.Lock()

    # --- the quantum half ------------------------------------------------------------

    @property
    def device(self) -> str:
        return self._device

    def estimate(
        self,
        circuit: Any,
        observable: Any,
        parameter_sets: Sequence[Sequence[float]] | None = None,
        precision: float | None = None,
    ) -> list[float]:
        lane = self._lane
        text = lane.source(circuit) if lane is not None else None
        terms = lane.terms(observable) if lane is not None else None
        pub = estimator_pub(circuit, observable, parameter_sets, text, terms)
        if precision is not None:
            pub["precision"] = float(precision)
        request = JobRequest(
            device=self._device,
            programs=(),
            kind="estimator",
            pubs=(pub,),
            precision=precision,
            session_id=self._session_id,
            tags=(self._tag,),
        )
        data = self._run(request)
        evs = data["pubs"][0]["evs"]
        return [float(v) for v in (evs if isinstance(evs, list) else [evs])]

    def sample(self, circuits: Sequence[Any], shots: int) -> list[dict[str, int]]:
        request = JobRequest(
            device=self._device,
            programs=tuple(ProgramSpec(self._text(c), "qpy") for c in circuits),
            shots=int(shots),
            session_id=self._session_id,
            tags=(self._tag,),
        )
        data = self._run(request)
        return [dict(experiment["counts"]) for experiment in data["experiments"]]

    def _text(self, circuit: Any) -> str:
        return self._lane.source(circuit) if self._lane is not None else qpy_text(circuit)

    def _run(self, request: JobRequest) -> dict[str, Any]:
        """Run one job and give its result: in the fast lane, or queued and waited for."""
        self.check()
        if self._lane is not None and self._lane.takes(request.device):
            return self._lane.run(request)
        return self._queued(request)

    def _queued(self, request: JobRequest) -> dict[str, Any]:
        """Submit one job, wait for it, and give its result; cancelling cancels the job."""
        job, _ = self._submission.submit(JobSubmission(request), self._principal)
        project_id = self._principal.project_id
        event = self._waiters.event(job.id)
        with self._lock:
            self._running.add(job.id)
        try:
            while True:
                try:
                    found, result = self._jobs.finished(project_id, job.id)
                except errors.JobNotFinished:
                    if self._cancelled.is_set():
                        self._cancel_job(job.id)
                        raise RunCancelled() from None
                    event.wait(_RECHECK_S)
                    event.clear()
                    continue
                break
        finally:
            self._waiters.forget(job.id)
            with self._lock:
                self._running.discard(job.id)
        if result is None:
            if self._cancelled.is_set():
                raise RunCancelled()
            raise errors.JobFailed(
                f"job {job.id} of the program ended {found.status}"
                + (f": {found.error_code}: {found.error_message}" if found.error_code else ""),
                job_id=job.id,
                error_code=found.error_code,
            )
        if "sealed" in result:
            raise errors.SealingKeyRequired(
                "the program's job results are sealed to your key, so the centre cannot read "
                "them; program runs need results the centre can read"
            )
        return result

    def _cancel_job(self, job_id: str) -> None:
        with contextlib.suppress(errors.QHarborError):  # it finished meanwhile
            self._jobs.cancel(self._principal.project_id, job_id)

    # --- the classical half ------------------------------------------------------------

    @property
    def restored(self) -> dict[str, Any] | None:
        return self._restored

    def report(self, iteration: int, value: float, best: float, **extra: Any) -> None:
        self.progress = {
            "iteration": int(iteration),
            "value": float(value),
            "best": float(best),
            **extra,
        }
        self._on_progress(self.progress)

    def save(self, state: dict[str, Any], *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_save >= self._checkpoint_s:
            self._last_save = now
            progress = self.progress
            if self._lane is not None:
                # The jobs run since the last save commit with the state that counts them.
                self._lane.flush(also=lambda conn: self._on_save(state, progress, conn))
            else:
                self._on_save(state, progress, None)

    def timing(self) -> dict[str, Any] | None:
        """Where this attempt's fast-lane calls spent their time, per call; None without one."""
        return self._lane.timing.to_json() if self._lane is not None else None

    def flush(self) -> None:
        """Store the jobs the fast lane ran and has not stored yet."""
        if self._lane is not None:
            self._lane.flush()

    def check(self) -> None:
        if self._cancelled.is_set():
            raise RunCancelled()
