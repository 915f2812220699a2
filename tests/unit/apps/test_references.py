"""The apps' classical halves against references we did not write: Qiskit's statevector,
PySCF's FCI, NIST SP 800-22's worked examples, a textbook Black–Scholes price."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator, Statevector

from qharbor.apps import chemistry, crypto, energy, finance, randomness
from qharbor.apps.qubo import QUBO


@pytest.mark.parametrize("seed", range(5))
def test_a_qubo_and_its_ising_hamiltonian_agree_on_every_assignment(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 6))
    problem = QUBO.build(rng.normal(size=n), rng.normal(size=(n, n)), float(rng.normal()))
    hamiltonian = problem.to_ising()
    values = problem.values()
    for index in range(2**n):
        bits = [(index >> i) & 1 for i in range(n)]
        state = Statevector.from_int(index, 2**n)
        assert state.expectation_value(hamiltonian).real == pytest.approx(problem.value(bits))
        assert values[index] == pytest.approx(problem.value(bits))


def test_the_portfolio_and_schedule_qubos_keep_their_constrained_optimum() -> None:
    portfolio = finance.Portfolio.random(6, 3, seed=4)
    bits, _ = portfolio.qubo().brute_force()
    assert bits == portfolio.exhaustive()[0]
    problem = energy.UnitCommitment((1, 2, 3, 2), (3.0, 5.0, 7.5, 4.0), 4)
    bits, _ = problem.qubo().brute_force()
    assert bits[:4] == problem.exact()[0] == [0, 1, 0, 1]


@pytest.mark.parametrize(
    ("test", "bits", "expected"),
    [  # NIST SP 800-22 rev. 1a, the worked examples of §2.1, 2.2, 2.3 and 2.11.
        (randomness.monobit, "1011010101", 0.527089),
        (lambda b: randomness.block_frequency(b, 3), "0110011010", 0.801252),
        (randomness.runs, "1001101011", 0.147232),
        (lambda b: randomness.serial(b, 3)[0], "0011011101", 0.808792),
        (lambda b: randomness.serial(b, 3)[1], "0011011101", 0.670320),
    ],
)
def test_the_randomness_tests_give_the_standards_p_values(
    test: object, bits: str, expected: float
) -> None:
    assert test([int(c) for c in bits]) == pytest.approx(expected, abs=1e-6)  # type: ignore[operator]


def test_biased_or_patterned_bits_fail_the_suite() -> None:
    rng = np.random.default_rng(1)
    biased = (rng.random(4000) < 0.55).astype(int).tolist()
    assert randomness.monobit(biased) < randomness.SIGNIFICANCE
    alternating = [i % 2 for i in range(4000)]
    assert randomness.runs(alternating) < randomness.SIGNIFICANCE
    assert min(randomness.serial(alternating)) < randomness.SIGNIFICANCE


@pytest.mark.parametrize("n", [3, 4, 5])
def test_a_permutation_circuit_is_the_permutation_matrix(n: int) -> None:
    image = [int(v) for v in np.random.default_rng(n).permutation(2**n)]
    circuit = QuantumCircuit(n + 1)
    crypto.permutation(circuit, list(range(n)), image, controls=[n])
    matrix = Operator(circuit).data
    for x in range(2**n):
        assert abs(matrix[x, x]) == pytest.approx(1)  # control off: nothing moves
        assert abs(matrix[image[x] + 2**n, x + 2**n]) == pytest.approx(1)


def test_black_scholes_and_the_loaded_distribution_give_the_textbook_price() -> None:
    call = finance.EuropeanCall(spot=100, strike=100, rate=0.05, volatility=0.2, expiry=1)
    assert call.black_scholes() == pytest.approx(10.4506, abs=1e-4)
    probabilities, payoff = call.bins(3)
    assert probabilities.sum() == pytest.approx(1)
    discounted = float(probabilities @ payoff) * np.exp(-call.rate * call.expiry)
    assert discounted == pytest.approx(call.black_scholes(), rel=1e-9)
    circuit, scale = finance.loading_circuit(call, 3)
    objective = Statevector(circuit).probabilities([3])[1]
    assert objective * scale == pytest.approx(float(probabilities @ payoff), rel=1e-9)


@pytest.mark.parametrize("molecule", ["H2", "LiH"])
def test_the_jordan_wigner_hamiltonian_has_pyscfs_fci_energy(molecule: str) -> None:
    hamiltonian, fci = chemistry.molecule_hamiltonian(molecule)
    matrix = hamiltonian.to_matrix()
    # The sector of one α and one β electron: qubits 0-1 α, 2-3 β.
    sector = [i for i in range(16) if bin(i & 0b0011).count("1") == 1 == bin(i & 0b1100).count("1")]
    lowest = np.linalg.eigvalsh(matrix[np.ix_(sector, sector)]).min()
    assert lowest == pytest.approx(fci, abs=1e-8)
    if molecule == "H2":
        assert fci == pytest.approx(
            chemistry.exact_ground_energy(chemistry.h2_hamiltonian()), abs=1e-6
        )


def test_the_two_orbital_ansatz_starts_at_hartree_fock() -> None:
    circuit = chemistry.two_orbital_ansatz().assign_parameters([0, 0, 0])
    assert Statevector(circuit).probabilities_dict() == {"0101": pytest.approx(1)}
