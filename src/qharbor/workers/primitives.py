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
    from qharbor.devices.twins import timing
    from qharbor.primitives.estimator import is_exact, run_estimator
    from qharbor.primitives.sampler import run_sampler

    assert claim.primitive is not None
    pubs = claim.primitive["pubs"]
    started = time.perf_counter()
    picker = picker_for(claim)
    compiler: Any = compile_for
    runner: twins.TwinRunner | None = None
    plan = claim.options.mitigation_plan(claim.kind)
    if claim.twin is not None:
        runner = twins.TwinRunner(engine, claim.twin)
        picker = Picker(fixed=runner, reason=twins.reason(claim, engine))
        compiler = twins.compiler(claim.twin, claim.options)
    if claim.kind == "sampler":
        results = run_sampler(
            claim.runs_on,
            picker,
            pubs,
            claim.seed,
            compiler,
            plan=plan,
            twin=claim.twin,
            mitigate_readout=claim.options.mitigate_readout,
        )
        mode = "sampled"
    else:
        results = run_estimator(
            claim.runs_on, picker, pubs, claim.seed, compiler, plan=plan, twin=claim.twin
        )
        mode = "exact" if is_exact(claim.runs_on, picker) else "sampled"
    finished = time.perf_counter()
    meta = record(claim, picker).adding(mode=mode)
    qpu_s = None
    if claim.twin is not None and runner is not None:
        meta = meta.adding(calibration_snapshot_id=claim.twin["calibration"]["id"])
        # The device time of every circuit run, mitigation's extra ones included.
        qpu_s = timing.runs_qpu_s(claim.twin, runner.ledger)
    return Result(
        job_id=claim.job_id,
        device=claim.runs_on.name,
        kind=claim.kind,
        shots=claim.shots,
        experiments=(),
        pubs=tuple(results),
        timings=Timings(compile_s=0.0, run_s=finished - started, qpu_s=qpu_s),
        metadata=meta,
    )
