"""Readout mitigation: TREX factors for the estimator, M3 quasi-probabilities for the sampler.

TREX (twirled readout error extinction): with measurements twirled, readout
error multiplies the value of each Pauli term by a factor of its own. The same
twirled measurements on ``|0…0⟩``, where every Z-type term is exactly 1, read
that factor, and each term measured on the circuit is divided by it.

M3 (matrix-free measurement mitigation) corrects a sampler's counts with the
calibration's assignment matrices, solving only in the space of the bit strings
observed; it is `mthree <https://github.com/Qiskit/qiskit-addon-mthree>`_'s
solver, with the matrices of the calibration snapshot the job ran on.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from qharbor.devices.twins import document as documents
from qharbor.devices.twins.mitigation import measured_qubits


def calibration_circuit(compiled: QuantumCircuit) -> QuantumCircuit:
    """The compiled circuit's final measurements alone, on the same physical qubits:
    the state ``|0…0⟩`` read as the circuit is read."""
    out = compiled.copy_empty_like()
    for instruction in compiled.data:
        if instruction.operation.name == "measure":
            out.append(instruction)
    return out


def quasi_probabilities(
    document: documents.DocumentLike, compiled: QuantumCircuit, counts: Mapping[str, int]
) -> dict[str, Any]:
    """M3-corrected quasi-probabilities of one run, with mthree's uncertainty.

    Args:
        document: the twin document whose calibration gives the assignment matrices.
        compiled: the circuit that ran, on physical qubits.
        counts: its counts, keys as the engine gives them (clbit 0 rightmost).

    Returns:
        ``quasi_dist`` (bit string to quasi-probability; they sum to 1 and may be
        slightly negative), ``stddev_upper_bound`` (an upper bound on the
        standard error of any expectation value taken from it) and
        ``mitigation_overhead`` (the factor by which the shots' variance grows).
    """
    import mthree

    width = compiled.num_clbits
    shots = sum(counts.values())
    measured = measured_qubits(compiled)
    if not measured or shots == 0:
        return {"quasi_dist": {}, "stddev_upper_bound": 0.0, "mitigation_overhead": 1.0}
    clbits = sorted(measured)  # reduced key: the measured bits, clbit 0 rightmost
    reduced: dict[str, int] = {}
    for key, count in counts.items():
        bits = key.replace(" ", "").rjust(width, "0")
        short = "".join(bits[width - 1 - c] for c in reversed(clbits))
        reduced[short] = reduced.get(short, 0) + count
    calibration = documents.read(document).calibration.qubits
    mitigator = mthree.M3Mitigation()
    mitigator.single_qubit_cals = [
        np.array(
            [[1 - q.readout_p01, q.readout_p10], [q.readout_p01, 1 - q.readout_p10]],
            dtype=np.float32,
        )
        for q in calibration
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mthree notes its solver choice
        quasi = mitigator.apply_correction(
            reduced, [measured[c] for c in clbits], return_mitigation_overhead=True
        )
    expanded: dict[str, float] = {}
    for short, value in quasi.items():
        letters = ["0"] * width
        for position, clbit in enumerate(reversed(clbits)):
            letters[width - 1 - clbit] = short[position]
        expanded["".join(letters)] = float(value)
    return {
        "quasi_dist": expanded,
        "stddev_upper_bound": float(quasi.stddev()),
        "mitigation_overhead": float(quasi.mitigation_overhead),
    }
