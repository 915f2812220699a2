"""Correctness checks for every run: sampled distributions and exact states or values.

Every system reports outcomes as integers with bit i = qubit i, and state vectors
with a flag saying whether qubit 0 is the least significant bit of the index
(Qiskit, qulacs, pyqpanda3) or the most significant (Cirq, qsim, Braket).
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: How many standard deviations a sampled statistic may stray before a run fails.
#: Six keeps false alarms below one in a hundred million per check.
SIGMAS = 6.0


@dataclass(frozen=True)
class Check:
    """The verdict on one run: whether it passed, and a line saying why."""

    ok: bool
    detail: str

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, "detail": self.detail}


def ghz_counts(counts: Mapping[int, int], n: int, shots: int) -> Check:
    """Only all-zeros and all-ones, about half each (binomial, ``SIGMAS`` deviations)."""
    ones = (1 << n) - 1
    stray = {k: v for k, v in counts.items() if k not in (0, ones)}
    if stray:
        return Check(False, f"{sum(stray.values())} shots outside |0…0⟩ and |1…1⟩")
    if sum(counts.values()) != shots:
        return Check(False, f"{sum(counts.values())} shots instead of {shots}")
    zeros = counts.get(0, 0)
    bound = SIGMAS * math.sqrt(shots) / 2
    ok = abs(zeros - shots / 2) <= bound
    return Check(ok, f"|0…0⟩ {zeros} of {shots} (allowed {shots / 2:.0f} ± {bound:.0f})")


def cross_entropy(samples: Sequence[tuple[Mapping[int, int], np.ndarray]]) -> Check:
    """A likelihood test of samples against exact probabilities.

    The statistic is the mean of ``N·p(x)`` over every shot x (N = 2^n), the
    linear cross-entropy. Sampling from the right distribution gives, in
    expectation, ``N·Σp²`` (about 2 for a random circuit), while a uniform
    sampler gives 1 and a wrong bit order something else; its standard
    deviation follows from the exact third moment and the shot count, so the
    bound tightens as shots grow. A sample outside the support fails at once.

    Args:
        samples: for each circuit, its counts and its exact probabilities
            (indexed with bit i = qubit i).
    """
    total = 0
    observed = 0.0
    expected = 0.0
    variance = 0.0
    for counts, probs in samples:
        size = probs.size
        shots = sum(counts.values())
        keys = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        hits = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        if keys.size and (keys.min() < 0 or keys.max() >= size):
            return Check(False, "an outcome has more bits than the circuit has qubits")
        p = probs[keys]
        if np.any((p < 1e-14) & (hits > 0)):
            return Check(False, "an outcome of probability 0 was sampled")
        observed += float(np.dot(hits, size * p))
        second = size * float(np.dot(probs, probs))
        third = size * size * float(np.dot(probs, probs * probs))
        expected += shots * second
        variance += shots * (third - second * second)
        total += shots
    mean = observed / total
    want = expected / total
    bound = SIGMAS * math.sqrt(max(variance, 0.0)) / total + 1e-9
    ok = abs(mean - want) <= bound
    return Check(ok, f"cross-entropy {mean:.4f}, expected {want:.4f} ± {bound:.4f}")


def qft_factors(n: int, x: int) -> list[np.ndarray]:
    """The one-qubit factors of QFT|x⟩, qubit 0 first.

    QFT|x⟩ is a product state: qubit j carries ``(|0⟩ + e^{2πi·x·2^j/N}|1⟩)/√2``.
    """
    size = 1 << n
    return [
        np.array([1.0, cmath.exp(2j * math.pi * ((x << j) % size) / size)]) / math.sqrt(2)
        for j in range(n)
    ]


def qft_state(vector: np.ndarray, n: int, x: int, *, lsb_first: bool, tolerance: float) -> Check:
    """Fidelity |⟨QFT x|ψ⟩|² of a full state vector against the analytic state.

    The overlap is contracted one qubit at a time against the product state's
    factors, so it needs no second 2^n array.
    """
    factors = qft_factors(n, x)
    # In C order the last axis is the index's least significant bit.
    order = factors if lsb_first else factors[::-1]
    rest = np.asarray(vector).reshape(-1)
    norm = float(np.vdot(rest, rest).real)
    for factor in order:
        rest = rest.reshape(-1, 2) @ np.conj(factor).astype(rest.dtype)
    fidelity = abs(complex(rest[0])) ** 2
    ok = fidelity >= 1 - tolerance and abs(norm - 1) <= tolerance
    return Check(ok, f"fidelity {fidelity:.9f}, norm {norm:.9f} (need ≥ 1 − {tolerance:g})")


def qft_amplitudes(amplitudes: Mapping[int, complex], n: int, x: int, tolerance: float) -> Check:
    """Selected amplitudes (index k, bit i = qubit i) against ``e^{2πi·xk/N}/√N``.

    The largest error is measured in units of the amplitudes' size 1/√N.
    """
    size = 1 << n
    worst = 0.0
    for k, value in amplitudes.items():
        want = cmath.exp(2j * math.pi * ((x * k) % size) / size) / math.sqrt(size)
        worst = max(worst, abs(value - want) * math.sqrt(size))
    ok = bool(amplitudes) and worst <= tolerance
    return Check(
        ok,
        f"{len(amplitudes)} amplitudes, largest relative error {worst:.2e} (need ≤ {tolerance:g})",
    )


def close_values(values: np.ndarray, reference: np.ndarray, tolerance: float) -> Check:
    """Expectation values against reference values, absolute tolerance."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.shape != reference.shape:
        return Check(False, f"{values.size} values instead of {reference.size}")
    worst = float(np.max(np.abs(values - reference)))
    return Check(worst <= tolerance, f"largest error {worst:.2e} (need ≤ {tolerance:g})")
