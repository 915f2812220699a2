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


# --- molecules from PySCF ------------------------------------------------------------------

#: Geometries (Å) of the molecules built in by name.
GEOMETRIES = {
    "H2": "H 0 0 0; H 0 0 0.735",
    "LiH": "Li 0 0 0; H 0 0 1.595",
    "H2O": "O 0 0 0.1173; H 0 0.7572 -0.4692; H 0 -0.7572 -0.4692",
}


def _annihilator(p: int, n: int) -> SparsePauliOp:
    """a_p under Jordan–Wigner: Z on qubits below p, (X + iY)/2 on p."""
    labels = []
    for middle in ("X", "Y"):
        label = ["I"] * n
        for q in range(p):
            label[n - 1 - q] = "Z"
        label[n - 1 - p] = middle
        labels.append("".join(label))
    return SparsePauliOp(labels, [0.5, 0.5j])


def jordan_wigner(core: float, one_body: np.ndarray, two_body: np.ndarray) -> SparsePauliOp:
    """The qubit Hamiltonian of spatial-orbital integrals, α spin orbitals then β.

    Args:
        core: the constant (nuclear repulsion and frozen core), hartree.
        one_body: ``h[p, q]``, hartree.
        two_body: ``(pq|rs)`` in chemists' notation, hartree.
    """
    m = len(one_body)
    n = 2 * m
    lower = [_annihilator(p, n) for p in range(n)]
    raise_ = [op.adjoint() for op in lower]
    terms: list[SparsePauliOp] = [SparsePauliOp("I" * n, [core])]
    spins = (0, m)
    for s in spins:
        for p in range(m):
            for q in range(m):
                if abs(one_body[p, q]) > 1e-12:
                    terms.append(one_body[p, q] * (raise_[s + p] @ lower[s + q]))
    # ½ Σ (pq|rs) a†_pσ a†_rτ a_sτ a_qσ
    for s in spins:
        for t in spins:
            for p in range(m):
                for q in range(m):
                    for r in range(m):
                        for u in range(m):
                            value = two_body[p, q, r, u]
                            if abs(value) < 1e-12 or (s == t and (p == r or q == u)):
                                continue
                            op = raise_[s + p] @ raise_[t + r] @ lower[t + u] @ lower[s + q]
                            terms.append(0.5 * value * op)
    return SparsePauliOp.sum(terms).simplify(atol=1e-10).chop(1e-10)


def molecule_hamiltonian(
    geometry: str, *, basis: str = "sto-3g", electrons: int = 2, orbitals: int = 2
) -> tuple[SparsePauliOp, float]:
    """A molecule's active-space qubit Hamiltonian, and PySCF's FCI energy in that space.

    Restricted Hartree–Fock, then the ``orbitals`` spatial orbitals around the
    Fermi level holding ``electrons`` electrons are active and the rest frozen
    (CASCI); PySCF's FCI solver on that space is the reference.

    Args:
        geometry: a name in :data:`GEOMETRIES` or PySCF's atom string (Å).
        basis: the basis set.
        electrons: active electrons.
        orbitals: active spatial orbitals (qubits: twice as many).

    Returns:
        The Hamiltonian (hartree) and the FCI energy (hartree), both including the
        core and nuclear repulsion energy.
    """
    from pyscf import ao2mo, gto, mcscf, scf

    molecule = gto.M(atom=GEOMETRIES.get(geometry, geometry), basis=basis, unit="Angstrom")
    molecule.verbose = 0
    mean_field = scf.RHF(molecule).run()
    cas = mcscf.CASCI(mean_field, orbitals, electrons)
    one_body, core = cas.get_h1eff()
    two_body = ao2mo.restore(1, cas.get_h2eff(), orbitals)
    fci = float(cas.kernel()[0])
    return jordan_wigner(float(core), np.asarray(one_body), np.asarray(two_body)), fci


def two_orbital_ansatz() -> QuantumCircuit:
    """Every real state of one α and one β electron in two spatial orbitals.

    A general real two-qubit state (three angles) on "is the α electron in orbital
    1" (qubit 1) and "is the β electron in orbital 1" (qubit 3), copied inverted onto
    orbital 0's qubits; all angles 0 is Hartree–Fock. Each angle is one rotation,
    so parameter shifts give the exact gradient.
    """
    from qiskit.circuit import ParameterVector

    theta = ParameterVector("θ", 3)
    circuit = QuantumCircuit(4, name="two-orbital")
    circuit.ry(theta[0], 1)
    circuit.cx(1, 3)
    circuit.ry(theta[1], 1)
    circuit.ry(theta[2], 3)
    circuit.cx(1, 0)
    circuit.x(0)
    circuit.cx(3, 2)
    circuit.x(2)
    return circuit


def molecule_ground_state(
    quantum: Quantum,
    molecule: str = "LiH",
    *,
    basis: str = "sto-3g",
    iterations: int = 60,
    step: float = 1.0,
    x0: Sequence[float] | None = None,
    report: vqe.Report | None = None,
) -> dict[str, Any]:
    """VQE for a molecule in a two-electron, two-orbital active space, against PySCF's FCI.

    Returns:
        ``energy_ha``, ``reference_ha`` (PySCF's FCI in the active space),
        ``gap_ha``, ``chemically_accurate``, ``parameters`` and the ``history``.
    """
    hamiltonian, fci = molecule_hamiltonian(molecule, basis=basis)
    final = vqe.minimise(
        quantum,
        two_orbital_ansatz(),
        hamiltonian,
        list(x0) if x0 is not None else [0.0, 0.0, 0.0],
        iterations=iterations,
        step=step,
        report=report,
    )
    return {
        "molecule": molecule,
        "energy_ha": final.best,
        "reference_ha": fci,
        "gap_ha": abs(final.best - fci),
        "chemically_accurate": abs(final.best - fci) < CHEMICAL_ACCURACY_HA,
        "parameters": final.best_x,
        "history": final.history,
    }


def bond_scan(
    quantum: Quantum, distances: Sequence[float], *, iterations: int = 25
) -> dict[str, Any]:
    """H2's energy curve: VQE at each bond length (Å), each starting where the last ended.

    Returns:
        ``distances`` (Å), ``energies_ha`` (VQE), ``references_ha`` (PySCF FCI) and
        ``largest_gap_ha``.
    """
    energies, references = [], []
    x0 = [0.0, 0.0, 0.0]
    for distance in distances:
        geometry = f"H 0 0 0; H 0 0 {distance}"
        outcome = molecule_ground_state(quantum, geometry, iterations=iterations, x0=x0)
        x0 = outcome["parameters"]
        energies.append(outcome["energy_ha"])
        references.append(outcome["reference_ha"])
    gaps = [abs(e - r) for e, r in zip(energies, references, strict=True)]
    return {
        "distances": list(distances),
        "energies_ha": energies,
        "references_ha": references,
        "largest_gap_ha": max(gaps),
    }


def plot_scan(scan: dict[str, Any], path: str) -> str:
    """The energy curve, VQE's points on PySCF's FCI line, saved as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.5))
    axes.plot(scan["distances"], scan["references_ha"], color="k", label="FCI (PySCF)")
    axes.plot(scan["distances"], scan["energies_ha"], "o", color="C3", label="VQE")
    axes.set_xlabel("bond length (Å)")
    axes.set_ylabel("energy (Ha)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
