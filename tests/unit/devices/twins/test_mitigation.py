"""Tensored readout mitigation with a twin's calibrated assignment errors."""

from __future__ import annotations

import pytest
from qiskit import QuantumCircuit

from qharbor.devices.twins import mitigation
from tests.unit.devices.twins.documents import document


def test_tensored_mitigation_inverts_the_assignment_matrices() -> None:
    doc = document()
    q0 = doc.calibration.qubits[0]
    p01, p10 = q0.readout_p01, q0.readout_p10
    circuit = QuantumCircuit(1, 1)
    circuit.measure(0, 0)
    # Prepared |1>: the device reads 0 with probability p10.
    counts = {"1": round(10000 * (1 - p10)), "0": round(10000 * p10)}
    quasi = mitigation.mitigate(doc, circuit, counts).quasi_probabilities
    assert quasi["1"] == pytest.approx(1.0, abs=1e-3)
    assert sum(quasi.values()) == pytest.approx(1.0)
    assert p01 > 0
