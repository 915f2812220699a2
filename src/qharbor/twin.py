"""A device twin as a local Aer simulator: target, noise, timing and mitigation.

This module is shared by the centre's workers and by the client's
``HarborService.local_twin``. It depends only on Qiskit and Qiskit Aer (and the
standard library), so a client can emulate a device exactly as the centre does,
without any server code.

Everything here takes a *twin document*: the JSON that
``GET /v1/devices/{name}/twin`` returns. Its keys:

- ``device``, ``num_qubits``, ``native_gates`` and ``edges`` (pairs of physical
  qubits that two-qubit gates may act on, in either direction);
- ``measure_duration_ns``, ``max_active_qubits``;
- ``timing``: ``shot_overhead_us``, ``job_overhead_s`` and ``jitter`` (the
  relative spread of the modelled QPU time around its expectation);
- ``calibration``: the snapshot in force, with per-qubit ``t1_us``, ``t2_us``,
  ``frequency_ghz``, ``readout_p01`` (read 1 when 0 was prepared) and
  ``readout_p10``, and per-gate ``error`` and ``duration_ns`` per qubit tuple.

Example:
    >>> from qharbor import twin                                   # doctest: +SKIP
    >>> local = twin.LocalTwin(document)                           # doctest: +SKIP
    >>> local.run(compiled_circuit, shots=1000, seed=7)            # doctest: +SKIP
    {'00000': 431, '11111': 402, ...}
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import (
    ControlFlowOp,
    Delay,
    ForLoopOp,
    IfElseOp,
    Measure,
    Parameter,
    Reset,
    SwitchCaseOp,
    WhileLoopOp,
)
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.converters import circuit_to_dag, dag_to_circuit
from qiskit.quantum_info import average_gate_fidelity
from qiskit.transpiler import InstructionProperties, Target
from qiskit_aer import AerSimulator
from qiskit_aer.noise import (
    NoiseModel,
    QuantumError,
    ReadoutError,
    depolarizing_error,
    thermal_relaxation_error,
)

Document = Mapping[str, Any]

#: Widest active register a twin simulates (as a density matrix: 4^12 amplitudes).
MAX_ACTIVE_QUBITS = 12

_CONTROL_FLOW = {
    "if_else": IfElseOp,
    "while_loop": WhileLoopOp,
    "for_loop": ForLoopOp,
    "switch_case": SwitchCaseOp,
}


# --- the target -------------------------------------------------------------------


def _gate(name: str) -> Any:
    gate = get_standard_gate_name_mapping().get(name)
    if gate is None:
        raise ValueError(f"{name!r} is not a standard Qiskit gate name")
    if gate.params:
        # One free parameter per angle, so the target accepts any angle.
        gate = type(gate)(*[Parameter(f"{name}_{i}") for i in range(len(gate.params))])
    return gate


def gate_table(document: Document) -> dict[str, dict[tuple[int, ...], tuple[float, float]]]:
    """Per gate, per qubit tuple: (error, duration in seconds), from the calibration."""
    table: dict[str, dict[tuple[int, ...], tuple[float, float]]] = {}
    for entry in document["calibration"]["gates"]:
        qubits = tuple(int(q) for q in entry["qubits"])
        table.setdefault(entry["gate"], {})[qubits] = (
            float(entry["error"]),
            float(entry["duration_ns"]) * 1e-9,
        )
    return table


def target(document: Document) -> Target:
    """The device's Qiskit ``Target``: native gates with errors and durations, measure, delay."""
    n = int(document["num_qubits"])
    qubits = document["calibration"]["qubits"]
    result = Target(description=str(document["device"]), num_qubits=n)
    for name, entries in gate_table(document).items():
        result.add_instruction(
            _gate(name),
            {q: InstructionProperties(duration=d, error=e) for q, (e, d) in entries.items()},
            name=name,
        )
    measure_s = float(document["measure_duration_ns"]) * 1e-9
    result.add_instruction(
        Measure(),
        {
            (q,): InstructionProperties(
                duration=measure_s, error=readout_error(qubits[q]) if q < len(qubits) else None
            )
            for q in range(n)
        },
    )
    result.add_instruction(
        Reset(), {(q,): InstructionProperties(duration=measure_s) for q in range(n)}
    )
    result.add_instruction(Delay(Parameter("t")), {(q,): None for q in range(n)})
    for name, klass in _CONTROL_FLOW.items():
        result.add_instruction(klass, name=name)
    return result


def readout_error(qubit: Mapping[str, Any]) -> float:
    """A qubit's mean assignment error: the average of P(1|0) and P(0|1)."""
    return (float(qubit["readout_p01"]) + float(qubit["readout_p10"])) / 2


# --- active qubits ------------------------------------------------------------------


