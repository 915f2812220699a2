"""A twin's Aer noise model matches its calibration."""

from __future__ import annotations

import pytest
from qiskit.quantum_info import average_gate_fidelity
from qiskit_aer.noise import thermal_relaxation_error

from qharbor.engines import noise
from tests.unit.devices.twins.documents import document


def test_gate_error_matches_the_calibrated_infidelity() -> None:
    relaxation = thermal_relaxation_error(80e-6, 60e-6, 35e-9)
    channel = noise.gate_error(2e-3, relaxation, 1)
    assert 1 - average_gate_fidelity(channel.to_quantumchannel()) == pytest.approx(2e-3, rel=1e-3)


def test_the_model_covers_only_the_simulated_qubits_with_their_readout_errors() -> None:
    doc = document()
    model = noise.noise_model(doc, [3, 4])
    q3 = doc.calibration.qubits[3]
    readout = model._local_readout_errors[(0,)]
    assert readout.probabilities[0][1] == pytest.approx(q3.readout_p01)
    assert readout.probabilities[1][0] == pytest.approx(q3.readout_p10)
    assert set(model.noise_qubits) == {0, 1}
