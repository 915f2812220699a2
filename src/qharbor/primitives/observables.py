"""Pauli observables: measurement bases for qubit-wise commuting groups, and
estimates of expectation values from counts.

Labels follow Qiskit: the rightmost letter acts on qubit 0.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.quantum_info import PauliList, SparsePauliOp

#: The classical register the estimator measures into.
MEASURE_REGISTER = "qh_basis"


@dataclass(frozen=True)
class Basis:
    """One measurement basis: a Pauli letter per qubit (``I`` where it does not matter)."""

    label: str

    def circuit(self, base: QuantumCircuit) -> QuantumCircuit:
        """``base``, then the rotations into this basis and a measurement of the qubits it reads.

        Qubits where the basis has ``I`` are left alone (their bits read 0 and no
        term looks at them), so idle qubits of a wide, laid-out circuit stay idle.
        """
        out = base.copy()
        register = ClassicalRegister(base.num_qubits, MEASURE_REGISTER)
        out.add_register(register)
        for qubit, letter in enumerate(reversed(self.label)):
            if letter == "X":
                out.h(qubit)
            elif letter == "Y":
                out.sdg(qubit)
                out.h(qubit)
        read = [q for q, letter in enumerate(reversed(self.label)) if letter != "I"]
        out.measure(read, [register[q] for q in read])
        return out


def to_sparse(observable: Mapping[str, float], width: int) -> SparsePauliOp:
    """An observable as a ``SparsePauliOp`` on ``width`` qubits (padded with I on the left).

    A loop sends the same observables with every job, and building the operator
    from its labels costs more than a small circuit's run: equal observables give
    the same operator object, which callers must not change.
    """
    return _sparse(tuple(observable.items()), width)


@functools.lru_cache(maxsize=256)
def _sparse(terms: tuple[tuple[str, float], ...], width: int) -> SparsePauliOp:
    labels = [label.rjust(width, "I") for label, _ in terms]
    return SparsePauliOp(labels, np.asarray([coeff for _, coeff in terms], dtype=float))


def restrict(observable: Mapping[str, float], width: int, kept: Sequence[int]) -> dict[str, float]:
    """An observable on ``width`` qubits, read on the qubits ``kept`` only.

    Every other qubit is idle, so in |0⟩: a term with ``X`` or ``Y`` there has
    expectation 0 and is dropped, and ``Z`` or ``I`` there contributes a factor
    of 1. Labels of equal letters on the kept qubits are merged.

    Args:
        observable: ``{label: coefficient}``, labels as in Qiskit (rightmost is
            qubit 0), padded with ``I`` on the left to ``width``.
        width: the qubits of the circuit as submitted.
        kept: the indices of the qubits still simulated, in order.
    """
    kept_set = set(kept)
    out: dict[str, float] = {}
    for label, coeff in observable.items():
        letters = label.rjust(width, "I")[::-1]  # letters[i] acts on qubit i
        if any(letters[q] in "XY" for q in range(width) if q not in kept_set):
            continue
        narrow = "".join(letters[q] for q in reversed(kept))
        out[narrow] = out.get(narrow, 0.0) + coeff
    return out or {"I" * len(kept): 0.0}


def group_terms(labels: Sequence[str]) -> tuple[list[Basis], dict[str, int]]:
    """Qubit-wise commuting groups of non-identity Pauli labels.

    Returns:
        The bases, one per group, and for each label the index of its basis.
    """
    distinct = sorted({label for label in labels if set(label) != {"I"}})
    if not distinct:
        return [], {}
    groups = PauliList(distinct).group_qubit_wise_commuting()
    bases: list[Basis] = []
    where: dict[str, int] = {}
    width = len(distinct[0])
    for index, group in enumerate(groups):
        letters = ["I"] * width
        for pauli in group.to_labels():
            for position, letter in enumerate(pauli):
                if letter != "I":
                    letters[position] = letter
            where[pauli] = index
        bases.append(Basis("".join(letters)))
    return bases, where


def support_mask(label: str) -> int:
    """Bit mask of the qubits a Pauli label acts on (bit i is qubit i)."""
    mask = 0
    for qubit, letter in enumerate(reversed(label)):
        if letter != "I":
            mask |= 1 << qubit
    return mask


def estimate(
    observable: Mapping[str, float],
    width: int,
    where: Mapping[str, int],
    counts: Sequence[Mapping[str, int]],
) -> tuple[float, float]:
    """Expectation value and standard error of one observable from basis counts.

    Args:
        observable: ``{label: coefficient}``.
        width: qubits measured.
        where: for each label, the index of the basis that measures it.
        counts: per basis, the counts of the measurement register.

    Each basis contributes the mean of a per-shot estimator, the coefficient-weighted
    sum of the parities of its terms; terms measured in one basis are correlated,
    so the variance is taken of that sum, not term by term.
    """
    value = 0.0
    variance = 0.0
    by_basis: dict[int, list[tuple[int, float]]] = {}
    for label, coeff in observable.items():
        padded = label.rjust(width, "I")
        if set(padded) == {"I"}:
            value += coeff
            continue
        by_basis.setdefault(where[padded], []).append((support_mask(padded), coeff))
    for basis, terms in by_basis.items():
        outcome_counts = counts[basis]
        # The basis register is added last, so it is the leftmost group of a key.
        keys = np.array([int(key.split(" ")[0], 2) for key in outcome_counts], dtype=object)
        weights = np.array(list(outcome_counts.values()), dtype=float)
        shots = weights.sum()
        per_outcome = np.zeros(len(keys))
        for mask, coeff in terms:
            parity = np.array([(int(k) & mask).bit_count() & 1 for k in keys], dtype=float)
            per_outcome += coeff * (1.0 - 2.0 * parity)
        mean = float(np.dot(weights, per_outcome) / shots)
        second = float(np.dot(weights, per_outcome**2) / shots)
        value += mean
        if shots > 1:
            variance += max(second - mean**2, 0.0) * shots / (shots - 1) / shots
    return value, float(np.sqrt(variance))
