"""The program runtime: runs programs' classical loops next to the centre's devices.

Each run's loop runs in a loop process of its own (:mod:`qharbor.runtime.loop`):
on this host with the local executor, as a Ray task with ``executor = "ray"``.
One of ``program_workers`` threads of the centre process serves it
(:mod:`qharbor.runtime.host`): it holds the run on a lease, renewed while the
loop runs, as the scheduler holds a job, records the jobs the loop ran and its
checkpoints, and tells it to stop when the run is cancelled. Every attempt is
numbered, and what it writes (checkpoints, the end) is fenced by its number, so
a process that lost a run's lease can never overwrite the attempt that took it
over. Its quantum jobs on a simulator take the fast lane
(:mod:`qharbor.runtime.fastlane`) in the loop's process, in a session of the
run's own. A loop process that crashes fails its run (``PROGRAM_LOOP_LOST``); one
whose centre dies ends with it.

A run checkpoints what its program saves. When the centre stops, its runs stay
RUNNING and their leases are given up, so the next start resumes them from
their last checkpoint at once; when a centre process dies, its runs' leases
expire and the next process to look (a restarted centre, or another one on the
same database) takes them over, again from their checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pydantic
import sqlalchemy as sa

from qharbor import errors
from qharbor.devices import Catalogue
from qharbor.jobs.events import JobEvents
from qharbor.jobs.manager import JobManager
from qharbor.jobs.sessions import SessionManager, SessionMode
from qharbor.jobs.submission import Submission
from qharbor.runtime import messages
from qharbor.runtime.context import RunCancelled
from qharbor.runtime.host import JobWaiters, LoopHost
from qharbor.runtime.processes import LoopProcess, LoopProcesses
from qharbor.runtime.registry import Registry, entry_of
from qharbor.runtime.runs import ProgramRun, RunLost, RunStatus, RunStore, run_tag
from qharbor.security.directory import Role
from qharbor.security.identity import Principal
from qharbor.security.signing import Signer

log = logging.getLogger(__name__)

#: The shortest time between two progress events of one run (seconds).
_PUBLISH_EVERY_S = 0.1


class _Live:
    """A run whose loop runs in this process."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()  # the user asked to cancel it
        self.stopping = False  # the centre stops: leave it RUNNING, to resume
        self.lost = False  # another process took its lease over: stop, writing nothing
        self.progress: dict[str, Any] | None = None
        self.published_at = 0.0  # when followers were last told of new progress (monotonic)
        self.pid: int | None = None  # the loop's process on this host (a Ray task's relay)


