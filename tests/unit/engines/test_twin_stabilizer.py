"""The stabilizer twin: Pauli-noisy Clifford circuits sampled by stim, checked against Aer."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator
from qiskit_aer.noise import pauli_error

from qharbor.devices.twins.target import target
from qharbor.engines import twin, twin_sampling, twin_stabilizer
from tests.unit.devices.twins.documents import document, ghz

SHOTS = 4000


def _ones_per_bit(bits: np.ndarray) -> np.ndarray:
    return bits.mean(axis=0)


def _aer_bits(circuit: QuantumCircuit, seed: int) -> np.ndarray:
    counts = AerSimulator(method="stabilizer").run(circuit, shots=SHOTS, seed_simulator=seed)
    return twin_sampling.bits_of(counts.result().get_counts(), circuit.num_clbits)


def _stim_bits(circuit: QuantumCircuit, seed: int) -> np.ndarray:
    program, record_of = twin_stabilizer.StimTranslator().translate(circuit)
    return twin_stabilizer.sample(program, record_of, SHOTS, seed)


def _asymmetric_noise() -> QuantumCircuit:
    """Pauli channels whose every term shows in a different bit or pair of bits."""
    circuit = QuantumCircuit(4, 4)
    circuit.h(2)
    circuit.s(2)
    circuit.append(pauli_error([("XI", 0.3), ("IY", 0.1), ("ZX", 0.05), ("II", 0.55)]), [0, 1])
    circuit.append(pauli_error([("Y", 0.2), ("Z", 0.25), ("I", 0.55)]), [2])
    circuit.cx(1, 3)
    circuit.sdg(2)
    circuit.h(2)
    circuit.rz(np.pi, 3)  # a phase on a basis state: no change in counts
    circuit.measure(range(4), range(4))
    return circuit


def test_stim_draws_each_pauli_term_on_the_qubits_aer_does() -> None:
    """Bit by bit and for the correlated pair (1, 3), stim agrees with Aer's stabilizer."""
    circuit = _asymmetric_noise()
    ours, aer = _stim_bits(circuit, 3), _aer_bits(circuit, 3)
    sigma = np.sqrt(0.25 / SHOTS)
    # Qiskit's labels put qubit 0 rightmost: q0 flips with IY and ZX (0.15), q1 with XI
    # (0.3); q2, in the Y basis, is flipped by Z only (0.25); q3 copies q1.
    assert np.allclose(_ones_per_bit(ours), [0.15, 0.3, 0.25, 0.3], atol=5 * sigma)
    assert np.allclose(_ones_per_bit(ours), _ones_per_bit(aer), atol=7 * sigma)
    assert np.all(ours[:, 1] == ours[:, 3])


def test_pauli_channel_orders_two_qubit_terms_as_stim_does() -> None:
    name, arguments = twin_stabilizer.pauli_channel(pauli_error([("XZ", 1.0)]))
    # Qiskit's "XZ" is Z on qubit 0 (stim's first target) and X on qubit 1: stim's "ZX".
    assert name == "PAULI_CHANNEL_2"
    labels = [a + b for a in "IXYZ" for b in "IXYZ"][1:]
    assert dict(zip(labels, arguments, strict=True))["ZX"] == 1.0
    assert sum(arguments) == 1.0


def test_a_channel_that_is_not_pauli_is_refused() -> None:
    circuit = QuantumCircuit(1, 1)
    circuit.t(0)
    with pytest.raises(ValueError, match="cannot run 't'"):
        twin_stabilizer.StimTranslator().translate(circuit)


def test_the_stabilizer_twin_keeps_ghz_correlations_and_readout_rates() -> None:
    """GHZ-20 on sc25: mostly all-equal outcomes, and a |0> register reads 1 at p01."""
    doc = document("sc25")
    local = twin.LocalTwin(doc)
    compiled = transpile(ghz(20), target=target(doc), seed_transpiler=1)
    narrow, qubits = local.prepare(compiled)
    run = local.execute(narrow, qubits, shots=SHOTS, seed=4, method="stabilizer")
    assert sum(run.counts.values()) == SHOTS
    bits = twin_sampling.bits_of(run.counts, 20)
    all_equal = np.all(bits == bits[:, :1], axis=1)
    assert 0.3 < all_equal.mean() < 0.95  # dominated by the two GHZ outcomes, visibly noisy
    assert 0.4 < bits[all_equal, 0].mean() < 0.6  # all zeros and all ones, about equally

    idle = QuantumCircuit(20, 20)
    idle.measure(range(20), range(20))
    physical = list(range(20))
    run = local.execute(idle, physical, shots=SHOTS, seed=5, method="stabilizer")
    ones = _ones_per_bit(twin_sampling.bits_of(run.counts, 20))
    p01, _ = twin_sampling.readout_errors(doc, physical)
    sigma = np.sqrt(p01 * (1 - p01) / SHOTS)
    assert np.all(np.abs(ones - p01) < 5 * sigma + 1e-3), (ones, p01)
