"""A twin's timing model: how long circuits and jobs take on the device, in seconds."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import Any

from qiskit import QuantumCircuit
from qiskit.circuit import ControlFlowOp

from qharbor.devices.twins import document as documents

documents.DocumentLike = documents.DocumentLike


def circuit_duration_s(document: documents.DocumentLike, circuit: QuantumCircuit) -> float:
    """The circuit's duration on the device: the longest path, in seconds.

    Each qubit keeps its own clock; a gate starts when all its qubits are free.
    Operations the calibration does not list (barriers, control flow) take no time.
    """
    twin = documents.read(document)
    gates = twin.gate_table()
    measure_s = twin.measure_duration_ns * 1e-9
    clocks = [0.0] * circuit.num_qubits
    for instruction in circuit.data:
        op = instruction.operation
        indices = [circuit.find_bit(q).index for q in instruction.qubits]
        if not indices:
            continue
        if op.name in ("measure", "reset"):
            duration = measure_s
        elif op.name == "delay":
            duration = _delay_s(op)
        elif op.name == "barrier" or isinstance(op, ControlFlowOp):
            duration = 0.0
        else:
            entry = gates.get(op.name, {}).get(tuple(indices))
            duration = entry[1] if entry is not None else 0.0
        start = max(clocks[i] for i in indices)
        for i in indices:
            clocks[i] = start + duration
    return max(clocks, default=0.0)


def _delay_s(op: Any) -> float:
    value = float(op.params[0]) if op.params else 0.0
    unit = getattr(op, "unit", "dt")
    scale = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12}.get(unit, 0.0)
    return value * scale


def estimate_qpu_s(
    document: documents.DocumentLike, circuits: Sequence[QuantumCircuit], shots: int
) -> float:
    """Expected device time for a job, in seconds: per shot, the circuit plus the
    shot overhead (reset and repetition delay), and once, the job overhead."""
    twin = documents.read(document)
    shot_overhead = twin.timing.shot_overhead_us * 1e-6
    per_shot = sum(circuit_duration_s(twin, c) + shot_overhead for c in circuits)
    return twin.timing.job_overhead_s + shots * per_shot


def modelled_qpu_s(
    document: documents.DocumentLike, circuits: Sequence[QuantumCircuit], shots: int, seed: int
) -> float:
    """The device time the twin's timing model records for a run, in seconds.

    It is the expectation varied by up to ``timing.jitter`` (relative), as a real
    device's queue-to-readout time varies; the variation is fixed by ``seed``.
    """
    twin = documents.read(document)
    jitter = twin.timing.jitter
    rng = random.Random(_stable_seed(twin.calibration.id, seed))
    return estimate_qpu_s(twin, circuits, shots) * (1 + rng.uniform(-jitter, jitter))


def _stable_seed(*parts: object) -> int:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")
