"""The fast lane: a centre program's quantum calls, run in its own thread and recorded as jobs.

A program is trusted code the centre ships or its operator installs, and it
builds its circuits itself: sending each call through the queue (the parser
sandbox, the scheduler's wake-up, a worker process, a poll) costs far more than
a small circuit's run. So each call is admitted here as any job is (the device,
the session, the PUBs' shapes and values, the quota), runs on the engine in
this thread, and is stored as a ``DONE`` job of the run's session with its signed
result and its usage charged (:meth:`~qharbor.jobs.manager.JobManager.record_ran`).
Jobs are stored in groups, one transaction each, every few jobs and always
before the run checkpoints or ends: a centre that dies loses the record of the
jobs since the last group, but also the checkpoint that counted them, so the
resumed run runs them again and the store holds every job whose answer the run
used. A circuit is written and parsed, and an observable read, once per run; later
calls bind new parameters to them.

What it skips is what only the queue gives: a device's concurrency slot, and a
worker process of its own (its memory reservation, its crash contained). So only
jobs for simulators take it (:meth:`FastLane.takes`); a device twin's or a QPU's
jobs, which stand for a device one job at a time and may run for minutes, go
through the queue like any other.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from qharbor import errors, wire
from qharbor.jobs.claims import Claim
from qharbor.jobs.manager import RanJob
from qharbor.jobs.preparation import prepare
from qharbor.jobs.request import JobRequest, PreparedJob
from qharbor.jobs.result import Result
from qharbor.jobs.submission import Submission
from qharbor.programs.intake import parse_with_qpy
from qharbor.runtime.pubs import observable_terms, qpy_text
from qharbor.security.identity import Principal
from qharbor.security.quotas import estimate_s
from qharbor.workers.execution import execute

#: Jobs are stored together, once this many have run or this many seconds have passed.
_GROUP_JOBS = 50
_GROUP_S = 0.5

#: Seconds between reads of the session and the budget before the engine runs.
_RECHECK_S = 1.0

#: The most circuits a run keeps written and parsed (a loop reuses a few).
_KEPT_CIRCUITS = 16


def _keep(kept: dict[Any, Any], key: Any, value: Any) -> None:
    """Keep ``value`` under ``key``, forgetting the oldest beyond ``_KEPT_CIRCUITS``."""
    kept[key] = value
    while len(kept) > _KEPT_CIRCUITS:
        kept.pop(next(iter(kept)))


@dataclasses.dataclass(frozen=True)
class Timing:
    """Where the fast lane's calls spent their time (seconds, summed over the run)."""

    calls: int = 0
    admit_s: float = 0.0
    engine_s: float = 0.0
    record_s: float = 0.0

    def adding(self, admit_s: float, engine_s: float) -> Timing:
        """With one more call, which took these to admit and to run."""
        return dataclasses.replace(
            self,
            calls=self.calls + 1,
            admit_s=self.admit_s + admit_s,
            engine_s=self.engine_s + engine_s,
        )

    def recording(self, record_s: float) -> Timing:
        """With one more group of jobs stored, which took ``record_s``."""
        return dataclasses.replace(self, record_s=self.record_s + record_s)

    def to_json(self) -> dict[str, Any]:
        per = 1000 / max(self.calls, 1)
        return {
            "calls": self.calls,
            "admit_ms_per_call": round(self.admit_s * per, 3),
            "engine_ms_per_call": round(self.engine_s * per, 3),
            "record_ms_per_call": round(self.record_s * per, 3),
        }


