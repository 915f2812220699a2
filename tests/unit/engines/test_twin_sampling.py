"""Shots the twin draws itself: readout per shot, and shots from saved trajectories."""

from __future__ import annotations

from collections import Counter

import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector
from qiskit_aer import AerSimulator
from qiskit_aer.library import SaveMatrixProductState
from qiskit_aer.noise import NoiseModel, ReadoutError, pauli_error

from qharbor.engines import twin, twin_sampling
from tests.unit.devices.twins.documents import document


def _two_branches() -> QuantumCircuit:
    """Qubit 0 flips in half the shots (two noise branches); qubit 1 is idle."""
    circuit = QuantumCircuit(2, 2)
    circuit.append(pauli_error([("X", 0.5), ("I", 0.5)]), [0])
    circuit.measure([0, 1], [0, 1])
    return circuit


def _ones_on_bit_1(counts: dict[str, int]) -> int:
    return sum(n for key, n in counts.items() if key[0] == "1")


def test_aer_shot_branching_shares_readout_flips_within_a_branch() -> None:
    """The reason the twin draws readout itself: Aer 0.18 flips a whole branch at once.

    Qubit 1 reads 1 with probability 0.3 in every shot, so of 1000 shots about
    300 (standard deviation 14.5) read 1. With shot branching Aer flips whole
    groups of shots together, and the number lands far from 300 (0, 500 or
    1000 of 1000 in some runs).
    """
    model = NoiseModel()
    model.add_readout_error(ReadoutError([[0.7, 0.3], [0.3, 0.7]]), [1])
    plain = AerSimulator(method="statevector", noise_model=model)
    branching = AerSimulator(
        method="statevector",
        noise_model=model,
        shot_branching_enable=True,
        shot_branching_sampling_enable=True,
    )
    seeds = range(1, 5)
    right = [_ones_on_bit_1(plain.run(_two_branches(), shots=1000, seed_simulator=s)
                            .result().get_counts()) for s in seeds]  # fmt: skip
    shared = [_ones_on_bit_1(branching.run(_two_branches(), shots=1000, seed_simulator=s)
                             .result().get_counts()) for s in seeds]  # fmt: skip
    assert all(abs(n - 300) < 60 for n in right), right
    assert any(abs(n - 300) > 100 for n in shared), shared  # beyond 7 standard deviations


def test_readout_flipped_per_shot_after_branching_is_right() -> None:
    branching = AerSimulator(
        method="statevector", shot_branching_enable=True, shot_branching_sampling_enable=True
    )
    ideal = branching.run(_two_branches(), shots=4000, seed_simulator=3).result().get_counts()
    bits = twin_sampling.bits_of(ideal, 2)
    flipped = twin_sampling.flip_readout(
        bits, {0: 0, 1: 1}, np.array([0.0, 0.3]), np.array([0.0, 0.3]), np.random.default_rng(1)
    )
    counts = twin_sampling.counts_of(flipped)
    assert sum(counts.values()) == 4000
    assert abs(_ones_on_bit_1(counts) - 1200) < 120  # 0.3 of 4000, about 4 sigma
    assert abs(sum(n for k, n in counts.items() if k[1] == "1") - 2000) < 150


def test_counts_round_trip_through_bits() -> None:
    counts = {"0110": 3, "1000": 2, "0001": 5}
    assert twin_sampling.counts_of(twin_sampling.bits_of(counts, 4)) == counts


def test_shots_drawn_from_a_saved_matrix_product_state_follow_its_amplitudes() -> None:
    """Against qiskit.quantum_info's state vector, with a long-range gate included."""
    rng = np.random.default_rng(5)
    circuit = QuantumCircuit(5)
    for layer in range(3):
        for q in range(5):
            circuit.ry(rng.uniform(0, 3), q)
            circuit.rz(rng.uniform(0, 3), q)
        for q in range(layer % 2, 4, 2):
            circuit.cx(q, q + 1)
    circuit.cx(0, 4)
    exact = Statevector(circuit).probabilities_dict()
    saving = circuit.copy()
    saving.append(SaveMatrixProductState(5, label="m", pershot=True), saving.qubits)
    saved = AerSimulator(method="matrix_product_state").run(saving, shots=1).result()
    gammas, lambdas = saved.data(0)["m"][0]
    shots = 40_000
    drawn = twin_sampling.sample_mps(gammas, lambdas, shots, rng)
    got = Counter("".join(map(str, row[::-1])) for row in drawn)
    distance = sum(abs(exact.get(k, 0) - got.get(k, 0) / shots) for k in set(exact) | set(got))
    assert distance / 2 < 0.02


def test_grouped_trajectories_agree_with_the_density_matrix() -> None:
    """Shots shared among trajectories still follow the exact noisy distribution."""
    from tests.unit.devices.twins.documents import ghz
    from tests.unit.engines.test_twin_methods import _compiled

    local = twin.LocalTwin(document("sc25"))
    narrow, qubits = local.prepare(_compiled(ghz(5)))
    shots = 4000
    exact = local.execute(narrow, qubits, shots=shots, seed=1, method="density_matrix")
    grouped = local.execute(
        narrow, qubits, shots=shots, seed=2, method="matrix_product_state", shots_per_trajectory=8
    )
    assert grouped.choice.approximate and grouped.choice.shots_per_trajectory == 8
    assert sum(grouped.counts.values()) == shots
    keys = set(exact.counts) | set(grouped.counts)
    distance = sum(abs(exact.counts.get(k, 0) - grouped.counts.get(k, 0)) for k in keys)
    assert distance / (2 * shots) < 0.08
