"""Runs one job attempt: parse, compile, execute, build the result.

This is what a worker process does with a task. It is a plain function of its
input, so any executor (local processes, Ray) can run it.
"""

from __future__ import annotations

import hashlib
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from qharbor import errors
from qharbor.devices import Device
from qharbor.engines import Experiment, get_engine
from qharbor.jobs.options import JobOptions
from qharbor.programs import parse_program
from qharbor.workers.compiler import compile_for, compile_for_twin, two_qubit_gates


@dataclass(frozen=True)
class Task:
    """One attempt of one job, as handed to a worker."""

    job_id: str
    attempt: int
    device: Device
    shots: int
    seed: int
    programs: list[dict[str, Any]]
    options: dict[str, Any] = field(default_factory=dict)
    twin: dict[str, Any] | None = None  # the twin document, with the calibration in force


def execute(task: Task) -> dict[str, Any]:
    """Run a task and return the result document (without queue timings).

    Raises:
        errors.QHarborError: with the code to record on the failed job.
    """
    if task.twin is not None:
        return _execute_twin(task, task.twin)
    device = task.device
    engine = get_engine(device.engine)
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


def _metadata(task: Task, engine: Any) -> dict[str, Any]:
    return {
        "engine": engine.name,
        "method": task.device.method,
        "seed": task.seed,
        "attempt": task.attempt,
        "options": dict(task.options),
        "versions": {
            "qharbor": metadata.version("qharbor"),
            **engine.versions(),
            "python": platform.python_version(),
        },
    }


def program_hash(spec: dict[str, Any]) -> str:
    """SHA-256 of a stored program's text and format: the compile cache's circuit key."""
    return hashlib.sha256(f"{spec['format']}\n{spec['source']}".encode()).hexdigest()


@dataclass(frozen=True)
class _TwinRun:
    program: int
    name: str | None
    parameters: dict[str, float] | None
    qasm3: str
    circuit: Any
    cached: bool


def _execute_twin(task: Task, document: dict[str, Any]) -> dict[str, Any]:
    """Compile for the twin's target, run on its noise, and record how.

    Each experiment runs the circuit read back from its own OpenQASM 3 text, so the
    compiled circuit in the result is exactly what ran, and running it on the
    twin document (``HarborService.local_twin``) with the same seed gives the
    same counts.
    """
    from qiskit import qasm3

    from qharbor import twin

    options = JobOptions.from_json(task.options)
    engine = get_engine(task.device.engine)
    if not hasattr(engine, "run_twin"):
        raise errors.ExecutionError(f"engine {engine.name!r} cannot emulate device twins")
    started = time.perf_counter()
    runs: list[_TwinRun] = []
    for index, spec in enumerate(task.programs):
        program = parse_program(spec["source"], spec["format"], spec["bindings"] or None)
        if options.skip_compilation:
            compiled, cached = program.circuit, False
        else:
            compiled, cached = compile_for_twin(
                document, program.circuit, program_hash(spec), options.optimization_level
            )
        for binding in program.bindings or (None,):
            bound = compiled
            if binding is not None:
                bound = compiled.assign_parameters(
                    {p: binding[p.name] for p in compiled.parameters}
                )
            text = qasm3.dumps(bound)
            runs.append(
                _TwinRun(
                    index,
                    spec.get("name"),
                    dict(binding) if binding is not None else None,
                    text,
                    qasm3.loads(text),
                    cached,
                )
            )
    compiled_at = time.perf_counter()
    circuits = [r.circuit for r in runs]
    outcomes = engine.run_twin(document, circuits, shots=task.shots, seed=task.seed)
    finished = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for run, outcome in zip(runs, outcomes, strict=True):
        row: dict[str, Any] = {
            "program": run.program,
            "name": run.name,
            "parameters": run.parameters,
            "counts": outcome.counts,
            "shots": task.shots,
            "seed": outcome.seed,
            "num_qubits": run.circuit.num_qubits,
            "num_clbits": run.circuit.num_clbits,
            "depth": run.circuit.depth(),
            "two_qubit_gates": two_qubit_gates(run.circuit),
            "physical_qubits": list(outcome.qubits),
            "compiled_qasm3": run.qasm3,
            "compile_cached": run.cached,
            "run_s": outcome.run_s,
        }
        if options.mitigate_readout:
            mitigation = twin.mitigate(document, run.circuit, outcome.counts)
            row["quasi_probabilities"] = mitigation.quasi_probabilities
            row["mitigation"] = mitigation.method
        rows.append(row)
    meta = _metadata(task, engine)
    meta["method"] = "twin"
    meta["calibration"] = {
        "snapshot": document["calibration"]["id"],
        "version": document["calibration"]["version"],
        "valid_at": document["calibration"]["valid_at"],
    }
    meta["optimization_level"] = None if options.skip_compilation else options.optimization_level
    return {
        "job_id": task.job_id,
        "device": task.device.name,
        "shots": task.shots,
        "experiments": rows,
        "timings": {
            "compile_s": compiled_at - started,
            "run_s": finished - compiled_at,
            "qpu_s": twin.modelled_qpu_s(document, circuits, task.shots, task.seed),
        },
        "metadata": meta,
    }
