"""A twin's timing model: circuit durations, shot and job overheads, jitter."""

from __future__ import annotations

import pytest
from qiskit import QuantumCircuit

from qharbor.devices.twins import timing
from tests.unit.devices.twins.documents import document


def test_estimate_counts_shots_circuit_duration_and_overheads() -> None:
    doc = document()
    circuit = QuantumCircuit(2, 2)
    circuit.sx(0)
    circuit.cz(0, 1)
    circuit.measure([0, 1], [0, 1])
    per_shot = (35 + 220 + 1200) * 1e-9 + 250e-6
    assert timing.estimate_qpu_s(doc, [circuit], 100) == pytest.approx(1.5 + 100 * per_shot)
    modelled = timing.modelled_qpu_s(doc, [circuit], 100, seed=4)
    assert modelled == timing.modelled_qpu_s(doc, [circuit], 100, seed=4)
    assert modelled == timing.modelled_qpu_s(doc.to_json(), [circuit], 100, seed=4)
    assert abs(modelled / timing.estimate_qpu_s(doc, [circuit], 100) - 1) <= 0.05