class FastLane:
    """Runs one program run's jobs in this thread; see the module's docstring.

    Args:
        submission: the centre's admission (its settings, catalogue, fleet,
            sessions, keys and quotas are consulted as for any job).
        principal: the run's user.
        project_name: the run's project, which each result's signature binds.
    """

    def __init__(self, submission: Submission, principal: Principal, project_name: str) -> None:
        self._submission = submission
        self._principal = principal
        self._project_name = project_name
        #: id(circuit) -> (the circuit, kept alive so its id stays its own; its QPY text)
        self._texts: dict[int, tuple[Any, str]] = {}
        #: id(observable) -> (the observable, kept alive; its terms as a PUB holds them)
        self._terms: dict[int, tuple[Any, dict[str, float]]] = {}
        #: QPY text -> (the circuit parsed from it, its QPY bytes)
        self._parsed: dict[str, tuple[Any, bytes]] = {}
        self.timing = Timing()
        self._pending: list[RanJob] = []
        self._flushed_at = time.perf_counter()
        self._admitted_at: float | None = None  # when the session and quota were last read

    def takes(self, device: str) -> bool:
        """Whether jobs for the device run here: only a simulator's do."""
        return self._submission.catalogue.get(device).kind == "simulator"

    def source(self, circuit: Any) -> str:
        """The circuit's QPY text, written once per circuit object.

        A program passes the same circuit with new parameter values; one that
        changed a circuit after passing it must pass a new circuit instead.
        """
        known = self._texts.get(id(circuit))
        if known is None or known[0] is not circuit:
            known = (circuit, qpy_text(circuit))
            _keep(self._texts, id(circuit), known)
        return known[1]

    def terms(self, observable: Any) -> dict[str, float]:
        """The observable's terms, read once per observable object (as :meth:`source`)."""
        known = self._terms.get(id(observable))
        if known is None or known[0] is not observable:
            known = (observable, observable_terms(observable))
            _keep(self._terms, id(observable), known)
        return known[1]

    def run(self, request: JobRequest) -> dict[str, Any]:
        """Admit, run and record one job; its ``pubs`` and ``experiments`` as
        ``GET /v1/jobs/{id}/result`` gives them.

        Raises:
            errors.QHarborError: what submitting the job would raise, or the engine's error.
        """
        started = time.perf_counter()
        prepared, cost_s = self._admit(request)
        begun = time.perf_counter()
        started_at = wire.utcnow()
        claim = self._claim(prepared)
        try:
            result = execute(claim)
        except errors.QHarborError as exc:
            raise errors.JobFailed(
                f"a job of the program failed: {exc.code}: {exc.message}", error_code=exc.code
            ) from exc
        ran = time.perf_counter()
        # Admission refused a user with a sealing key, so nothing here is sealed.
        assert isinstance(result, Result), "a fast-lane job's result was sealed"
        self._pending.append(RanJob(prepared, result, started_at, wire.utcnow(), cost_s))
        self.timing = self.timing.adding(begun - started, ran - begun)
        if len(self._pending) >= _GROUP_JOBS or ran - self._flushed_at >= _GROUP_S:
            self.flush()
        # What the program reads of it (the record is written as the jobs are stored).
        return {
            "pubs": list(result.pubs or ()),
            "experiments": [experiment.to_json() for experiment in result.experiments],
        }

    def flush(self, also: Callable[[sa.Connection], None] | None = None) -> None:
        """Store the jobs run since the last flush, in one transaction.

        Called every few jobs, with each checkpoint (``also`` writes it in the same
        transaction, so a saved state counts exactly the jobs the store holds) and
        as the run's loop ends.

        Raises:
            errors.QuotaExceeded: the project's budget cannot pay for them.
        """
        pending, self._pending = self._pending, []
        self._flushed_at = time.perf_counter()
        if not pending:
            if also is not None:
                with self._submission.jobs.db.write() as conn:
                    also(conn)
            return
        project_id = self._principal.project_id
        device = self._submission.catalogue.get(pending[0].prepared.request.device)

        def admit(conn: sa.Connection, cost_s: float) -> None:
            self._submission.quotas.admit(conn, project_id, device, cost_s)

        started = time.perf_counter()
        self._submission.jobs.record_ran(
            project_id, self._principal.user_id, self._project_name, pending, admit=admit, also=also
        )
        self.timing = self.timing.recording(time.perf_counter() - started)

    def _admit(self, request: JobRequest) -> tuple[PreparedJob, float]:
        """The job checked as :meth:`Submission.submit` checks it, and its quota estimate."""
        submission = self._submission
        principal = self._principal
        now = time.monotonic()
        # The session (open, and kept active), the user's sealing key and the budget are
        # read before the engine runs at most every second; the budget is checked
        # again as each group of jobs is stored.
        recheck = self._admitted_at is None or now - self._admitted_at >= _RECHECK_S
        if recheck and request.session_id is not None:
            submission.sessions.admit(principal.project_id, request.session_id, request.device)
        if recheck and submission.keys.user_key(principal.user_id) is not None:
            raise errors.SealingKeyRequired(
                "the program's job results would be sealed to your key, so the centre could "
                "not read them; program runs need results the centre can read"
            )
        device = submission.catalogue.get(request.device)
        prepared = prepare(
            request,
            device,
            max_program_bytes=submission.settings.max_program_bytes,
            max_experiments=submission.settings.max_bindings_per_job,
            parse_pub=self._parse,
        )
        prepared = dataclasses.replace(prepared, priority=1)
        cost_s = estimate_s(device, request.shots, prepared.num_experiments)
        if recheck:
            with submission.jobs.db.read() as conn:
                submission.quotas.admit(conn, principal.project_id, device, cost_s)
            self._admitted_at = now
        return prepared, cost_s

    def _parse(self, source: str, fmt: str, max_bytes: int) -> tuple[Any, bytes]:
        """A PUB's circuit: parsed at its first call, then the same one again."""
        parsed = self._parsed.get(source)
        if parsed is None:
            parsed = parse_with_qpy(source, fmt, max_bytes=max_bytes)
            _keep(self._parsed, source, parsed)
        return parsed

    def _claim(self, prepared: PreparedJob) -> Claim:
        """The job as a worker would get it: the device's entry, and the twin in force."""
        request = prepared.request
        device = self._submission.catalogue.get(request.device)
        twin = None
        if device.twin is not None:
            twin = self._submission.fleet.twin_document(device.name).to_json()
        claim = Claim(
            job_id=uuid.uuid4().hex,
            attempt=1,
            device=request.device,
            shots=request.shots,
            seed=prepared.seed,
            programs=prepared.stored_programs(),
            kind=request.kind,
            primitive=prepared.primitive,
            options=request.options,
        )
        return claim.prepared(device, twin=twin)
