"""Which Aer method a twin circuit runs on, and why."""

from __future__ import annotations

import math

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.quantum_info import Chi

from qharbor.devices.twins.target import target
from qharbor.engines import noise, twin, twin_circuits, twin_methods
from tests.unit.devices.twins.documents import document, ghz


def _shape(circuit: QuantumCircuit) -> twin_methods.TwinShape:
    return twin_methods.shape_of(twin.compact(circuit)[0])


def _compiled(circuit: QuantumCircuit, name: str = "sc25") -> QuantumCircuit:
    return transpile(circuit, target=target(document(name)), seed_transpiler=1)


def _hardware_efficient(n: int, depth: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n, n)
    for layer in range(depth):
        for q in range(n):
            circuit.ry(0.3 + 0.1 * q + 0.05 * layer, q)
        for q in range(layer % 2, n - 1, 2):
            circuit.cx(q, q + 1)
    circuit.measure(range(n), range(n))
    return circuit


def test_a_small_register_runs_as_a_density_matrix() -> None:
    choice = twin_methods.choose(_shape(_compiled(ghz(5))), 1000)
    assert choice.method == "density_matrix"
    assert "fastest exact method for 5 qubits" in choice.reason
    assert not choice.approximate


def test_a_mid_size_non_clifford_circuit_runs_as_noisy_state_vectors() -> None:
    choice = twin_methods.choose(_shape(_compiled(_hardware_efficient(12, 14))), 200)
    assert choice.method == "statevector"
    assert choice.estimates["statevector"] < choice.estimates["matrix_product_state"]


def test_a_wide_weakly_entangled_circuit_runs_as_a_matrix_product_state() -> None:
    # A line of rotations with one layer of neighbouring CX: bond dimension 2.
    circuit = QuantumCircuit(40, 40)
    for q in range(40):
        circuit.ry(0.2 + 0.01 * q, q)
    for q in range(0, 39, 2):
        circuit.cx(q, q + 1)
    circuit.measure(range(40), range(40))
    shape = twin_methods.shape_of(circuit)
    assert shape.bond == 2 and not shape.clifford
    choice = twin_methods.choose(shape, 100)
    assert choice.method == "matrix_product_state"
    assert "bond dimension at most 2" in choice.reason


def test_a_wide_clifford_circuit_runs_on_the_stabilizer_with_twirled_noise() -> None:
    choice = twin_methods.choose(_shape(_compiled(ghz(20))), 1000)
    assert choice.method == "stabilizer"
    assert choice.approximate
    assert "Pauli-twirled" in choice.reason


def test_a_rotation_off_the_quarter_turns_is_not_clifford() -> None:
    circuit = QuantumCircuit(2)
    circuit.rz(math.pi / 2, 0)
    assert twin_methods.shape_of(circuit).clifford
    circuit.rz(0.1, 1)
    assert not twin_methods.shape_of(circuit).clifford


def test_the_direct_twirl_equals_the_twirl_of_the_gate_error() -> None:
    doc = document("sc25")
    calibration = doc.calibration.qubits
    for sites, duration, error in (((3,), 35e-9, 0.001), ((10, 11), 220e-9, 0.012)):
        relaxation = None
        for site in reversed(sites):  # a.expand(b) puts a on qubit 0: sites[0] last
            part = noise._relaxation(calibration[site], duration)
            relaxation = part if relaxation is None else part.expand(relaxation)
        reference = twin_circuits.pauli_twirl(noise.gate_error(error, relaxation, len(sites)))
        direct = twin_circuits.twirled_error([calibration[s] for s in sites], duration, error)
        a = np.real(np.diag(Chi(reference.to_quantumchannel()).data))
        b = np.real(np.diag(Chi(direct.to_quantumchannel()).data))
        assert np.allclose(a / a.sum(), b / b.sum(), atol=1e-12)


