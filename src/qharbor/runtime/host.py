"""The centre's side of one attempt's loop: it answers the loop and records what it did.

A thread of the program runtime serves each live run's loop process over their
channel (:mod:`qharbor.runtime.messages`). It stores the jobs the loop ran in
groups, one transaction each (a group commit): whatever has arrived once the
channel is quiet (at most ``_GROUP_JOBS`` jobs or ``_GROUP_S`` seconds' worth
while it is busy), so recording keeps pace with the loop and little is left to
store when it ends, and always with the checkpoint that counts them. A centre
that dies loses the record of the jobs since the last group, but also the
checkpoint that counted them, so the resumed run runs them again and the store
holds every job whose answer the run used.

It answers the loop's questions that need the database (may it run a job: the
session, the user's sealing key, the budget; a twin's or a QPU's job through
the queue), publishes its progress, and tells it to stop when the run is
cancelled or the centre stops.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from qharbor import errors
from qharbor.jobs.manager import JobManager, RanJob
from qharbor.jobs.request import JobRequest
from qharbor.jobs.submission import JobSubmission, Submission
from qharbor.runtime import messages
from qharbor.runtime.channel import Channel, ChannelClosed
from qharbor.runtime.context import RunCancelled
from qharbor.runtime.runs import RunLost, RunStore
from qharbor.security.identity import Principal

#: While messages keep coming, jobs are stored once this many wait or this many seconds
#: have passed; when the channel is quiet, whatever waits is stored at once.
_GROUP_JOBS = 50
_GROUP_S = 0.5

#: Seconds between looks at the store while a queued job runs, besides the wake-ups.
_RECHECK_S = 0.5

#: Seconds a loop told to stop may take to say it stopped before it is ended.
STOP_GRACE_S = 10.0


class JobWaiters:
    """Wakes the threads waiting on a job when it changes. Safe from any thread."""

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


class LoopHost:
    """Serves one attempt's loop until it ends.

    Args:
        run_id: the run.
        attempt: the attempt the loop runs; every write is fenced by it.
        device: the run's device.
        session_id: the run's session in this attempt.
        channel: the centre's end of the loop's channel.
        submission: admits the run's jobs (its sessions, keys, quotas and job store).
        jobs: reads the queued jobs' results, cancels them, records the ran ones.
        waiters: wakes this thread when a queued job changes.
        store: the runs' rows (checkpoints).
        principal: the run's user.
        project_name: the run's project, which each job's signature binds.
        cancelled: set when the loop must stop (cancel, the centre stops, lease lost).
        on_progress: called with each progress the loop reports.
    """

    def __init__(
        self,
        *,
        run_id: str,
        attempt: int,
        device: str,
        session_id: str | None,
        channel: Channel,
        submission: Submission,
        jobs: JobManager,
        waiters: JobWaiters,
        store: RunStore,
        principal: Principal,
        project_name: str,
        cancelled: threading.Event,
        on_progress: Callable[[dict[str, Any]], None],
    ) -> None:
        self._run_id = run_id
        self._attempt = attempt
        self._device = device
        self._session_id = session_id
        self._channel = channel
        self._submission = submission
        self._jobs = jobs
        self._waiters = waiters
        self._store = store
        self._principal = principal
        self._project_name = project_name
        self._cancelled = cancelled
        self._on_progress = on_progress
        self._pending: list[RanJob] = []
        self._flushed_at = time.monotonic()
        self._stop_sent_at: float | None = None
        self._record_s = 0.0
        #: Set when the attempt lost its run's lease: it writes nothing more.
        self.lost = False

    def serve(self) -> messages.Ended:
        """Answer the loop until it ends; how it ended, with the recording's share of its timing.

        Raises:
            errors.ProgramLoopLost: the loop's process ended without an answer, or did not
                stop when told.
            errors.QuotaExceeded: the project's budget cannot pay for the jobs it ran.
            RunLost: another process took the run over.
        """
        while True:
            self._tell_stop()
            try:
                message = self._channel.receive(0 if self._pending else 0.1)
            except ChannelClosed:
                self._flush()
                raise errors.ProgramLoopLost(
                    "the program's loop process ended before its run did"
                ) from None
            if message is None:
                self._idle()
                continue
            if isinstance(message, messages.Ended):
                self._flush()
                timing = message.timing
                if timing is not None:
                    timing = timing.recording(self._record_s)
                return messages.Ended(message.output, message.error, message.stopped, timing)
            self._handle(message)

    def _tell_stop(self) -> None:
        if self._cancelled.is_set() and self._stop_sent_at is None:
            self._stop_sent_at = time.monotonic()
            with contextlib.suppress(ChannelClosed):  # it ended meanwhile: receive says so
                self._channel.send(messages.Stop())

    def _idle(self) -> None:
        """The channel is quiet: store what waits; end a loop that does not stop."""
        if self._pending:
            self._flush()
        stop_sent = self._stop_sent_at
        if stop_sent is not None and time.monotonic() - stop_sent >= STOP_GRACE_S:
            self._flush()
            raise errors.ProgramLoopLost(
                f"the program's loop did not stop within {STOP_GRACE_S:g} s of being told to"
            )

    def _handle(self, message: Any) -> None:
        if isinstance(message, messages.Ran):
            if not self.lost:
                self._pending.append(message.job)
            if len(self._pending) >= _GROUP_JOBS or time.monotonic() - self._flushed_at >= _GROUP_S:
                self._flush()
        elif isinstance(message, messages.Progress):
            self._on_progress(message.progress)
        elif isinstance(message, messages.Save):
            if message.progress is not None:
                self._on_progress(message.progress)
            self._flush(
                also=lambda conn: self._store.save(
                    self._run_id, self._attempt, message.state, message.progress, conn
                )
            )
        elif isinstance(message, messages.Admit):
            self._answer(lambda: self._admit(message.cost_s))
        elif isinstance(message, messages.Queue):
            self._answer(lambda: self._queued(message.request))

    def _answer(self, question: Callable[[], dict[str, Any]]) -> None:
        try:
            answer = messages.Answer(data=question())
        except RunCancelled:
            answer = messages.Answer(stopped=True)
        except errors.QHarborError as exc:
            answer = messages.Answer(error=exc.to_json())
        with contextlib.suppress(ChannelClosed):  # it ended meanwhile: receive says so
            self._channel.send(answer)

    # --- the loop's jobs -----------------------------------------------------------------

    def _flush(self, also: Callable[[sa.Connection], None] | None = None) -> None:
        """Store the jobs the loop ran since the last flush, and ``also`` a checkpoint,
        in one transaction. An attempt that lost its lease stores nothing.

        Raises:
            errors.QuotaExceeded: the project's budget cannot pay for them.
        """
        pending, self._pending = self._pending, []
        self._flushed_at = time.monotonic()
        if self.lost or (not pending and also is None):
            return
        submission = self._submission
        project_id = self._principal.project_id
        try:
            if not pending:
                with submission.jobs.db.write() as conn:
                    also(conn)  # type: ignore[misc]
                return
            device = submission.catalogue.get(pending[0].prepared.request.device)

            def admit(conn: sa.Connection, cost_s: float) -> None:
                submission.quotas.admit(conn, project_id, device, cost_s)

            started = time.perf_counter()
            submission.jobs.record_ran(
                project_id,
                self._principal.user_id,
                self._project_name,
                pending,
                admit=admit,
                also=also,
            )
            self._record_s += time.perf_counter() - started
        except RunLost:
            # The jobs and the state roll back together; the attempt that took the
            # run over runs them again from its own checkpoint.
            self.lost = True
            self._cancelled.set()

    def _admit(self, cost_s: float) -> dict[str, Any]:
        """May the loop run a job costing ``cost_s``: its session is open (and kept
        active), its user has no sealing key, and the budget can pay.

        Raises:
            errors.QHarborError: why not.
        """
        submission = self._submission
        principal = self._principal
        if self._session_id is not None:
            submission.sessions.admit(principal.project_id, self._session_id, self._device)
        if submission.keys.user_key(principal.user_id) is not None:
            raise errors.SealingKeyRequired(
                "the program's job results would be sealed to your key, so the centre could "
                "not read them; program runs need results the centre can read"
            )
        device = submission.catalogue.get(self._device)
        with submission.jobs.db.read() as conn:
            submission.quotas.admit(conn, principal.project_id, device, cost_s)
        return {}

    def _queued(self, request: JobRequest) -> dict[str, Any]:
        """Submit one job, wait for it, and give its result; a stop cancels the job.

        Raises:
            RunCancelled: the run was told to stop meanwhile.
            errors.JobFailed: the job failed or was cancelled.
        """
        job, _ = self._submission.submit(JobSubmission(request), self._principal)
        project_id = self._principal.project_id
        event = self._waiters.event(job.id)
        try:
            while True:
                try:
                    found, result = self._jobs.finished(project_id, job.id)
                except errors.JobNotFinished:
                    if self._cancelled.is_set():
                        with contextlib.suppress(errors.QHarborError):  # it finished meanwhile
                            self._jobs.cancel(project_id, job.id)
                        raise RunCancelled() from None
                    event.wait(_RECHECK_S)
                    event.clear()
                    continue
                break
        finally:
            self._waiters.forget(job.id)
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
        data: dict[str, Any] = result
        return data
