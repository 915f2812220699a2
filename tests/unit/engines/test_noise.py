"""A twin's Aer noise model matches its calibration."""

from __future__ import annotations

import math

import pytest
from qiskit.quantum_info import DensityMatrix, SuperOp, average_gate_fidelity
from qiskit_aer.noise import thermal_relaxation_error

from qharbor.devices.twins.calibration import QubitCalibration
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


def test_each_qubit_of_a_two_qubit_gate_relaxes_with_its_own_t1() -> None:
    # Qubit 0 relaxes in 0.1 µs, qubit 1 in 100 µs; over 1 µs an excited qubit 0
    # must decay (to exp(-10)) and an excited qubit 1 must barely change.
    fast = QubitCalibration(t1_us=0.1, t2_us=0.1, frequency_ghz=5.0, readout_p01=0, readout_p10=0)
    slow = QubitCalibration(t1_us=100, t2_us=100, frequency_ghz=5.0, readout_p01=0, readout_p10=0)
    channel = SuperOp(noise.relaxation_during([fast, slow], 1e-6))
    qubit0_excited = DensityMatrix.from_label("01").evolve(channel)
    qubit1_excited = DensityMatrix.from_label("10").evolve(channel)
    assert qubit0_excited.probabilities([0])[1] == pytest.approx(math.exp(-10), rel=1e-6)
    assert qubit1_excited.probabilities([1])[1] == pytest.approx(math.exp(-0.01), rel=1e-6)