def test_ghz20_on_sc25_is_dominated_by_all_zeros_and_all_ones() -> None:
    doc = document("sc25")
    local = twin.LocalTwin(doc)
    shots = 2000
    run = local.execute(*local.prepare(_compiled(ghz(20))), shots=shots, seed=4)
    zeros, ones = run.counts.get("0" * 20, 0), run.counts.get("1" * 20, 0)
    # Readout alone keeps about (0.98^20 + 0.965^20) / 2 = 0.58 of the shots; gates
    # and relaxation lower it further, but the two GHZ outcomes stay far ahead.
    assert 0.2 < (zeros + ones) / shots < 0.62
    assert abs(zeros - ones) / shots < 0.15  # both halves, up to decay towards 0
    others = max(v for k, v in run.counts.items() if k not in ("0" * 20, "1" * 20))
    assert others < min(zeros, ones) / 5


@pytest.mark.parametrize("method", ["statevector", "matrix_product_state", "stabilizer"])
def test_each_trajectory_method_agrees_with_the_density_matrix(method: str) -> None:
    """The same noisy GHZ-6 distribution within statistical bounds (total variation)."""
    doc = document("sc25")
    local = twin.LocalTwin(doc)
    narrow, qubits = local.prepare(_compiled(ghz(6)))
    shots = 4000
    exact = local.execute(narrow, qubits, shots=shots, seed=1, method="density_matrix").counts
    other = local.execute(narrow, qubits, shots=shots, seed=2, method=method).counts
    keys = set(exact) | set(other)
    distance = sum(abs(exact.get(k, 0) - other.get(k, 0)) for k in keys) / (2 * shots)
    # Two samples of 4000 from one distribution over these outcomes differ by
    # about 0.04 in total variation; the twirl shifts weight by well under 0.03.
    assert distance < 0.08, (method, distance)


def test_qubits_are_laid_on_their_interaction_line_for_the_bond_bound() -> None:
    """A chain of CX on scattered grid qubits has the bond of a chain, not of the grid order."""
    shape = _shape(_compiled(_hardware_efficient(20, 10)))
    assert shape.qubits == 20
    assert shape.bond == 32  # five CX layers cross each cut of the chain


#: 30 entangled qubits: too wide for a state vector, a matrix product state only.
_WIDE = twin_methods.TwinShape(30, 2000, 100, 40, 32.0, False, False)


def test_an_exact_run_over_the_limit_shares_trajectories_among_shots() -> None:
    exact = twin_methods.choose(_WIDE, 4000)
    assert exact.method == "matrix_product_state" and exact.shots_per_trajectory == 1
    limit = exact.predicted_s / 4
    choice = twin_methods.choose(_WIDE, 4000, limit_s=limit)
    assert choice.method == "matrix_product_state" and choice.approximate
    assert choice.shots_per_trajectory > 1
    assert 4000 / choice.shots_per_trajectory >= twin_methods.MIN_TRAJECTORIES
    assert choice.predicted_s <= twin_methods.GROUPED_SHARE_OF_LIMIT * limit
    assert "noise trajectories of" in choice.reason


def test_sharing_that_fits_the_limit_but_not_its_margin_still_runs() -> None:
    """The most sharing allowed, predicted between the aimed share and the limit, is taken."""
    most = 1000 // twin_methods.MIN_TRAJECTORIES
    most = 2 ** (most.bit_length() - 1)  # shots per trajectory double from 2
    seconds = twin_methods.predict(
        "matrix_product_state",
        _WIDE,
        1000,
        twin_methods.DEFAULT_COEFFICIENTS,
        shots_per_trajectory=most,
    )
    limit = seconds / (1 + twin_methods.GROUPED_SHARE_OF_LIMIT) * 2  # seconds sits between
    assert twin_methods.GROUPED_SHARE_OF_LIMIT * limit < seconds <= limit
    choice = twin_methods.choose(_WIDE, 1000, limit_s=limit)
    assert choice.method == "matrix_product_state" and choice.shots_per_trajectory == most
    assert choice.predicted_s <= limit


def test_no_sharing_when_too_few_trajectories_would_remain() -> None:
    exact = twin_methods.choose(_WIDE, 1000)
    assert twin_methods.choose(_WIDE, 1000, limit_s=exact.predicted_s / 1e4) == exact


def test_mid_circuit_measurements_never_share_trajectories() -> None:
    circuit = _hardware_efficient(12, 4)
    circuit.measure(0, 0)
    circuit.x(0)
    circuit.measure(0, 0)
    shape = _shape(_compiled(circuit))
    assert not shape.final_measures
    assert twin_methods.choose(shape, 1000, limit_s=1e-3).shots_per_trajectory == 1
