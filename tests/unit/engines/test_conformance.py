"""Every registered engine, at every precision it offers, against Qiskit's own answers.

The same circuits go to every engine. Sampled distributions must agree with the
exact distribution within 5 standard deviations per outcome (fixed seeds), state
vectors and expectation values with ``qiskit.quantum_info``, and counts must be
keyed in Qiskit's bit order. An engine that refuses a circuit must say why
(``unsupported``); which engines may refuse which circuits is pinned down below,
so a refusal cannot hide a failure.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp, Statevector

from qharbor import errors
from qharbor.engines import Experiment, base
from qharbor.engines.features import features_of
from tests.unit.engines.conformance_circuits import (
    assert_matches,
    clifford_dynamic,
    clifford_mix,
    exact_counts,
    fidelity,
    ghz,
    h_rz_sx,
    mixed,
    parametric,
    phase_heavy,
    sign_probe,
)

SHOTS = 2000
METHOD = "statevector"
CASES = [
    pytest.param(name, precision, id=f"{name}-{precision}")
    for name in base.registered()
    for precision in sorted(base.get_engine(name).precisions)
]
#: Amplitude tolerance per precision (fidelity is checked to 1e-9 and 1e-5).
ATOL = {"double": 1e-10, "single": 2e-6}
#: Engines that sample only final measurements, and those for Clifford circuits only.
FINAL_ONLY = {"qulacs", "qsim"}
CLIFFORD_ONLY = {"stim"}


# ---------------------------------------------------------------- helpers


def runs(name: str, precision: str, circuit: QuantumCircuit) -> bool:
    """Whether the engine takes the circuit; if not, it must say why."""
    reason = base.get_engine(name).unsupported(features_of(circuit), METHOD, precision)
    if reason is None:
        return True
    assert isinstance(reason, str) and len(reason) > 10
    return False


def sample(
    name: str, precision: str, circuit: QuantumCircuit, seed: int = 11, shots: int = SHOTS
) -> dict[str, int]:
    engine = base.get_engine(name)
    [[outcome]] = engine.run(
        [Experiment(circuit)], method=METHOD, shots=shots, seed=seed, precision=precision
    )
    return outcome.counts


def need(name: str, precision: str, circuit: QuantumCircuit) -> None:
    if not runs(name, precision, circuit):
        pytest.skip(
            f"{name} refuses this circuit, as pinned in test_refusals_are_the_expected_ones"
        )


def capability(name: str, method: str) -> Any:
    engine = base.get_engine(name)
    if not hasattr(engine, method):
        pytest.skip(f"{name} has no {method}")
    return getattr(engine, method)


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_refusals_are_the_expected_ones(name: str, precision: str) -> None:
    general = [mixed(), sign_probe("rx", 0.5), parametric()[0]]
    clifford = [ghz(5), clifford_mix()]
    dynamic = [clifford_dynamic()]
    for circuit in clifford:
        assert runs(name, precision, circuit)
    for circuit in general:
        assert runs(name, precision, circuit) == (name not in CLIFFORD_ONLY)
    for circuit in dynamic:
        assert runs(name, precision, circuit) == (name not in FINAL_ONLY)


@pytest.mark.parametrize("name", [n for n in base.registered() if n != "aer"])
def test_an_engine_refuses_precisions_and_methods_it_lacks(name: str) -> None:
    engine = base.get_engine(name)
    features = features_of(ghz(2))
    for precision in set(base.PRECISIONS) - engine.precisions:
        assert precision in (engine.unsupported(features, METHOD, precision) or "")
    method_reason = engine.unsupported(features, "density_matrix", min(engine.precisions))
    assert "density_matrix" in (method_reason or "")


def test_stim_refuses_a_t_gate_and_says_so() -> None:
    circuit = QuantumCircuit(1, 1)
    circuit.t(0)
    circuit.measure(0, 0)
    reason = base.get_engine("stim").unsupported(features_of(circuit), "stabilizer", "double")
    assert reason is not None and "Clifford" in reason and "t" in reason
    with pytest.raises(errors.ExecutionError):
        base.get_engine("stim").run([Experiment(circuit)], method="stabilizer", shots=1, seed=1)


@pytest.mark.parametrize("name", sorted(FINAL_ONLY))
def test_final_only_engines_refuse_to_run_mid_circuit_measurement(name: str) -> None:
    engine = base.get_engine(name)
    precision = min(engine.precisions)
    with pytest.raises(errors.ExecutionError):
        engine.run(
            [Experiment(clifford_dynamic())], method=METHOD, shots=10, seed=1, precision=precision
        )


# ---------------------------------------------------------------- distributions


@pytest.mark.parametrize(("name", "precision"), CASES)
@pytest.mark.parametrize(
    "circuit",
    [ghz(5), clifford_mix(), mixed(), sign_probe("rzz", 0.9)],
    ids=["ghz5", "clifford", "mixed", "rzz"],
)
def test_distribution_matches_the_exact_one(
    name: str, precision: str, circuit: QuantumCircuit
) -> None:
    if circuit.num_clbits == 0:
        circuit = circuit.copy()
        circuit.measure_all()
    need(name, precision, circuit)
    assert_matches(sample(name, precision, circuit), exact_counts(circuit), SHOTS)


@pytest.mark.parametrize(("name", "precision"), CASES)
@pytest.mark.parametrize("gate", ["rx", "ry", "rz", "p", "rzz", "rxx", "ryy", "rzx", "cp", "crz"])
def test_rotation_sign_follows_qiskit(name: str, precision: str, gate: str) -> None:
    plus, minus = sign_probe(gate, 1.2), sign_probe(gate, -1.2)
    expected, flipped = exact_counts(plus), exact_counts(minus)
    # The probe can tell the signs apart, so an engine with the opposite sign fails.
    assert max(abs(expected.get(k, 0) - flipped.get(k, 0)) for k in expected | flipped) > 0.05
    need(name, precision, plus)
    assert_matches(sample(name, precision, plus), expected, SHOTS)


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_h_rz_sx_is_deterministic_with_qiskit_sign(name: str, precision: str) -> None:
    need(name, precision, h_rz_sx(math.pi / 2))
    assert sample(name, precision, h_rz_sx(math.pi / 2)) == {"0": SHOTS}
    assert sample(name, precision, h_rz_sx(-math.pi / 2)) == {"1": SHOTS}


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_mid_circuit_measurement_and_reset(name: str, precision: str) -> None:
    circuit = clifford_dynamic()
    need(name, precision, circuit)
    counts = sample(name, precision, circuit)
    assert set(counts) == {"000", "111"}
    assert abs(counts["000"] - SHOTS / 2) <= 5 * math.sqrt(SHOTS / 4)


# ---------------------------------------------------------------- bit order


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_x_on_qubit_zero_sets_the_rightmost_bit(name: str, precision: str) -> None:
    circuit = QuantumCircuit(3, 3)
    circuit.x(0)
    circuit.measure(range(3), range(3))
    assert sample(name, precision, circuit) == {"001": SHOTS}


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_measurement_into_permuted_partial_and_extra_clbits(name: str, precision: str) -> None:
    circuit = QuantumCircuit(3, 5)
    circuit.x(0)
    circuit.x(2)
    circuit.measure(0, 3)  # qubit 0 -> clbit 3
    circuit.measure(1, 0)  # qubit 1 -> clbit 0
    # qubit 2 is not measured; clbits 1, 2 and 4 are never written
    assert sample(name, precision, circuit) == {"01000": SHOTS}


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_registers_are_separated_as_qiskit_does(name: str, precision: str) -> None:
    q = QuantumRegister(3, "q")
    low, high = ClassicalRegister(2, "low"), ClassicalRegister(1, "high")
    circuit = QuantumCircuit(q, low, high)
    circuit.x(q[1])
    circuit.x(q[2])
    circuit.measure(q[0], low[0])
    circuit.measure(q[1], low[1])
    circuit.measure(q[2], high[0])
    assert sample(name, precision, circuit) == {"1 10": SHOTS}


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_the_last_write_to_a_clbit_wins(name: str, precision: str) -> None:
    circuit = QuantumCircuit(2, 1)
    circuit.x(1)
    circuit.measure(0, 0)
    circuit.measure(1, 0)
    assert sample(name, precision, circuit) == {"1": SHOTS}


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_a_circuit_without_measurements_gives_empty_counts(name: str, precision: str) -> None:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    assert sample(name, precision, circuit) == {}


# ---------------------------------------------------------------- seeds and bindings


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_same_seed_same_counts_other_seed_other_counts(name: str, precision: str) -> None:
    circuit = QuantumCircuit(4, 4)
    circuit.h(range(4))
    circuit.measure(range(4), range(4))
    first = sample(name, precision, circuit, seed=5, shots=500)
    assert sample(name, precision, circuit, seed=5, shots=500) == first
    assert sample(name, precision, circuit, seed=6, shots=500) != first


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_bindings_run_in_order_and_each_reported_seed_reproduces_its_run(
    name: str, precision: str
) -> None:
    theta = Parameter("theta")
    circuit = QuantumCircuit(1, 1)
    circuit.rx(theta, 0)
    circuit.measure(0, 0)
    need(name, precision, circuit)
    engine = base.get_engine(name)
    bindings = ({"theta": math.pi}, {"theta": 0.0}, {"theta": math.pi / 2})
    [outcomes] = engine.run(
        [Experiment(circuit, bindings)], method=METHOD, shots=SHOTS, seed=3, precision=precision
    )
    assert len({o.seed for o in outcomes}) == 3
    assert outcomes[0].counts == {"1": SHOTS}
    assert outcomes[1].counts == {"0": SHOTS}
    assert abs(outcomes[2].counts["1"] - SHOTS / 2) <= 5 * math.sqrt(SHOTS / 4)
    [[alone]] = engine.run(
        [Experiment(circuit, bindings[2:])],
        method=METHOD,
        shots=SHOTS,
        seed=outcomes[2].seed,
        precision=precision,
    )
    assert alone.counts == outcomes[2].counts


# ---------------------------------------------------------------- exact paths


@pytest.mark.parametrize(("name", "precision"), CASES)
@pytest.mark.parametrize("build", [mixed, h_rz_sx], ids=["mixed", "h_rz_sx"])
def test_state_vector_equals_qiskit_with_its_phase(
    name: str, precision: str, build: Callable[..., QuantumCircuit]
) -> None:
    statevectors = capability(name, "statevectors")
    circuit = build() if build is mixed else build(0.8)
    need(name, precision, circuit)
    [vector] = statevectors(circuit, [], precision=precision)
    reference = Statevector(circuit.remove_final_measurements(inplace=False)).data
    assert fidelity(vector, reference) > 1 - (1e-9 if precision == "double" else 1e-5)
    np.testing.assert_allclose(vector, reference, atol=ATOL[precision])


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_a_wide_circuit_state_equals_qiskit(name: str, precision: str) -> None:
    """16 qubits: the width from which engines fuse gates and use every core."""
    statevectors = capability(name, "statevectors")
    rng = np.random.default_rng(5)
    circuit = QuantumCircuit(16)
    for layer in range(3):
        for q in range(16):
            circuit.u(*rng.uniform(0, 2 * np.pi, 3), q)
        for q in range(layer % 2, 15, 2):
            circuit.cx(q, q + 1)
        circuit.cp(0.7, 0, 15)
        circuit.rzz(0.3, 3, 9)
    need(name, precision, circuit)
    [vector] = statevectors(circuit, [], precision=precision)
    reference = Statevector(circuit).data
    assert fidelity(vector, reference) > 1 - (1e-9 if precision == "double" else 1e-5)
    np.testing.assert_allclose(vector, reference, atol=ATOL[precision])


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_a_wide_phase_heavy_circuit_state_equals_qiskit(name: str, precision: str) -> None:
    """A QFT-like circuit of 16 qubits, whose runs of diagonal gates engines may merge."""
    statevectors = capability(name, "statevectors")
    circuit = phase_heavy()
    need(name, precision, circuit)
    [vector] = statevectors(circuit, [], precision=precision)
    reference = Statevector(circuit).data
    assert fidelity(vector, reference) > 1 - (1e-9 if precision == "double" else 1e-5)
    np.testing.assert_allclose(vector, reference, atol=ATOL[precision])


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_a_wide_phase_heavy_circuit_measured_on_a_subset_samples_exactly(
    name: str, precision: str
) -> None:
    body = phase_heavy()
    circuit = QuantumCircuit(body.num_qubits, 4)
    circuit.compose(body, inplace=True)
    circuit.measure([15, 3, 8, 0], [0, 1, 2, 3])  # a subset, out of order
    need(name, precision, circuit)
    assert_matches(sample(name, precision, circuit), exact_counts(circuit), SHOTS)


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_state_vectors_per_binding_equal_qiskit(name: str, precision: str) -> None:
    statevectors = capability(name, "statevectors")
    circuit, bindings = parametric()
    need(name, precision, circuit)
    for chosen in (bindings, bindings[1:]):
        vectors = statevectors(circuit, chosen, precision=precision)
        assert len(vectors) == len(chosen)
        for vector, binding in zip(vectors, chosen, strict=True):
            bound = circuit.assign_parameters({p: binding[p.name] for p in circuit.parameters})
            np.testing.assert_allclose(vector, Statevector(bound).data, atol=ATOL[precision])


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_expectation_values_equal_qiskit(name: str, precision: str) -> None:
    expectation_values = capability(name, "expectation_values")
    circuit, bindings = parametric()
    need(name, precision, circuit)
    observables = [
        SparsePauliOp.from_list([("ZII", 1.0), ("IXY", 0.5), ("III", 0.25)]),
        SparsePauliOp.from_sparse_list([("Z", [q], 1.0) for q in range(3)], 3),
        SparsePauliOp("XZY"),
        SparsePauliOp.from_list([("ZZI", -0.7), ("ZIZ", 0.3), ("III", 1.5)]),
    ]
    values = expectation_values(circuit, bindings, observables, precision=precision)
    assert np.shape(values) == (len(bindings), len(observables))
    for row, binding in zip(values, bindings, strict=True):
        state = Statevector(
            circuit.assign_parameters({p: binding[p.name] for p in circuit.parameters})
        )
        expected = [state.expectation_value(o).real for o in observables]
        np.testing.assert_allclose(row, expected, atol=1e-9 if precision == "double" else 1e-5)


@pytest.mark.parametrize("name", [n for n in base.registered() if n != "aer"])
def test_the_kth_run_of_a_job_samples_with_seed_plus_k(name: str) -> None:
    engine = base.get_engine(name)
    circuit = QuantumCircuit(2, 2)
    circuit.h([0, 1])
    circuit.measure([0, 1], [0, 1])
    runs = engine.run(
        [Experiment(circuit), Experiment(circuit, ({}, {})), Experiment(circuit)],
        method=METHOD,
        shots=200,
        seed=40,
        precision=min(engine.precisions),
    )
    assert [[o.seed for o in r] for r in runs] == [[40], [41, 42], [43]]
    assert runs[2][0].counts == sample(name, min(engine.precisions), circuit, seed=43, shots=200)
