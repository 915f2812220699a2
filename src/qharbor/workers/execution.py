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
from qharbor.engines import Experiment, get_engine
from qharbor.programs import parse_program
from qharbor.security import sealing
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
    #: For a sealed job, the AES key of its one programs envelope.
    program_key: bytes | None = None
    #: The (key id, raw ML-KEM-768 public key) to seal the result to, if any.
    result_key: tuple[str, bytes] | None = None


def execute(task: Task) -> dict[str, Any]:
    """Run a task and return the result document (without queue timings).

    A sealed job's programs are decrypted here, in the worker's memory; a result
    for a user with a registered key is sealed here, before it leaves the worker.

    Raises:
        errors.QHarborError: with the code to record on the failed job.
    """
    programs = task.programs
    if task.program_key is not None:
        programs = sealing.open_with_key(
            task.program_key, programs[0]["sealed"], sealing.PROGRAMS_AAD
        )
    result = _execute(task, programs)
    if task.result_key is None:
        return result
    key_id, public_key = task.result_key
    outer: dict[str, Any] = {
        "job_id": task.job_id,
        "device": result["device"],
        "sealed": sealing.seal(public_key, key_id, result, sealing.result_aad(task.job_id)),
        "timings": dict(result["timings"]),
    }
    snapshot = result["metadata"].get("calibration_snapshot_id")
    if snapshot is not None:
        outer["metadata"] = {"calibration_snapshot_id": snapshot}
    return outer


def _execute(task: Task, programs: list[dict[str, Any]]) -> dict[str, Any]:
    device = task.device
    engine = get_engine(device.engine)
    started = time.perf_counter()
    experiments: list[Experiment] = []
    for spec in programs:
        program = parse_program(spec["source"], spec["format"], spec["bindings"] or None)
        compiled = compile_for(device, program.circuit, task.seed)
        experiments.append(Experiment(compiled, program.bindings))
    compiled_at = time.perf_counter()
    outcomes = engine.run(experiments, method=device.method, shots=task.shots, seed=task.seed)
    finished = time.perf_counter()

    rows: list[dict[str, Any]] = []
    for index, (spec, experiment, runs) in enumerate(
        zip(programs, experiments, outcomes, strict=True)
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