def compact(circuit: QuantumCircuit) -> tuple[QuantumCircuit, list[int]]:
    """Drop the wires nothing acts on, so only the active qubits are simulated.

    Returns:
        The narrower circuit, and for each of its qubits the index it had in
        ``circuit`` (the physical qubit, for a compiled circuit).
    """
    dag = circuit_to_dag(circuit)
    for node in list(dag.op_nodes()):
        if node.op.name == "barrier":
            dag.remove_op_node(node)
    idle = [q for q in dag.idle_wires() if q in dag.qubits]
    idle_set = set(idle)
    kept = [i for i, q in enumerate(circuit.qubits) if q not in idle_set]
    if idle:
        dag.remove_qubits(*idle)
    return dag_to_circuit(dag), kept


# --- noise --------------------------------------------------------------------------


def _relaxation(qubit: Mapping[str, Any], duration_s: float) -> QuantumError:
    t1 = float(qubit["t1_us"]) * 1e-6
    t2 = min(float(qubit["t2_us"]) * 1e-6, 2 * t1)  # physical bound T2 <= 2 T1
    return thermal_relaxation_error(t1, t2, duration_s)


def gate_error(error: float, relaxation: QuantumError | None, num_qubits: int) -> QuantumError:
    """Relaxation followed by depolarizing noise, together matching the gate's error.

    The depolarizing part makes up what relaxation alone leaves of the
    calibrated average gate infidelity ``error``.
    """
    dim = 2**num_qubits
    relaxed = 0.0
    if relaxation is not None:
        relaxed = 1 - average_gate_fidelity(relaxation.to_quantumchannel())
    depolarizing = max(0.0, error - relaxed) * dim / (dim - 1)
    depolarizing = min(depolarizing, dim**2 / (dim**2 - 1))
    channel = depolarizing_error(depolarizing, num_qubits)
    return channel if relaxation is None else relaxation.compose(channel)


def noise_model(document: Document, qubits: Sequence[int]) -> NoiseModel:
    """The Aer noise model of the calibration, for the given physical qubits.

    Args:
        document: the twin document.
        qubits: for each simulated qubit, the physical qubit it stands for.
    """
    calibration = document["calibration"]["qubits"]
    where = {physical: index for index, physical in enumerate(qubits)}
    gates = gate_table(document)
    model = NoiseModel(basis_gates=sorted(gates))
    for name, entries in gates.items():
        for physical, (error, duration) in entries.items():
            if not all(p in where for p in physical):
                continue
            if error <= 0 and duration <= 0:
                continue  # a virtual gate (rz): exact and instantaneous
            relaxation: QuantumError | None = None
            if duration > 0:
                parts = [_relaxation(calibration[p], duration) for p in physical]
                relaxation = parts[0]
                for part in parts[1:]:
                    relaxation = part.expand(relaxation)
            model.add_quantum_error(
                gate_error(error, relaxation, len(physical)),
                name,
                [where[p] for p in physical],
            )
    for site, index in where.items():
        q = calibration[site]
        p01, p10 = float(q["readout_p01"]), float(q["readout_p10"])
        model.add_readout_error(ReadoutError([[1 - p01, p01], [p10, 1 - p10]]), [index])
    return model


def simulator(document: Document, qubits: Sequence[int]) -> AerSimulator:
    """An Aer simulator with the device's noise on the given physical qubits."""
    # Always a density matrix: exact noise, and shots cost nothing extra. (Aer's
    # trajectory method crashed with some of these noise models.)
    return AerSimulator(method="density_matrix", noise_model=noise_model(document, qubits))


class LocalTwin:
    """A device twin on this machine.

    Args:
        document: the twin document from ``GET /v1/devices/{name}/twin``.
    """

    def __init__(self, document: Document) -> None:
        self.document = document
        self.name = str(document["device"])
        self.snapshot_id = str(document["calibration"]["id"])
        self._simulators: dict[tuple[int, ...], AerSimulator] = {}

    def target(self) -> Target:
        """The device's Qiskit target, to transpile for it."""
        return target(self.document)

    def prepare(self, circuit: QuantumCircuit) -> tuple[QuantumCircuit, list[int]]:
        """The circuit narrowed to its active qubits, and their physical indices."""
        narrow, qubits = compact(circuit)
        limit = min(
            int(self.document.get("max_active_qubits") or MAX_ACTIVE_QUBITS), MAX_ACTIVE_QUBITS
        )
        if len(qubits) > limit:
            raise ValueError(
                f"the circuit acts on {len(qubits)} qubits; the twin of {self.name!r} "
                f"simulates at most {limit} active qubits"
            )
        return narrow, qubits

    def run(self, circuit: QuantumCircuit, shots: int = 1024, seed: int = 0) -> dict[str, int]:
        """Counts of a compiled circuit (on physical qubits), with the device's noise.

        The centre runs the same code, so the same compiled circuit, shots and
        seed give the same counts here as in a job's result.
        """
        return self.run_prepared(*self.prepare(circuit), shots=shots, seed=seed)

    def run_prepared(
        self, circuit: QuantumCircuit, qubits: Sequence[int], *, shots: int, seed: int
    ) -> dict[str, int]:
        """Counts of a circuit already narrowed by :meth:`prepare`."""
        key = tuple(qubits)
        if key not in self._simulators:
            self._simulators[key] = simulator(self.document, qubits)
        result = self._simulators[key].run(circuit, shots=shots, seed_simulator=seed).result()
        if not result.success:
            raise RuntimeError(f"Aer failed: {result.status}")
        if circuit.num_clbits == 0:
            return {}
        return {str(k): int(v) for k, v in result.get_counts(0).items()}


