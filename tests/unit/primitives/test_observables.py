"""Pauli grouping into measurement bases, and estimates from counts."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_aer import AerSimulator

from qharbor.primitives import observables as obs

H2_LABELS = [
    "IIII", "IIIZ", "IIZI", "IIZZ", "IZII", "IZIZ", "IZZI", "ZIII",
    "ZIIZ", "ZIZI", "ZZII", "XXXX", "XXYY", "YYXX", "YYYY",
]  # fmt: skip


def test_h2_terms_need_five_bases_and_every_term_has_one() -> None:
    bases, where = obs.group_terms(H2_LABELS)
    assert len(bases) == 5
    assert set(where) == set(H2_LABELS) - {"IIII"}
    for label, index in where.items():
        basis = bases[index].label
        assert all(p in ("I", b) for p, b in zip(label, basis, strict=True))


def test_identity_only_observables_need_no_basis() -> None:
    assert obs.group_terms(["III"]) == ([], {})


def test_support_mask_reads_qubit_zero_on_the_right() -> None:
    assert obs.support_mask("IZX") == 0b011
    assert obs.support_mask("YII") == 0b100


def test_a_basis_circuit_rotates_x_and_y_and_measures_only_the_qubits_it_reads() -> None:
    base = QuantumCircuit(3)
    circuit = obs.Basis("YXI").circuit(base)
    assert circuit.count_ops() == {"h": 2, "sdg": 1, "measure": 2}
    measured = [circuit.find_bit(i.qubits[0]).index for i in circuit.data if i.name == "measure"]
    assert measured == [1, 2]
    assert [r.name for r in circuit.cregs] == [obs.MEASURE_REGISTER]


def test_estimates_agree_with_the_exact_value_within_their_error() -> None:
    circuit = QuantumCircuit(2)
    circuit.ry(0.7, 0)
    circuit.cx(0, 1)
    circuit.rx(0.3, 1)
    observable = {"ZZ": 0.8, "XX": -0.4, "YY": 0.3, "IZ": 0.5, "II": 1.5}
    bases, where = obs.group_terms(list(observable))
    shots = 20_000
    counts = [
        AerSimulator(seed_simulator=7).run(b.circuit(circuit), shots=shots).result().get_counts()
        for b in bases
    ]
    value, error = obs.estimate(observable, 2, where, counts)
    exact = Statevector(circuit).expectation_value(obs.to_sparse(observable, 2)).real
    assert error > 0
    assert abs(value - exact) <= 5 * error
    # About sqrt(sum of variances / shots): the right order of magnitude.
    assert 0.001 < error < 0.02


def test_a_deterministic_outcome_has_no_error() -> None:
    value, error = obs.estimate({"ZI": 2.0}, 2, {"ZI": 0}, [{"00": 100}])
    assert (value, error) == (2.0, 0.0)
    value, error = obs.estimate({"ZI": 2.0}, 2, {"ZI": 0}, [{"10": 100}])
    assert value == -2.0


@pytest.mark.parametrize("width", [2, 4])
def test_short_labels_are_padded_with_identities(width: int) -> None:
    op = obs.to_sparse({"Z": 1.0}, width)
    assert op.paulis.to_labels() == ["I" * (width - 1) + "Z"]
    assert np.isclose(op.coeffs[0], 1.0)


@pytest.mark.parametrize("seed", range(10))
def test_observables_read_on_the_active_qubits_equal_the_full_state(seed: int) -> None:
    """Random Pauli sums on 6 qubits, 3 of them idle: the restricted observable on
    the narrow state gives ``Statevector``'s value on the full state."""
    rng = np.random.default_rng(seed)
    width = 6
    active = sorted(rng.choice(width, size=3, replace=False).tolist())
    narrow = random_circuit(3, 4, seed=seed)
    full = QuantumCircuit(width)
    full.compose(narrow, active, inplace=True)
    labels = ["".join(rng.choice(list("IXYZ"), size=width)) for _ in range(8)]
    labels += ["I" * width, labels[0]]  # the identity, and a label twice
    coeffs = rng.normal(size=len(labels))
    observable = dict(zip(labels[:-1], coeffs[:-1], strict=True))
    observable[labels[0]] += coeffs[-1]
    expected = Statevector(full).expectation_value(SparsePauliOp(labels, coeffs))
    restricted = obs.restrict(observable, width, active)
    assert all(len(label) == len(active) for label in restricted)
    value = Statevector(narrow).expectation_value(obs.to_sparse(restricted, len(active)))
    assert abs(value - expected) < 1e-12
