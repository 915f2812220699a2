"""Dry runs: validate and compile a job, estimate its run time, queue nothing."""

from __future__ import annotations

import hashlib
from typing import Any

from qharbor.devices import Device
from qharbor.devices.fleet import Fleet
from qharbor.jobs import checks
from qharbor.jobs.manager import JobManager
from qharbor.jobs.request import PreparedJob
from qharbor.primitives import pubs

#: Wall-clock seconds one program's compilation may take in a dry run.
COMPILE_TIMEOUT_SECONDS = 10.0


def _pubs_qpu_s(prepared: PreparedJob, device: Device, document: Any, sandbox: Any) -> float:
    """Device time of a primitive job's PUBs (seconds), mitigation's runs included.

    Each PUB's circuit is compiled (measured, as every run is) and timed once, in
    the sandbox as a program is;
    every shot then costs the shot overhead, and the circuit's duration times
    the fold it runs at (:attr:`~qharbor.primitives.mitigation.spend.Spend.folded_shots`).
    """
    assert prepared.primitive is not None
    kind = prepared.request.kind
    options = prepared.request.options
    plan = options.mitigation_plan(kind)
    shot_overhead = document.timing.shot_overhead_us * 1e-6
    total = 0.0
    for index, pub in enumerate(prepared.primitive["pubs"]):
        spent = pubs.spend_of(kind, pub, device, plan)
        if spent is None:
            continue
        # An estimator's runs measure every qubit; its circuit comes without them.
        measure = kind == "estimator"
        packed = pub["circuit_qpy"]
        digest = hashlib.sha256(f"{measure}:{packed}".encode()).hexdigest()
        args = (
            document.to_json(),
            device.twin,
            packed,
            digest,
            options.optimization_level,
            options.skip_compilation,
            index,
            measure,
        )
        if sandbox is None:
            summary = checks.summarise(*args)
        else:
            summary = sandbox.call(checks.summarise, *args, timeout_s=COMPILE_TIMEOUT_SECONDS)
        total += spent.shots * shot_overhead + spent.folded_shots * summary["duration_s"]
    return total


def dry_run(
    prepared: PreparedJob,
    device: Device,
    fleet: Fleet,
    manager: JobManager,
    sandbox: Any = None,
) -> dict[str, Any]:
    """What the job would do now: compiled sizes, estimated device time, queue and status.

    The estimate is the twin's timing model without its run-to-run variation:
    per shot, the compiled circuit's longest path plus the shot overhead, and
    once, the job overhead (see :func:`qharbor.devices.twins.timing.estimate_qpu_s`). Each
    program is compiled and measured in ``sandbox`` (a
    :class:`~qharbor.programs.sandbox.ParserPool`), under its time and memory
    bound, as its parse was; ``None`` does it here.

    Raises:
        errors.QHarborError: what submitting the job would raise, compilation included.
    """
    state = fleet.state(device.name)
    options = prepared.request.options
    experiments: list[dict[str, Any]] = []
    estimate: float | None = None
    snapshot: str | None = None
    document = fleet.twin_document(device.name) if device.twin is not None else None
    if document is not None:
        snapshot = document.calibration.id
    per_shot = 0.0
    for index, program in enumerate(prepared.programs):
        runs = program.num_experiments
        args = (
            document.to_json() if document is not None else None,
            device.twin,
            program.packed,
            program.digest,
            options.optimization_level,
            options.skip_compilation,
            index,
        )
        if sandbox is None:
            summary = checks.summarise(*args)
        else:
            summary = sandbox.call(checks.summarise, *args, timeout_s=COMPILE_TIMEOUT_SECONDS)
        if document is not None:
            per_shot += runs * (summary["duration_s"] + document.timing.shot_overhead_us * 1e-6)
        experiments.append({"program": index, "runs": runs, **summary})
    if document is not None:
        # As timing.estimate_qpu_s, from the durations measured beside each compilation.
        estimate = document.timing.job_overhead_s + prepared.request.shots * per_shot
        if prepared.primitive is not None:
            estimate += _pubs_qpu_s(prepared, device, document, sandbox)
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