class ProgramRuntime:
    """Starts, follows, cancels and resumes program runs.

    Args:
        registry: the programs that may run.
        store: the runs' rows.
        catalogue: the devices a run may name.
        submission: admits the runs' jobs.
        jobs: reads their results, cancels them.
        sessions: opens each run's session.
        signer: gives the centre's signing key, once the keys are loaded.
        workers: runs whose loops run at once.
        checkpoint_s: a program's state is saved at most this often (seconds).
        lease_s: how long a run stays leased to this process without a renewal.
        fast_lane: run the programs' simulator jobs in their loops' processes
            (:mod:`qharbor.runtime.fastlane`) rather than through the queue.
        processes: the loop processes; by default, on this host.
    """

    def __init__(
        self,
        registry: Registry,
        store: RunStore,
        catalogue: Catalogue,
        submission: Submission,
        jobs: JobManager,
        sessions: SessionManager,
        signer: Callable[[], Signer],
        *,
        workers: int = 4,
        checkpoint_s: float = 1.0,
        lease_s: float = 20.0,
        fast_lane: bool = True,
        processes: LoopProcesses | None = None,
    ) -> None:
        self.registry = registry
        self.store = store
        self.catalogue = catalogue
        self.submission = submission
        self.jobs = jobs
        self.sessions = sessions
        self._signer = signer
        self._workers = workers
        self._checkpoint_s = checkpoint_s
        self._fast_lane = fast_lane
        self._lease_s = lease_s
        #: This process's name on the leases it holds.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._keeper: threading.Thread | None = None
        self._stopped = threading.Event()
        #: Wakes those following a run (server-sent events) when it changes.
        self.events = JobEvents()
        self.waiters = JobWaiters()
        self._live: dict[str, _Live] = {}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self.processes = processes or LoopProcesses(workers)

    # --- the centre's side -------------------------------------------------------------

    def start(self) -> int:
        """Start the threads that serve the loops, and resume every run no live process holds.

        Returns:
            How many runs it resumed now; a run whose dead process's lease has not
            expired yet is taken as it expires.
        """
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="qharbor-program")
        self._stopped.clear()
        resumed = self._take_over()
        self._keeper = threading.Thread(
            target=self._keep, name="qharbor-program-leases", daemon=True
        )
        self._keeper.start()
        return resumed

    def stop(self) -> None:
        """Stop the loops, leaving their runs RUNNING so the next start resumes them."""
        self._stopped.set()
        if self._keeper is not None:
            self._keeper.join(timeout=10)
        with self._lock:
            for live in self._live.values():
                live.stopping = True
                live.cancelled.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self.processes.close()

    def _take_over(self) -> int:
        """Launch every run no live process holds; how many."""
        runs = [run for run in self.store.claimable() if run.id not in self._live]
        for run in runs:
            self._launch(run)
        return len(runs)

    def _keep(self) -> None:
        """Renew this process's leases, pass on cancellations asked of other processes,
        and take over the runs of processes that died."""
        every = max(self._lease_s / 3, 0.05)
        while not self._stopped.wait(every):
            try:
                with self._lock:
                    live = dict(self._live)
                for run_id in self.store.renew(self.owner, live, self._lease_s):
                    live[run_id].cancelled.set()
                self._take_over()
            except Exception:  # a database hiccup: try again at the next tick
                log.exception("renewing the program runs' leases failed")

    def job_changed(self, job_id: str) -> None:
        """Called by the job store after each change; wakes a run waiting on the job."""
        self.waiters.changed(job_id)

    # --- users' side -------------------------------------------------------------------

    def submit(
        self, name: str, device: str, inputs: dict[str, Any], principal: Principal
    ) -> ProgramRun:
        """Check a run's inputs against its program's schema, store it and start it.

        Raises:
            errors.CentreProgramNotFound: no such program.
            errors.ProgramInputsInvalid: the inputs do not match the schema.
            errors.DeviceNotFound: no such device.
        """
        program = self.registry.get(name)
        try:
            checked = program.inputs.model_validate(inputs)
        except pydantic.ValidationError as exc:
            problems = [
                {"field": ".".join(map(str, e["loc"])) or "inputs", "message": e["msg"]}
                for e in exc.errors()
            ]
            raise errors.ProgramInputsInvalid(
                f"the inputs of program {name!r} do not match its schema: "
                + "; ".join(f"{p['field']}: {p['message']}" for p in problems)
                + f" (GET /v1/programs/{name} shows the schema)",
                errors=problems,
            ) from None
        self.catalogue.get(device)  # DeviceNotFound before anything is stored
        run = self.store.create(
            principal.project_id,
            principal.user_id,
            name,
            program.version,
            device,
            checked.model_dump(mode="json"),
        )
        self._launch(run)
        return run

    def get(self, project_id: str, name: str, run_id: str) -> ProgramRun:
        """The run, with the newest progress if its loop runs here.

        Raises:
            errors.ProgramRunNotFound: not a run of that program in the project.
        """
        run = self.store.get(project_id, run_id)
        if run.program != name:
            raise errors.ProgramRunNotFound(run_id=run_id)
        live = self._live.get(run_id)
        if live is not None and live.progress is not None and not run.status.is_final:
            run = ProgramRun(**{**run.__dict__, "progress": live.progress})
        return run

    def cancel(self, project_id: str, name: str, run_id: str) -> ProgramRun:
        """Cancel a run: a queued one at once, a running one at its next quantum call.

        Raises:
            errors.ProgramRunNotFound, errors.ProgramRunFinal.
        """
        self.get(project_id, name, run_id)
        run = self.store.request_cancel(project_id, run_id)
        live = self._live.get(run_id)
        if live is not None:
            live.cancelled.set()
        self.events.publish(run_id)
        return run

    def result(self, project_id: str, name: str, run_id: str) -> dict[str, Any]:
        """The signed result of a DONE run.

        Raises:
            errors.ProgramRunNotFound, errors.ProgramRunNotDone.
        """
        self.get(project_id, name, run_id)
        return self.store.result(project_id, run_id)

    # --- one run -----------------------------------------------------------------------

    def _launch(self, run: ProgramRun) -> None:
        if self._pool is None:
            raise RuntimeError("the program runtime has not started")
        live = _Live()
        with self._lock:
            if run.id in self._live:
                return
            self._live[run.id] = live
        self._pool.submit(self._execute, run, live)

    def _execute(self, run: ProgramRun, live: _Live) -> None:
        claimed = self.store.claim(run.id, self.owner, self._lease_s)
        if claimed is None:  # final, or another process holds it
            with self._lock:
                self._live.pop(run.id, None)
            return
        attempt, restored = claimed
        self._attempt(run, attempt, restored, live)

    def _attempt(
        self, run: ProgramRun, attempt: int, restored: dict[str, Any] | None, live: _Live
    ) -> None:
        """Run one leased attempt of the run to its end, or until the centre stops."""
        session_id: str | None = None
        try:
            if live.cancelled.is_set() or self.store.cancel_requested(run.id):
                self._finish_cancelled(run, attempt, live)
                return
            program = self.registry.get(run.program)  # not found: before a session opens
            session = self.sessions.create(
                run.project_id, run.user_id, run.device, SessionMode.SESSION
            )
            session_id = session.id
            self.store.set_session(run.id, attempt, session_id)
            self.events.publish(run.id)
            spec = messages.LoopSpec(
                run_id=run.id,
                program=run.program,
                entry=entry_of(program),
                inputs=run.inputs,
                restored=restored,
                device=self.catalogue.get(run.device),
                session_id=session_id,
                tag=run_tag(run.id),
                checkpoint_s=self._checkpoint_s,
                fast_lane=self._fast_lane,
                max_program_bytes=self.submission.settings.max_program_bytes,
                max_experiments=self.submission.settings.max_bindings_per_job,
            )
            ended = self._loop(run, attempt, spec, live)
            if live.lost:
                raise RunLost(run.id)
            if ended.stopped:
                raise RunCancelled()
            if ended.error is not None:
                raise errors.QHarborError.from_json(ended.error)
            timing = ended.timing.to_json() if ended.timing is not None else None
            self._finish_done(run, attempt, ended.output or {}, live, timing)
        except RunLost:
            log.warning("program run %s was taken over by another process", run.id)
        except RunCancelled:
            if live.lost:
                log.warning("program run %s was taken over by another process", run.id)
            elif live.stopping:
                self.store.release(run.id, attempt)
                log.info(
                    "program run %s stops with the centre; it resumes at the next start", run.id
                )
            else:
                self._finish_cancelled(run, attempt, live)
        except errors.QHarborError as exc:
            if live.stopping or live.lost:
                self.store.release(run.id, attempt)
                return
            self.store.finish(run.id, attempt, RunStatus.FAILED, progress=live.progress, error=exc)
        except Exception as exc:  # a program's bug fails its run, not the runtime
            log.exception("program run %s failed", run.id)
            self.store.finish(
                run.id,
                attempt,
                RunStatus.FAILED,
                progress=live.progress,
                error=errors.ProgramRunError(f"{type(exc).__name__}: {exc}"),
            )
        finally:
            if session_id is not None:
                with contextlib.suppress(errors.QHarborError):
                    self.sessions.close(run.project_id, session_id)
            with self._lock:
                self._live.pop(run.id, None)
            self.events.publish(run.id)

    def _loop(
        self, run: ProgramRun, attempt: int, spec: messages.LoopSpec, live: _Live
    ) -> messages.Ended:
        """Run the attempt in a loop process and serve it to its end.

        Raises:
            errors.ProgramLoopLost: the loop's process crashed or would not stop.
            errors.QuotaExceeded: the budget could not pay for the jobs it ran.
        """
        process = self.processes.take()
        live.pid = process.pid
        host = LoopHost(
            run_id=run.id,
            attempt=attempt,
            device=run.device,
            session_id=spec.session_id,
            channel=process.channel,
            submission=self.submission,
            jobs=self.jobs,
            waiters=self.waiters,
            store=self.store,
            principal=_principal(run),
            project_name=self.store.project_name(run.project_id),
            cancelled=live.cancelled,
            on_progress=lambda progress: self._progress(run.id, live, progress),
        )
        try:
            process.channel.send(spec)
            ended = host.serve()
        except errors.ProgramLoopLost as exc:
            raise _lost(process, exc) from None
        except BaseException:
            process.kill()
            raise
        finally:
            live.lost = live.lost or host.lost
        self.processes.give_back(process)
        return ended

    def _progress(self, run_id: str, live: _Live, progress: dict[str, Any]) -> None:
        """Keep the newest progress; tell followers at most every ``_PUBLISH_EVERY_S``.

        A fast loop reports hundreds of iterations a second; each told follower reads
        the run again. The run's end tells them at once, with its last progress.
        """
        live.progress = progress
        now = time.monotonic()
        if now - live.published_at >= _PUBLISH_EVERY_S:
            live.published_at = now
            self.events.publish(run_id)

    def _save(
        self,
        run_id: str,
        attempt: int,
        state: dict[str, Any],
        progress: dict[str, Any] | None,
        conn: sa.Connection | None,
        live: _Live,
    ) -> None:
        """Store the attempt's checkpoint; an attempt that lost its lease stops here."""
        try:
            self.store.save(run_id, attempt, state, progress, conn)
        except RunLost:
            live.lost = True
            live.cancelled.set()
            raise RunCancelled() from None

    def _finish_cancelled(self, run: ProgramRun, attempt: int, live: _Live) -> None:
        self.store.finish(run.id, attempt, RunStatus.CANCELLED, progress=live.progress)

    def _finish_done(
        self,
        run: ProgramRun,
        attempt: int,
        output: dict[str, Any],
        live: _Live,
        timing: dict[str, Any] | None,
    ) -> None:
        """Sign the result, with every job the run ran in any attempt, and store it."""
        document = {
            "run_id": run.id,
            "program": run.program,
            "version": run.version,
            "device": run.device,
            "inputs": run.inputs,
            "output": output,
            "jobs": self.store.job_ids(run.id),
            "attempts": attempt,
            "progress": live.progress,
        }
        if timing is not None:
            document["timing"] = timing
        context = {
            "job_id": run.id,
            "project": self.store.project_name(run.project_id),
            "device": run.device,
            "calibration_snapshot_id": None,
            "input_hash": run.inputs_hash,
        }
        signature = self._signer().sign(document, context)
        self.store.finish(
            run.id,
            attempt,
            RunStatus.DONE,
            progress=live.progress,
            result=document,
            signature=signature,
        )


def _principal(run: ProgramRun) -> Principal:
    """The run's user, as its jobs are submitted: the user who started the run."""
    return Principal(
        user_id=run.user_id,
        user_name="",
        project_id=run.project_id,
        project_name="",
        role=Role.MEMBER,
        is_admin=False,
        token_id=f"program-run:{run.id}",
        scopes=frozenset({"read", "submit"}),
    )


def _lost(process: LoopProcess, error: errors.ProgramLoopLost) -> errors.ProgramLoopLost:
    """The error of a loop process that ended (or was ended) before its run, saying how."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.process.wait(timeout=2)  # a crashed process's exit code, once it is there
    how = process.ended()
    if process.process.poll() is None:
        how = "was ended by the centre"
    process.kill()
    return errors.ProgramLoopLost(f"{error.message} (process {process.pid} {how})")
