"""Iterative amplitude estimation (Grinko, Gacon, Zoufal and Woerner, 2021).

Given ``A`` with ``A|0⟩ = √(1−a)|ψ₀⟩|0⟩ + √a|ψ₁⟩|1⟩`` on its objective qubit,
estimates ``a = sin²θ``. Each round runs ``A`` followed by ``k`` Grover
iterations ``Q`` (one sampler job), where the objective qubit reads 1 with
probability ``sin²((2k+1)θ)``; ``k`` is the largest for which the interval known
for θ still maps one-to-one, so each round narrows it by about the factor it grew
``k``. A Chernoff–Hoeffding bound at confidence ``1 − alpha`` shared over the
rounds gives each round's interval. The loop is classical; only the circuits run
on the device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qharbor.runtime.program import Quantum

_BASIS = ["cx", "u"]


@dataclass(frozen=True)
class Estimate:
    """The estimate of ``a``, its confidence interval, and the rounds that made it."""

    value: float
    low: float
    high: float
    rounds: list[dict[str, int]] = field(default_factory=list)
    history: list[float] = field(default_factory=list)


def powers(state_preparation: Any, objective: int) -> tuple[Any, Any]:
    """``A`` and ``Q = A S₀ A† S_χ`` in standard gates, ``S_χ`` flipping the sign where
    the objective qubit is 1."""
    from qiskit import QuantumCircuit, transpile
    from qiskit.circuit.library import grover_operator

    oracle = QuantumCircuit(state_preparation.num_qubits)
    oracle.z(objective)
    grover = grover_operator(oracle, state_preparation=state_preparation)
    a = transpile(state_preparation, basis_gates=_BASIS, optimization_level=1)
    q = transpile(grover, basis_gates=_BASIS, optimization_level=1)
    return a, q


def _next_power(k: int, up: bool, low: float, high: float) -> tuple[int, bool]:
    """The largest ``k' ≥ 2k`` (or ``k``) with ``(4k'+2)·[low, high]`` in one half-turn."""
    big_k = 4 * k + 2
    candidate = int(math.pi / (high - low))
    candidate -= (candidate - 2) % 4
    while candidate >= 2 * big_k:
        lo, hi = candidate * low, candidate * high
        half = math.floor(lo / math.pi)
        if hi <= (half + 1) * math.pi:
            return (candidate - 2) // 4, half % 2 == 0
        candidate -= 4
    return k, up


def estimate(
    quantum: Quantum,
    state_preparation: Any,
    objective: int,
    *,
    epsilon: float = 0.001,
    alpha: float = 0.05,
    shots: int = 4000,
) -> Estimate:
    """Estimate the probability that ``state_preparation`` sets ``objective`` to 1.

    Args:
        quantum: where the circuits run (one sampler job per round).
        state_preparation: ``A``, a circuit without measurements.
        objective: the qubit whose 1 marks the good states.
        epsilon: half-width of the interval on ``a`` to reach.
        alpha: 1 − confidence of that interval.
        shots: shots per round.
    """
    from qiskit import ClassicalRegister

    a_circuit, q_circuit = powers(state_preparation, objective)
    most_rounds = max(1, math.ceil(math.log2(math.pi / (8 * epsilon))))
    low, high = 0.0, math.pi / 2  # the interval for θ
    k, up = 0, True
    ones = total = 0
    rounds: list[dict[str, int]] = []
    history: list[float] = []
    while math.sin(high) ** 2 - math.sin(low) ** 2 > 2 * epsilon:
        previous = k
        k, up = _next_power(k, up, low, high)
        if k != previous:
            ones = total = 0
        circuit = a_circuit.copy()
        for _ in range(k):
            circuit.compose(q_circuit, inplace=True)
        register = ClassicalRegister(1, "objective")
        circuit.add_register(register)
        circuit.measure(objective, register[0])
        counts = quantum.sample([circuit], shots)[0]
        ones += counts.get("1", 0)
        total += sum(counts.values())
        rounds.append({"k": k, "shots": shots})
        big_k = 4 * k + 2
        width = math.sqrt(math.log(2 * most_rounds / alpha) / (2 * total))
        p_low, p_high = max(0.0, ones / total - width), min(1.0, ones / total + width)
        # Within the half-turn, K·θ − half·π is monotone in the probability.
        half = math.floor(big_k * low / math.pi)
        if up:
            phi_low, phi_high = math.acos(1 - 2 * p_low), math.acos(1 - 2 * p_high)
        else:
            phi_low, phi_high = math.acos(2 * p_high - 1), math.acos(2 * p_low - 1)
        low = max(low, (half * math.pi + phi_low) / big_k)
        high = min(high, (half * math.pi + phi_high) / big_k)
        history.append(math.sin((low + high) / 2) ** 2)
        if len(rounds) > 10 * most_rounds:  # never more than a bounded number of jobs
            break
    a_low, a_high = math.sin(low) ** 2, math.sin(high) ** 2
    return Estimate((a_low + a_high) / 2, a_low, a_high, rounds, history)
