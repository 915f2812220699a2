"""Dry runs: validate and compile a job, estimate its run time, queue nothing."""

from __future__ import annotations

from typing import Any

from qharbor.devices import Device, operations
from qharbor.devices.fleet import Fleet
from qharbor.jobs.manager import JobManager
from qharbor.jobs.request import PreparedJob
from qharbor.workers.compiler import compile_for_twin, two_qubit_gates
from qharbor.workers.execution import program_hash


def dry_run(
    prepared: PreparedJob, device: Device, fleet: Fleet, manager: JobManager
) -> dict[str, Any]:
    """What the job would do now: compiled sizes, estimated device time, queue and status.

    The estimate is the twin's timing model without its run-to-run variation:
    per shot, the compiled circuit's longest path plus the shot overhead, and
    once, the job overhead (see :func:`qharbor.twin.estimate_qpu_s`).

    Raises:
        errors.QHarborError: what submitting the job would raise, compilation included.
    """
    from qharbor import twin

    state = fleet.state(device.name)
    options = prepared.request.options
    experiments: list[dict[str, Any]] = []
    estimate: float | None = None
    snapshot: str | None = None
    if device.twin is not None:
        document = fleet.twin_document(device.name)
        snapshot = document["calibration"]["id"]
        circuits = []
        for index, (spec, circuit) in enumerate(
            zip(prepared.programs, prepared.circuits, strict=True)
        ):
            if options.skip_compilation:
                compiled = circuit
            else:
                compiled, _ = compile_for_twin(
                    document, circuit, program_hash(spec), options.optimization_level
                )
            operations.check_active_qubits(device.twin, compiled, index)
            runs = max(1, len(spec["bindings"]))
            circuits += [compiled] * runs
            experiments.append(
                {
                    "program": index,
                    "runs": runs,
                    "depth": compiled.depth(),
                    "two_qubit_gates": two_qubit_gates(compiled),
                    "active_qubits": len(operations.used_qubits(compiled)),
                    "duration_s": twin.circuit_duration_s(document, compiled),
                }
            )
        estimate = twin.estimate_qpu_s(document, circuits, prepared.request.shots)
    else:
        for index, (spec, circuit) in enumerate(
            zip(prepared.programs, prepared.circuits, strict=True)
        ):
            experiments.append(
                {
                    "program": index,
                    "runs": max(1, len(spec["bindings"])),
                    "depth": circuit.depth(),
                    "two_qubit_gates": two_qubit_gates(circuit),
                    "active_qubits": len(operations.used_qubits(circuit)),
                }
            )
    status = state.to_json()
    return {
        "device": device.name,
        "valid": True,
        "device_status": status["status"],
        "status_reason": status["reason"],
        "estimated_start": status["until"],
        "queue_position": manager.queue_position(device.name),
        "estimated_qpu_s": estimate,
        "calibration": snapshot,
        "experiments": experiments,
    }
