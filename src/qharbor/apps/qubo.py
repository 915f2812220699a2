"""Quadratic unconstrained binary optimisation: the shape finance and energy problems take.

A :class:`QUBO` is ``constant + Σ linear[i] x_i + Σ quadratic[i, j] x_i x_j`` over
bits ``x_i ∈ {0, 1}``. It turns itself into an Ising Hamiltonian (a
``SparsePauliOp`` whose ground state is the optimum) for QAOA, and solves itself
by exhaustive search, the classical reference for up to ~20 variables.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class QUBO:
    """``constant + linear·x + xᵀ·quadratic·x`` (upper-triangular ``quadratic``)."""

    linear: np.ndarray
    quadratic: np.ndarray
    constant: float = 0.0
    names: tuple[str, ...] = field(default=())

    @property
    def size(self) -> int:
        return len(self.linear)

    @classmethod
    def build(
        cls, linear: Any, quadratic: Any, constant: float = 0.0, names: tuple[str, ...] = ()
    ) -> QUBO:
        """A QUBO from any square ``quadratic``: folded onto its upper triangle, the
        diagonal moved into ``linear`` (``x_i² = x_i``)."""
        lin = np.array(linear, dtype=float)
        quad = np.array(quadratic, dtype=float)
        lin = lin + np.diag(quad)
        upper = np.triu(quad, 1) + np.tril(quad, -1).T
        return cls(lin, upper, float(constant), tuple(names))

    def value(self, bits: Any) -> float:
        """The objective at ``bits`` (a sequence of 0/1, variable 0 first)."""
        x = np.asarray(bits, dtype=float)
        return float(self.constant + self.linear @ x + x @ self.quadratic @ x)

    def values(self) -> np.ndarray:
        """The objective at every assignment, indexed by the integer whose bit i is x_i."""
        n = self.size
        grid = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
        return (
            self.constant
            + grid @ self.linear
            + np.einsum("ki,ij,kj->k", grid, self.quadratic, grid)
        )

    def brute_force(self) -> tuple[list[int], float]:
        """The optimum by exhaustive search: (bits, value)."""
        values = self.values()
        best = int(np.argmin(values))
        return bits_of(best, self.size), float(values[best])

    def to_ising(self) -> Any:
        """The Ising Hamiltonian ``H`` with ``⟨z|H|z⟩`` the objective at ``x = z``.

        ``x_i = (1 - Z_i) / 2``, qubit i holding variable i (Qiskit order: the
        rightmost character of a Pauli label is qubit 0).
        """
        from qiskit.quantum_info import SparsePauliOp

        n = self.size
        terms: dict[str, float] = {}
        constant = self.constant

        def add(qubits: tuple[int, ...], coeff: float) -> None:
            label = ["I"] * n
            for q in qubits:
                label[n - 1 - q] = "Z"
            key = "".join(label)
            terms[key] = terms.get(key, 0.0) + coeff

        for i in range(n):
            constant += self.linear[i] / 2
            add((i,), -self.linear[i] / 2)
        for i, j in itertools.combinations(range(n), 2):
            w = self.quadratic[i, j]
            if w == 0:
                continue
            constant += w / 4
            add((i,), -w / 4)
            add((j,), -w / 4)
            add((i, j), w / 4)
        pairs = [("I" * n, constant)] + [(k, v) for k, v in terms.items() if v != 0]
        return SparsePauliOp.from_list(pairs).simplify()


def bits_of(index: int, n: int) -> list[int]:
    """The n bits of ``index``, bit 0 first."""
    return [(index >> i) & 1 for i in range(n)]


def bits_of_key(key: str) -> list[int]:
    """The bits of a counts key (Qiskit order: qubit 0 rightmost), bit 0 first."""
    return [int(c) for c in reversed(key.replace(" ", ""))]
