"""Readout mitigation with a twin's calibrated assignment errors."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit

from qharbor.devices.twins import document as documents


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


def mitigate(
    document: documents.DocumentLike,
    circuit: QuantumCircuit,
    counts: Mapping[str, int],
) -> Mitigation:
    """Invert each measured qubit's assignment matrix (tensored mitigation).

    Args:
        document: the twin document whose calibration gives the assignment matrices.
        circuit: the compiled circuit, on physical qubits.
        counts: the raw counts, in Qiskit's bit order (clbit 0 rightmost).

    Returns:
        Quasi-probabilities over the same bit strings (register spaces removed).
        They sum to one but may be slightly negative.
    """
    qubits = documents.read(document).calibration.qubits
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
        p01, p10 = q.readout_p01, q.readout_p10
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
