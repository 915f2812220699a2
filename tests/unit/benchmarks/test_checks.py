"""The benchmark's correctness checks pass right answers and catch wrong ones."""

from __future__ import annotations

import numpy as np
from benchmarks import cases, checks
from benchmarks.circuits import qft_of_basis_state, random_layers, to_qiskit
from qiskit.quantum_info import Statevector


def _samples(probs: np.ndarray, shots: int, seed: int) -> dict[int, int]:
    outcomes = np.random.default_rng(seed).choice(probs.size, size=shots, p=probs)
    keys, hits = np.unique(outcomes, return_counts=True)
    return {int(k): int(v) for k, v in zip(keys, hits, strict=True)}


def _reversed_bits(counts: dict[int, int], n: int) -> dict[int, int]:
    return {int(format(k, f"0{n}b")[::-1], 2): v for k, v in counts.items()}


def test_qft_circuit_gives_the_analytic_state_in_qiskit_order() -> None:
    state = Statevector(to_qiskit(qft_of_basis_state(7, 45))).data
    assert checks.qft_state(state, 7, 45, lsb_first=True, tolerance=1e-12).ok
    assert not checks.qft_state(state, 7, 44, lsb_first=True, tolerance=1e-6).ok


def test_qft_check_reads_big_endian_vectors_and_catches_a_wrong_order() -> None:
    n = 6
    state = Statevector(to_qiskit(qft_of_basis_state(n, 13))).data
    big_endian = state.reshape([2] * n).transpose(list(reversed(range(n)))).ravel()
    assert checks.qft_state(big_endian, n, 13, lsb_first=False, tolerance=1e-12).ok
    assert not checks.qft_state(big_endian, n, 13, lsb_first=True, tolerance=1e-6).ok


def test_amplitude_check_catches_a_conjugated_state() -> None:
    n = 8
    state = Statevector(to_qiskit(qft_of_basis_state(n, 77))).data
    probes = [0, 3, 77, 200, 255]
    assert checks.qft_amplitudes({k: state[k] for k in probes}, n, 77, 1e-9).ok
    wrong = {k: np.conj(state[k]) for k in probes}
    assert not checks.qft_amplitudes(wrong, n, 77, 1e-3).ok
    assert not checks.qft_amplitudes({}, n, 77, 1e-3).ok


def test_cross_entropy_accepts_true_samples_and_rejects_uniform_and_reversed_ones() -> None:
    n = 8
    circuit = random_layers(n, 8, seed=3, measure=False)
    probs = np.asarray(Statevector(to_qiskit(circuit)).probabilities())
    good = _samples(probs, 2000, seed=1)
    assert checks.cross_entropy([(good, probs)]).ok
    uniform = _samples(np.full(probs.size, 1 / probs.size), 2000, seed=2)
    assert not checks.cross_entropy([(uniform, probs)]).ok
    assert not checks.cross_entropy([(_reversed_bits(good, n), probs)]).ok


def test_ghz_check_rejects_stray_and_lopsided_counts() -> None:
    assert checks.ghz_counts({0: 498, 31: 502}, 5, 1000).ok
    assert not checks.ghz_counts({0: 498, 31: 501, 1: 1}, 5, 1000).ok
    assert not checks.ghz_counts({0: 900, 31: 100}, 5, 1000).ok


def test_every_case_builds_the_same_work_twice() -> None:
    for case in cases.CASES.values():
        first, second = case.work(quick=True), case.work(quick=True)
        assert first.circuits == second.circuits
        assert np.array_equal(first.values, second.values)
        assert first.probes == second.probes
