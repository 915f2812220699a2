"""A twin's timing model: how long circuits and jobs take on the device, in seconds."""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Slot:
    """When one instruction of a circuit runs on the device, in seconds from the start.

    Attributes:
        index: the instruction's position in ``circuit.data``.
        qubits: the indices of the qubits it acts on.
        start_s: when it starts.
        end_s: when it ends (``start_s`` for barriers and virtual gates).
        busy: whether it drives its qubits (a gate, measurement or reset); delays
            and barriers leave them idle.
    """

    index: int
    qubits: tuple[int, ...]
    start_s: float
    end_s: float
    busy: bool


def schedule(
    document: documents.DocumentLike,
    circuit: QuantumCircuit,
    qubits: Sequence[int] | None = None,
) -> list[Slot]:
    """Each instruction's start and end, scheduled as late as possible (ALAP).

    Durations are those of :func:`circuit_duration_s`; as late as possible keeps
    a qubit in its ground state, where idle noise does nothing, until its first
    gate, as a device's scheduler does.

    Args:
        document: the twin document.
        circuit: a circuit on physical qubits, or a narrowed one with ``qubits``.
        qubits: for each qubit of a narrowed circuit, the physical qubit it stands for.
    """
    physical = list(qubits) if qubits is not None else list(range(circuit.num_qubits))
    twin = documents.read(document)
    gates = twin.gate_table()
    measure_s = twin.measure_duration_ns * 1e-9
    clocks = [0.0] * circuit.num_qubits  # time from the end, per qubit
    timed: list[tuple[int, tuple[int, ...], float, float, bool]] = []
    for index in range(len(circuit.data) - 1, -1, -1):
        instruction = circuit.data[index]
        op = instruction.operation
        indices = tuple(circuit.find_bit(q).index for q in instruction.qubits)
        if not indices:
            continue
        busy = op.name not in ("delay", "barrier") and not isinstance(op, ControlFlowOp)
        if op.name in ("measure", "reset"):
            duration = measure_s
        elif op.name == "delay":
            duration = _delay_s(op)
        elif not busy:
            duration = 0.0
        else:
            entry = gates.get(op.name, {}).get(tuple(physical[i] for i in indices))
            duration = entry[1] if entry is not None else 0.0
        late = max(clocks[i] for i in indices)
        for i in indices:
            clocks[i] = late + duration
        timed.append((index, indices, late, late + duration, busy))
    total = max(clocks, default=0.0)
    return [
        Slot(index, indices, total - end, total - start, busy)
        for index, indices, start, end, busy in reversed(timed)
    ]


def idle_windows(slots: Sequence[Slot], num_qubits: int) -> list[list[tuple[float, float]]]:
    """Per qubit, the periods between two of its operations when nothing drives it,
    as ``(start_s, end_s)``. Before its first operation and after its last a qubit
    is not counted idle: it rests in its ground state, or has been read."""
    busy: list[list[tuple[float, float]]] = [[] for _ in range(num_qubits)]
    for slot in slots:
        if slot.busy:
            for q in slot.qubits:
                busy[q].append((slot.start_s, slot.end_s))
    windows: list[list[tuple[float, float]]] = []
    for periods in busy:
        periods.sort()
        gaps = []
        for (_, end), (start, _) in itertools.pairwise(periods):
            if start - end > 1e-12:
                gaps.append((end, start))
        windows.append(gaps)
    return windows


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


def runs_qpu_s(
    document: documents.DocumentLike, runs: Sequence[tuple[QuantumCircuit, int]]
) -> float:
    """Expected device time of a job that ran each circuit with its own shots, in
    seconds: per shot, the circuit plus the shot overhead, and once, the job overhead."""
    twin = documents.read(document)
    shot_overhead = twin.timing.shot_overhead_us * 1e-6
    durations: dict[int, float] = {}
    total = twin.timing.job_overhead_s
    for circuit, shots in runs:
        key = id(circuit)
        if key not in durations:
            durations[key] = circuit_duration_s(twin, circuit)
        total += shots * (durations[key] + shot_overhead)
    return total


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