# --- timing -------------------------------------------------------------------------


def circuit_duration_s(document: Document, circuit: QuantumCircuit) -> float:
    """The circuit's duration on the device: the longest path, in seconds.

    Each qubit keeps its own clock; a gate starts when all its qubits are free.
    Operations the calibration does not list (barriers, control flow) take no time.
    """
    gates = gate_table(document)
    measure_s = float(document["measure_duration_ns"]) * 1e-9
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


def estimate_qpu_s(document: Document, circuits: Sequence[QuantumCircuit], shots: int) -> float:
    """Expected device time for a job, in seconds: per shot, the circuit plus the
    shot overhead (reset and repetition delay), and once, the job overhead."""
    timing = document["timing"]
    shot_overhead = float(timing["shot_overhead_us"]) * 1e-6
    per_shot = sum(circuit_duration_s(document, c) + shot_overhead for c in circuits)
    return float(timing["job_overhead_s"]) + shots * per_shot


def modelled_qpu_s(
    document: Document, circuits: Sequence[QuantumCircuit], shots: int, seed: int
) -> float:
    """The device time the twin's timing model records for a run, in seconds.

    It is the expectation varied by up to ``timing.jitter`` (relative), as a real
    device's queue-to-readout time varies; the variation is fixed by ``seed``.
    """
    jitter = float(document["timing"].get("jitter", 0.0))
    rng = random.Random(_stable_seed(document["calibration"]["id"], seed))
    return estimate_qpu_s(document, circuits, shots) * (1 + rng.uniform(-jitter, jitter))


def _stable_seed(*parts: object) -> int:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


# --- readout mitigation ---------------------------------------------------------------


def measured_qubits(circuit: QuantumCircuit) -> dict[int, int]:
    """Clbit index to the qubit index last measured into it."""
    where: dict[int, int] = {}
    for instruction in circuit.data:
        if instruction.operation.name == "measure":
            qubit = circuit.find_bit(instruction.qubits[0]).index
            clbit = circuit.find_bit(instruction.clbits[0]).index
            where[clbit] = qubit
    return where


@dataclass(frozen=True)
class Mitigation:
    """Readout-mitigated quasi-probabilities of one experiment."""

    quasi_probabilities: dict[str, float]
    method: str = "tensored"


def mitigate(document: Document, circuit: QuantumCircuit, counts: Mapping[str, int]) -> Mitigation:
    """Invert each measured qubit's assignment matrix (tensored mitigation).

    Args:
        document: the twin document whose calibration gives the assignment matrices.
        circuit: the compiled circuit, on physical qubits.
        counts: the raw counts, in Qiskit's bit order (clbit 0 rightmost).

    Returns:
        Quasi-probabilities over the same bit strings (register spaces removed).
        They sum to one but may be slightly negative.
    """
    qubits = document["calibration"]["qubits"]
    width = circuit.num_clbits
    shots = sum(counts.values())
    if width == 0 or shots == 0:
        return Mitigation({})
    probabilities = np.zeros((2,) * width)
    for key, value in counts.items():
        bits = key.replace(" ", "")
        # Axis i of the tensor is clbit i; the string has clbit 0 last.
        probabilities[tuple(int(b) for b in reversed(bits))] += value / shots
    for clbit, qubit in measured_qubits(circuit).items():
        q = qubits[qubit]
        p01, p10 = float(q["readout_p01"]), float(q["readout_p10"])
        inverse = np.linalg.inv(np.array([[1 - p01, p10], [p01, 1 - p10]]))
        probabilities = np.moveaxis(
            np.tensordot(inverse, probabilities, axes=([1], [clbit])), 0, clbit
        )
    quasi: dict[str, float] = {}
    for where in zip(*np.nonzero(np.abs(probabilities) > 1e-12), strict=True):
        key = "".join(str(b) for b in reversed(where))
        quasi[key] = float(probabilities[where])
    return Mitigation(quasi)


def success_probability(quasi_or_counts: Mapping[str, float], outcomes: Sequence[str]) -> float:
    """Share of the distribution on the given outcomes."""
    total = sum(quasi_or_counts.values())
    return sum(quasi_or_counts.get(o, 0.0) for o in outcomes) / total if total else math.nan
