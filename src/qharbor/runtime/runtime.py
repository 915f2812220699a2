"""The program runtime: runs programs' classical loops next to the centre's devices.

Each run's loop runs on one of ``program_workers`` threads of the centre process,
beside the scheduler it feeds; its quantum jobs go through the queue like any
other, in a session of the run's own, so they are claimed before ordinary work.
A run checkpoints what its program saves; when the centre stops, its runs stay
RUNNING and a starting centre resumes them from their last checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pydantic

from qharbor import errors
from qharbor.devices import Catalogue
from qharbor.jobs.events import JobEvents
from qharbor.jobs.manager import JobManager
from qharbor.jobs.sessions import SessionManager, SessionMode
from qharbor.jobs.submission import Submission
from qharbor.runtime.context import JobWaiters, RunCancelled, RunContext
from qharbor.runtime.fastlane import FastLane
from qharbor.runtime.registry import Registry
from qharbor.runtime.runs import ProgramRun, RunStatus, RunStore, run_tag
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
        self.progress: dict[str, Any] | None = None
        self.published_at = 0.0  # when followers were last told of new progress (monotonic)


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
        fast_lane: run the programs' jobs in their loops' threads
            (:mod:`qharbor.runtime.fastlane`) rather than through the queue.
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
        fast_lane: bool = True,
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
        #: Wakes those following a run (server-sent events) when it changes.
        self.events = JobEvents()
        self.waiters = JobWaiters()
        self._live: dict[str, _Live] = {}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    # --- the centre's side -------------------------------------------------------------

    def start(self) -> int:
        """Start the thread pool and resume every unfinished run; how many were resumed."""
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="qharbor-program")
        resumed = self.store.unfinished()
        for run in resumed:
            self._launch(run)
        return len(resumed)

    def stop(self) -> None:
        """Stop the loops, leaving their runs RUNNING so the next start resumes them."""
        with self._lock:
            for live in self._live.values():
                live.stopping = True
                live.cancelled.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

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
            self._live[run.id] = live
        self._pool.submit(self._execute, run, live)

    def _execute(self, run: ProgramRun, live: _Live) -> None:
        session_id: str | None = None
        try:
            if live.cancelled.is_set() or self.store.cancel_requested(run.id):
                self._finish_cancelled(run, live)
                return
            program = self.registry.get(run.program)
            inputs = program.inputs.model_validate(run.inputs)
            session = self.sessions.create(
                run.project_id, run.user_id, run.device, SessionMode.SESSION
            )
            session_id = session.id
            attempt, restored = self.store.start(run.id, session_id)
            self.events.publish(run.id)
            context = RunContext(
                run_id=run.id,
                device=run.device,
                principal=_principal(run),
                session_id=session_id,
                submission=self.submission,
                jobs=self.jobs,
                waiters=self.waiters,
                restored=restored,
                on_progress=lambda progress: self._progress(run.id, live, progress),
                on_save=lambda state, progress: self.store.save(run.id, state, progress),
                cancelled=live.cancelled,
                checkpoint_s=self._checkpoint_s,
                tag=run_tag(run.id),
                lane=self._lane(run),
            )
            try:
                output = _plain(program.run(inputs, context))
            finally:
                context.flush()  # the jobs it ran are stored however it ended
            self._finish_done(run, attempt, output, live, context.timing())
        except RunCancelled:
            if live.stopping:
                log.info(
                    "program run %s stops with the centre; it resumes at the next start", run.id
                )
            else:
                self._finish_cancelled(run, live)
        except errors.QHarborError as exc:
            if live.stopping:
                return
            self.store.finish(run.id, RunStatus.FAILED, progress=live.progress, error=exc)
        except Exception as exc:  # a program's bug fails its run, not the runtime
            log.exception("program run %s failed", run.id)
            self.store.finish(
                run.id,
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

    def _lane(self, run: ProgramRun) -> FastLane | None:
        if not self._fast_lane:
            return None
        return FastLane(self.submission, _principal(run), self.store.project_name(run.project_id))

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

    def _finish_cancelled(self, run: ProgramRun, live: _Live) -> None:
        self.store.finish(run.id, RunStatus.CANCELLED, progress=live.progress)

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


def _plain(value: Any) -> dict[str, Any]:
    """The program's output as plain JSON (NumPy numbers become Python ones)."""

    def convert(item: Any) -> Any:
        if hasattr(item, "tolist"):
            return item.tolist()
        if hasattr(item, "item"):
            return item.item()
        raise TypeError(f"the program returned {type(item).__name__}, which is not JSON")

    plain: dict[str, Any] = json.loads(json.dumps(value, default=convert))
    return plain
