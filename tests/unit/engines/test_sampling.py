"""Counts sampled from final states, against qiskit.quantum_info's probabilities."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import Statevector

from qharbor.engines.sampling import array_blocks, draw, sample_states


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sampled_counts_follow_the_state_s_probabilities_on_the_measured_bits(seed: int) -> None:
    unitary = random_circuit(3, 4, seed=seed)
    state = Statevector(unitary)
    # Qubit 0 lands in clbit 1 and qubit 1 in clbit 0; qubit 2 is not measured.
    circuit = QuantumCircuit(3, 2)
    circuit.compose(unitary, inplace=True)
    circuit.measure([0, 1], [1, 0])
    shots = 20_000
    (outcome,) = sample_states(circuit, [state.data], shots, seed, 0.25)
    expected = state.probabilities_dict(qargs=[1, 0])
    assert set(outcome.counts) <= set(expected)
    assert sum(outcome.counts.values()) == shots
    distance = 0.5 * sum(abs(outcome.counts.get(key, 0) / shots - p) for key, p in expected.items())
    # Four outcomes and 20,000 shots: the distance's spread is well under 0.01.
    assert distance < 0.02
    assert outcome.seed == seed and outcome.run_s >= 0.25


def test_each_state_samples_with_its_own_seed_and_repeats_exactly() -> None:
    circuit = QuantumCircuit(2, 2)
    circuit.h([0, 1])
    circuit.measure([0, 1], [0, 1])
    state = Statevector(circuit.remove_final_measurements(inplace=False)).data
    first, second = sample_states(circuit, [state, state], 500, 7, 0.0)
    assert (first.seed, second.seed) == (7, 8)
    assert second.counts == sample_states(circuit, [state], 500, 8, 0.0)[0].counts
    assert first.counts == sample_states(circuit, [state], 500, 7, 0.0)[0].counts
    assert first.counts != second.counts


def test_a_circuit_without_measurements_or_shots_has_no_counts() -> None:
    bare = QuantumCircuit(1)
    bare.h(0)
    state = np.array([1, 1]) / np.sqrt(2)
    assert sample_states(bare, [state], 100, 0, 0.0)[0].counts == {}
    measured = bare.measure_all(inplace=False)
    assert sample_states(measured, [state], 0, 0, 0.0)[0].counts == {}


def _one_cumulative_sum(state: np.ndarray, shots: int, seed: int) -> np.ndarray:
    """Indices drawn the plain way: one cumulative sum over the whole state."""
    cumulative = np.cumsum(np.abs(state) ** 2)
    draws = np.random.default_rng(seed).random(shots) * cumulative[-1]
    return np.sort(np.searchsorted(cumulative, draws, side="right"))


@pytest.mark.parametrize("block_qubits", [0, 3, 7, 12])
def test_drawing_in_blocks_gives_the_draws_of_one_cumulative_sum(block_qubits: int) -> None:
    state = Statevector(random_circuit(12, 6, seed=4)).data
    expected = _one_cumulative_sum(state, 20_000, 9)
    assert np.array_equal(draw(array_blocks(state, block_qubits), 20_000, 9), expected)


def test_drawing_in_blocks_never_lands_on_an_outcome_of_probability_zero() -> None:
    # GHZ on 10 qubits: all the weight in the first and the last amplitude, and
    # every block between them empty; the weights and sums round differently.
    state = np.zeros(2**10, dtype=complex)
    state[0] = state[-1] = (1 + 1e-15) / np.sqrt(2)
    for seed in range(20):
        found = set(draw(array_blocks(state, 4), 1000, seed).tolist())
        assert found <= {0, 2**10 - 1}


def test_drawing_in_blocks_reads_only_the_blocks_a_draw_falls_in() -> None:
    state = np.zeros(2**8, dtype=complex)
    state[37] = 1.0
    blocks = array_blocks(state, 4)
    read: list[int] = []
    counted = dataclasses.replace(blocks, read=lambda b: read.append(b) or blocks.read(b))
    assert set(draw(counted, 100, 1).tolist()) == {37}
    assert read == [2]
