"""Molecular ground states by VQE, checked against exact diagonalisation (and PySCF's FCI).

H2 at 0.735 Å is built in (the STO-3G Jordan–Wigner Hamiltonian, nuclear
repulsion in the constant term). :func:`molecule_hamiltonian` builds others from
PySCF's integrals (``pip install 'qharbor[apps]'``), in a small active space.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp

from qharbor.apps import vqe

if TYPE_CHECKING:
    from qharbor.runtime.program import Quantum

#: Chemical accuracy, in hartree.
CHEMICAL_ACCURACY_HA = 1.6e-3

_H2_NUCLEAR_REPULSION_HA = 0.7199689944489797
_H2_TERMS = [
    ("IIII", -0.81054798 + _H2_NUCLEAR_REPULSION_HA),
    ("IIIZ", 0.17218393),
    ("IIZI", -0.22575349),
    ("IIZZ", 0.12091263),
    ("IZII", 0.17218393),
    ("IZIZ", 0.16892754),
    ("IZZI", 0.16614543),
    ("ZIII", -0.22575349),
    ("ZIIZ", 0.16614543),
    ("ZIZI", 0.17464343),
    ("ZZII", 0.12091263),
    ("XXXX", 0.04523280),
    ("XXYY", 0.04523280),
    ("YYXX", 0.04523280),
    ("YYYY", 0.04523280),
]


def h2_hamiltonian() -> SparsePauliOp:
    """H2 at 0.735 Å in STO-3G, four qubits (α orbitals, then β), in hartree."""
    return SparsePauliOp.from_list(_H2_TERMS)


def double_excitation_ansatz() -> QuantumCircuit:
    """cos(θ/2) |0101⟩ + sin(θ/2) |1010⟩: Hartree–Fock and its double excitation.

    It holds the exact ground state of two electrons in two spatial orbitals, and
    θ is a single rotation angle, so parameter shifts give its exact gradient.
    """
    theta = Parameter("θ")
    circuit = QuantumCircuit(4, name="double-excitation")
    circuit.ry(theta, 1)
    circuit.cx(1, 3)
    circuit.x(0)
    circuit.cx(1, 0)
    circuit.x(2)
    circuit.cx(1, 2)
    return circuit


def exact_ground_energy(hamiltonian: SparsePauliOp) -> float:
    """The lowest eigenvalue, by dense diagonalisation (the classical reference)."""
    return float(np.linalg.eigvalsh(hamiltonian.to_matrix()).min())


def ground_state(
    quantum: Quantum,
    hamiltonian: SparsePauliOp | None = None,
    *,
    iterations: int = 40,
    step: float = 0.8,
    state: vqe.LoopState | None = None,
    report: vqe.Report | None = None,
    save: Any = None,
) -> dict[str, Any]:
    """VQE for a two-electron, two-orbital Hamiltonian (H2 by default).

    Returns:
        ``energy_ha`` (the best found), ``reference_ha`` (exact diagonalisation),
        ``gap_ha``, ``chemically_accurate``, ``iterations``, ``theta`` and the
        convergence ``history``.
    """
    hamiltonian = hamiltonian if hamiltonian is not None else h2_hamiltonian()
    final = vqe.minimise(
        quantum,
        double_excitation_ansatz(),
        hamiltonian,
        [0.0],
        iterations=iterations,
        step=step,
        state=state,
        report=report,
        save=save,
    )
    reference = exact_ground_energy(hamiltonian)
    return {
        "energy_ha": final.best,
        "reference_ha": reference,
        "gap_ha": abs(final.best - reference),
        "chemically_accurate": abs(final.best - reference) < CHEMICAL_ACCURACY_HA,
        "iterations": final.iteration,
        "theta": final.best_x[0] if final.best_x else final.x[0],
        "history": final.history,
    }


def plot_convergence(history: Sequence[float], reference: float, path: str) -> str:
    """The energy at each iteration against the reference, saved as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.5))
    axes.plot(range(1, len(history) + 1), history, marker=".", label="VQE")
    axes.axhline(reference, color="k", linestyle="--", label="exact")
    axes.set_xlabel("iteration")
    axes.set_ylabel("energy (Ha)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
