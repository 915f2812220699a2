"""Runs one job attempt: parse, compile, execute, build the result.

This is what a worker process does with a task. It is a plain function of its
input, so any executor (local processes, Ray) can run it.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from qharbor.devices import Device
from qharbor.engines import Engine, Experiment, get_engine
from qharbor.programs import parse_program
from qharbor.workers.compiler import compile_for


@dataclass(frozen=True)
class Task:
    """One attempt of one job, as handed to a worker."""

    job_id: str
    attempt: int
    device: Device
    shots: int
    seed: int
    programs: list[dict[str, Any]]
    kind: str = "circuits"
    primitive: dict[str, Any] | None = None


def execute(task: Task) -> dict[str, Any]:
    """Run a task and return the result document (without queue timings).

    Raises:
        errors.QHarborError: with the code to record on the failed job.
    """
    device = task.device
    engine = get_engine(device.engine)
    if task.kind != "circuits":
        return _execute_primitive(task, engine)
    started = time.perf_counter()
    experiments: list[Experiment] = []
    for spec in task.programs:
        program = parse_program(spec["source"], spec["format"], spec["bindings"] or None)
        compiled = compile_for(device, program.circuit, task.seed)
        experiments.append(Experiment(compiled, program.bindings))
    compiled_at = time.perf_counter()
    outcomes = engine.run(experiments, method=device.method, shots=task.shots, seed=task.seed)
    finished = time.perf_counter()

    rows: list[dict[str, Any]] = []
    for index, (spec, experiment, runs) in enumerate(
        zip(task.programs, experiments, outcomes, strict=True)
    ):
        circuit = experiment.circuit
        depth = circuit.depth()
        for slot, outcome in enumerate(runs):
            rows.append(
                {
                    "program": index,
                    "name": spec.get("name"),
                    "parameters": dict(experiment.bindings[slot]) if experiment.bindings else None,
                    "counts": outcome.counts,
                    "shots": task.shots,
                    "seed": outcome.seed,
                    "num_qubits": circuit.num_qubits,
                    "num_clbits": circuit.num_clbits,
                    "depth": depth,
                    "run_s": outcome.run_s,
                }
            )
    return {
        "job_id": task.job_id,
        "device": device.name,
        "shots": task.shots,
        "experiments": rows,
        "timings": {"compile_s": compiled_at - started, "run_s": finished - compiled_at},
        "metadata": _metadata(task, engine),
    }


def _metadata(task: Task, engine: Engine) -> dict[str, Any]:
    return {
        "engine": engine.name,
        "method": task.device.method,
        "seed": task.seed,
        "attempt": task.attempt,
        "versions": {
            "qharbor": metadata.version("qharbor"),
            **engine.versions(),
            "python": platform.python_version(),
        },
    }


def _execute_primitive(task: Task, engine: Engine) -> dict[str, Any]:
    """Run a sampler or estimator job: one result per PUB."""
    from qharbor.primitives.estimator import is_exact, run_estimator
    from qharbor.primitives.sampler import run_sampler

    assert task.primitive is not None
    pubs = task.primitive["pubs"]
    started = time.perf_counter()
    if task.kind == "sampler":
        results = run_sampler(task.device, engine, pubs, task.seed, compile_for)
        mode = "sampled"
    else:
        results = run_estimator(task.device, engine, pubs, task.seed, compile_for)
        mode = "exact" if is_exact(task.device, engine) else "sampled"
    finished = time.perf_counter()
    return {
        "job_id": task.job_id,
        "device": task.device.name,
        "kind": task.kind,
        "shots": task.shots,
        "experiments": [],
        "pubs": results,
        "timings": {"compile_s": 0.0, "run_s": finished - started},
        "metadata": {**_metadata(task, engine), "mode": mode},
    }
