"""The fast lane: a centre program's quantum calls, run in its loop's process.

A program is trusted code the centre ships or its operator installs, and it
builds its circuits itself: sending each call through the queue (the parser
sandbox, the scheduler's wake-up, a worker process, a poll) costs far more than
a small circuit's run. So each call is prepared here as any job is (the device,
the PUBs' shapes and values), runs on the engine in the loop's process, and goes
to the centre as a :class:`~qharbor.jobs.manager.RanJob`, which the centre stores
as a job of the run's session with its signed result and its usage charged
(:mod:`qharbor.runtime.host`); a call whose engine failed is stored ``FAILED``
with the engine's error. What needs the database (the session, the user's
sealing key, the budget) the loop asks the centre at most once a second
(:data:`RECHECK_S`). A circuit is written and parsed, and an observable read,
once per run; later calls bind new parameters to them.

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
from typing import Any

from qharbor import errors, wire
from qharbor.devices.device import Device
from qharbor.jobs.claims import Claim
from qharbor.jobs.manager import RanJob
from qharbor.jobs.preparation import prepare
from qharbor.jobs.request import JobRequest, PreparedJob
from qharbor.jobs.result import Result
from qharbor.programs.intake import parse_with_qpy
from qharbor.runtime.pubs import observable_terms, qpy_text
from qharbor.security.quotas import estimate_s
from qharbor.workers.execution import execute

#: Seconds between the loop's questions to the centre (session, sealing key, budget).
RECHECK_S = 1.0

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

    def admitting(self, admit_s: float) -> Timing:
        """With one more call admitted, which took ``admit_s``."""
        return dataclasses.replace(self, admit_s=self.admit_s + admit_s)

    def running(self, engine_s: float) -> Timing:
        """With one more call run on the engine, which took ``engine_s``."""
        return dataclasses.replace(self, calls=self.calls + 1, engine_s=self.engine_s + engine_s)

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
    """Prepares and runs one run's simulator jobs in this process; see the module's docstring.

    Args:
        device: the run's device, as the catalogue has it.
        max_program_bytes: the centre's limit on a program's text.
        max_experiments: the centre's limit on a job's experiments.
    """

    def __init__(self, device: Device, max_program_bytes: int, max_experiments: int) -> None:
        self._device = device
        self._max_program_bytes = max_program_bytes
        self._max_experiments = max_experiments
        #: id(circuit) -> (the circuit, kept alive so its id stays its own; its QPY text)
        self._texts: dict[int, tuple[Any, str]] = {}
        #: id(observable) -> (the observable, kept alive; its terms as a PUB holds them)
        self._terms: dict[int, tuple[Any, dict[str, float]]] = {}
        #: QPY text -> (the circuit parsed from it, its QPY bytes)
        self._parsed: dict[str, tuple[Any, bytes]] = {}
        self.timing = Timing()

    def takes(self, device: str) -> bool:
        """Whether jobs for the device run here: only the run's own device, a simulator."""
        return device == self._device.name and self._device.kind == "simulator"

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

    def prepare(self, request: JobRequest) -> tuple[PreparedJob, float]:
        """The job checked as :meth:`Submission.submit` checks its programs and PUBs,
        and the device-seconds its quota check counts.

        Raises:
            errors.QHarborError: what submitting the job would raise for its contents.
        """
        started = time.perf_counter()
        prepared = prepare(
            request,
            self._device,
            max_program_bytes=self._max_program_bytes,
            max_experiments=self._max_experiments,
            parse_pub=self._parse,
        )
        # The fingerprint (a hash of the whole request) is taken here, in the loop,
        # not by the centre, whose recording of each job is the slower side.
        fingerprint = prepared.fingerprint or request.fingerprint()
        prepared = dataclasses.replace(prepared, priority=1, fingerprint=fingerprint)
        cost_s = estimate_s(self._device, request.shots, prepared.num_experiments)
        self.timing = self.timing.admitting(time.perf_counter() - started)
        return prepared, cost_s

    def run(self, prepared: PreparedJob, cost_s: float) -> RanJob:
        """Run one prepared job on the engine; a failure is a ran job with its error."""
        begun = time.perf_counter()
        started_at = wire.utcnow()
        claim = self._claim(prepared)
        result: Result | None = None
        error: tuple[str, str] | None = None
        try:
            found = execute(claim)
            # The centre refuses a user with a sealing key, so nothing here is sealed.
            assert isinstance(found, Result), "a fast-lane job's result was sealed"
            result = found
        except errors.QHarborError as exc:
            error = (exc.code, exc.message)
        except Exception as exc:  # an engine bug fails the job, as in a worker
            error = ("ENGINE_ERROR", f"{exc!r}")
        self.timing = self.timing.running(time.perf_counter() - begun)
        return RanJob(
            claim.job_id, prepared, result, started_at, wire.utcnow(), cost_s, error=error
        )

    def _parse(self, source: str, fmt: str, max_bytes: int) -> tuple[Any, bytes]:
        """A PUB's circuit: parsed at its first call, then the same one again."""
        parsed = self._parsed.get(source)
        if parsed is None:
            parsed = parse_with_qpy(source, fmt, max_bytes=max_bytes)
            _keep(self._parsed, source, parsed)
        return parsed

    def _claim(self, prepared: PreparedJob) -> Claim:
        """The job as a worker would get it (a simulator: no twin)."""
        request = prepared.request
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
        return claim.prepared(self._device)


def answer(result: Result) -> dict[str, Any]:
    """What the program reads of a job's result: its ``pubs`` and ``experiments`` as
    ``GET /v1/jobs/{id}/result`` gives them."""
    return {
        "pubs": list(result.pubs or ()),
        "experiments": [experiment.to_json() for experiment in result.experiments],
    }
