"""QAOA for a :class:`~qharbor.apps.qubo.QUBO`, in few jobs.

The angles are found by a shrinking random search: each round evaluates a batch
of (γ, β) sets around the best so far in one estimator job, so a whole search
costs a handful of jobs rather than one per step. The answer is then read from
one sampler job at the best angles: the sampled assignment with the lowest
objective, as QAOA is used in practice, together with how often the optimum was
sampled.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from qharbor.apps.qubo import QUBO, bits_of_key

if TYPE_CHECKING:
    from qharbor.runtime.program import Quantum

#: Called after each round with (round, best energy of the round, best so far).
Report = Callable[[int, float, float], None]


def ansatz(hamiltonian: Any, layers: int) -> Any:
    """The QAOA circuit for an Ising ``SparsePauliOp`` with only Z and ZZ terms.

    Parameters are ``β[0..p-1]`` then ``γ[0..p-1]``, the order ``circuit.parameters``
    sorts them in. ``hamiltonian``'s coefficients are scaled so the largest is 1, so one
    range of γ suits every problem.
    """
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector

    n = hamiltonian.num_qubits
    scale = max(abs(c.real) for label, c in hamiltonian.to_list() if set(label) != {"I"})
    gammas = ParameterVector("γ", layers)
    betas = ParameterVector("β", layers)
    circuit = QuantumCircuit(n, name="qaoa")
    circuit.h(range(n))
    for layer in range(layers):
        for label, coeff in hamiltonian.to_list():
            qubits = [n - 1 - k for k, c in enumerate(label) if c == "Z"]
            angle = 2 * gammas[layer] * (coeff.real / scale)
            if len(qubits) == 1:
                circuit.rz(angle, qubits[0])
            elif len(qubits) == 2:
                circuit.rzz(angle, qubits[0], qubits[1])
        circuit.rx(2 * betas[layer], range(n))
    return circuit


@dataclass(frozen=True)
class Solution:
    """QAOA's answer to a QUBO beside the exhaustive-search optimum."""

    bits: list[int]
    value: float
    reference_bits: list[int]
    reference_value: float
    probability_optimal: float
    angles: list[float]
    history: list[float]

    @property
    def gap(self) -> float:
        return self.value - self.reference_value

    def to_json(self) -> dict[str, Any]:
        return {
            "bits": self.bits,
            "value": self.value,
            "reference_bits": self.reference_bits,
            "reference_value": self.reference_value,
            "gap": self.gap,
            "optimal": abs(self.gap) < 1e-9,
            "probability_optimal": self.probability_optimal,
            "angles": self.angles,
            "history": self.history,
        }


def solve(
    quantum: Quantum,
    problem: QUBO,
    *,
    layers: int = 1,
    rounds: int = 4,
    batch: int = 48,
    shots: int = 2000,
    seed: int = 7,
    report: Report | None = None,
) -> Solution:
    """Minimise ``problem`` by QAOA and check it by exhaustive search.

    Args:
        quantum: where the circuits run.
        problem: the QUBO.
        layers: QAOA depth p.
        rounds: estimator jobs in the angle search, each of ``batch`` angle sets.
        batch: angle sets per round.
        shots: shots of the final sampler job.
        seed: the angle search's random seed.
        report: told each round's best energy and the best so far.
    """
    hamiltonian = problem.to_ising()
    circuit = ansatz(hamiltonian, layers)
    rng = np.random.default_rng(seed)
    # β (mixer) angles first, then γ, as circuit.parameters orders them.
    low = np.zeros(2 * layers)
    high = np.array([math.pi / 2] * layers + [math.pi] * layers)
    best_x = (low + high) / 2
    best = math.inf
    history: list[float] = []
    radius = 1.0
    for round_ in range(rounds):
        if round_ == 0:
            sets = low + rng.random((batch, 2 * layers)) * (high - low)
        else:
            steps = (rng.random((batch, 2 * layers)) - 0.5) * (high - low) * radius
            sets = np.vstack([best_x, best_x + steps])
        energies = quantum.estimate(circuit, hamiltonian, sets.tolist())
        i = int(np.argmin(energies))
        if energies[i] < best:
            best, best_x = float(energies[i]), np.array(sets[i])
        history.append(float(energies[i]))
        radius /= 2
        if report is not None:
            report(round_ + 1, float(energies[i]), best)
    bound = circuit.assign_parameters(best_x.tolist())
    bound.measure_all()
    counts = quantum.sample([bound], shots)[0]
    reference_bits, reference_value = problem.brute_force()
    sampled = {key: problem.value(bits_of_key(key)) for key in counts}
    key = min(sampled, key=lambda k: (sampled[k], -counts[k]))
    optimal = sum(n for k, n in counts.items() if abs(sampled[k] - reference_value) < 1e-9)
    return Solution(
        bits=bits_of_key(key),
        value=sampled[key],
        reference_bits=reference_bits,
        reference_value=reference_value,
        probability_optimal=optimal / sum(counts.values()),
        angles=best_x.tolist(),
        history=history,
    )
