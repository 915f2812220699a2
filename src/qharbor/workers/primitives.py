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


def execute_primitive(task: Claim, engine: Engine) -> Result:
    """Run a sampler or estimator job: one result per PUB."""
    from qharbor.primitives.estimator import is_exact, run_estimator
    from qharbor.primitives.sampler import run_sampler

    assert task.primitive is not None
    pubs = task.primitive["pubs"]
    started = time.perf_counter()
    picker = picker_for(task)
    compiler: Any = compile_for
    if task.twin is not None:
        runner = twins.TwinRunner(engine, task.twin)
        picker = Picker(fixed=runner, reason=twins.reason(task, engine))
        compiler = twins.compiler(task.twin, task.options)
    if task.kind == "sampler":
        results = run_sampler(task.runs_on, picker, pubs, task.seed, compiler)
        mode = "sampled"
    else:
        results = run_estimator(task.runs_on, picker, pubs, task.seed, compiler)
        mode = "exact" if is_exact(task.runs_on, picker) else "sampled"
    finished = time.perf_counter()
    meta = record(task, picker).adding(mode=mode)
    if task.twin is not None:
        meta = meta.adding(calibration_snapshot_id=task.twin["calibration"]["id"])
    return Result(
        job_id=task.job_id,
        device=task.runs_on.name,
        kind=task.kind,
        shots=task.shots,
        experiments=(),
        pubs=tuple(results),
        timings=Timings(compile_s=0.0, run_s=finished - started),
        metadata=meta,
    )
