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
from qharbor.engines import Experiment, get_engine, result_types
from qharbor.programs import Program, parse_program
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


def execute(task: Task) -> dict[str, Any]:
    """Run a task and return the result document (without queue timings).

    Raises:
        errors.QHarborError: with the code to record on the failed job.
    """
    device = task.device
    engine = get_engine(device.engine)
    started = time.perf_counter()
    experiments: list[Experiment] = []
    programs: list[Program] = []
    for spec in task.programs:
        # The intake accepted this program; the same limits apply again here.
        program = parse_program(spec["source"], spec["format"], spec["bindings"] or None)
        compiled = compile_for(device, program.circuit, task.seed)
        experiments.append(Experiment(compiled, program.bindings))
        programs.append(program)
    compiled_at = time.perf_counter()
    outcomes = engine.run(experiments, method=device.method, shots=task.shots, seed=task.seed)
    finished = time.perf_counter()

    rows: list[dict[str, Any]] = []
    for index, (spec, program, experiment, runs) in enumerate(
        zip(task.programs, programs, experiments, outcomes, strict=True)
    ):
        circuit = experiment.circuit
        depth = circuit.depth()
        for slot, outcome in enumerate(runs):
            extra: dict[str, Any] = {}
            if program.result_types:
                source = program.circuit
                if experiment.bindings:
                    source = source.assign_parameters(
                        {p: experiment.bindings[slot][p.name] for p in source.parameters}
                    )
                extra["result_types"] = result_types.evaluate(source, program.result_types)
            if program.verbatim:
                extra["verbatim"] = True
            rows.append(
                {
                    **extra,
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
        "metadata": {
            "engine": engine.name,
            "method": device.method,
            "seed": task.seed,
            "attempt": task.attempt,
            "versions": {
                "qharbor": metadata.version("qharbor"),
                **engine.versions(),
                "python": platform.python_version(),
            },
        },
    }
