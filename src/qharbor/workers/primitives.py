"""Primitive jobs: a sampler or estimator run, one result per PUB."""

from __future__ import annotations

import time
from typing import Any

from qharbor.engines import Engine
from qharbor.engines.selection import Picker
from qharbor.jobs.claims import Claim
from qharbor.jobs.result import Result, Timings
from qharbor.workers import twins
from qharbor.workers.compiler import compile_for
from qharbor.workers.record import picker_for, record


def execute_primitive(claim: Claim, engine: Engine) -> Result:
    """Run a sampler or estimator job: one result per PUB."""
    from qharbor.primitives.estimator import is_exact, run_estimator
    from qharbor.primitives.sampler import run_sampler

    assert claim.primitive is not None
    pubs = claim.primitive["pubs"]
    started = time.perf_counter()
    picker = picker_for(claim)
    compiler: Any = compile_for
    if claim.twin is not None:
        runner = twins.TwinRunner(engine, claim.twin)
        picker = Picker(fixed=runner, reason=twins.reason(claim, engine))
        compiler = twins.compiler(claim.twin, claim.options)
    if claim.kind == "sampler":
        results = run_sampler(claim.runs_on, picker, pubs, claim.seed, compiler)
        mode = "sampled"
    else:
        results = run_estimator(claim.runs_on, picker, pubs, claim.seed, compiler)
        mode = "exact" if is_exact(claim.runs_on, picker) else "sampled"
    finished = time.perf_counter()
    meta = record(claim, picker).adding(mode=mode)
    if claim.twin is not None:
        meta = meta.adding(calibration_snapshot_id=claim.twin["calibration"]["id"])
    return Result(
        job_id=claim.job_id,
        device=claim.runs_on.name,
        kind=claim.kind,
        shots=claim.shots,
        experiments=(),
        pubs=tuple(results),
        timings=Timings(compile_s=0.0, run_s=finished - started),
        metadata=meta,
    )
