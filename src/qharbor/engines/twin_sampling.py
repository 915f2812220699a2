"""Shots drawn by the twin itself: readout errors per shot, and shots from saved trajectories.

Aer applies readout errors inside a shot. Two of the twin's trajectory runs
cannot leave them to Aer:

* **Shot branching** (state vector): Aer runs the shots that share a noise
  history as one branch and samples them together at the end; the readout
  errors of the noise model are then drawn once per *branch*, so every shot of
  a branch reads the same flipped bits (a qubit read wrongly by 30 % of shots
  reads 0 % or 100 % of one branch's shots). ``tests/unit/engines/test_twin_sampling.py``
  reproduces it. The twin therefore simulates without readout errors and flips
  each shot's bits here, independently, with the calibrated probabilities.
* **Grouped trajectories** (matrix product state): each noise trajectory saves
  its final state (:func:`sample_mps`) and several shots are drawn from it here.

Readout confusion is classical: flipping a measured 0 with probability
``p01`` and a measured 1 with ``p10``, shot by shot, is exactly what a readout
error in the noise model does to one shot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from qiskit import QuantumCircuit

from qharbor.devices.twins import document as documents


def measured_by(circuit: QuantumCircuit) -> dict[int, int]:
    """For each classical bit, the qubit whose measurement last wrote it."""
    found: dict[int, int] = {}
    for instruction in circuit.data:
        if instruction.operation.name != "measure":
            continue
        qubit = circuit.find_bit(instruction.qubits[0]).index
        found[circuit.find_bit(instruction.clbits[0]).index] = qubit
    return found


def final_measures_only(circuit: QuantumCircuit) -> bool:
    """Whether no operation follows a measurement on its qubit (and nothing resets)."""
    measured: set[int] = set()
    for instruction in circuit.data:
        name = instruction.operation.name
        where = {circuit.find_bit(q).index for q in instruction.qubits}
        if name == "barrier":
            continue
        if name == "reset" or (name != "measure" and where & measured):
            return False
        if name == "measure":
            if where & measured:
                return False
            measured |= where
    return True


def bits_of(counts: Mapping[str, int], num_clbits: int) -> np.ndarray:
    """One row of bits per shot (column ``c`` is classical bit ``c``), from counts.

    All keys are read at once as one byte buffer: a noisy wide circuit has
    nearly as many distinct keys as shots.
    """
    if not counts or num_clbits == 0:
        return np.zeros((sum(counts.values()), num_clbits), dtype=np.uint8)
    # Qiskit writes bit 0 rightmost; a short key lacks its highest (leftmost) bits.
    text = "".join(key.replace(" ", "").zfill(num_clbits) for key in counts)
    chars = np.frombuffer(text.encode("ascii"), dtype=np.uint8).reshape(-1, num_clbits)
    rows = (chars[:, ::-1] - ord("0")).astype(np.uint8)
    return np.repeat(rows, np.fromiter(counts.values(), dtype=np.int64, count=len(counts)), axis=0)


def counts_of(bits: np.ndarray) -> dict[str, int]:
    """Counts of one row of bits per shot, keyed as Qiskit writes them (bit 0 rightmost).

    Each row becomes its key's ASCII bytes in one array operation, and the keys
    are tallied by :func:`numpy.unique`: no Python work per shot.
    """
    shots, width = bits.shape
    if shots == 0:
        return {}
    if width == 0:
        return {"": shots}
    chars = np.ascontiguousarray(bits[:, ::-1].astype(np.uint8) + ord("0"))
    keys, counts = np.unique(chars.view(f"S{width}").ravel(), return_counts=True)
    return {key.decode("ascii"): int(n) for key, n in zip(keys, counts.tolist(), strict=True)}


def readout_errors(
    document: documents.DocumentLike, physical: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """P(read 1 | 0) and P(read 0 | 1) of each given physical qubit."""
    qubits = documents.read(document).calibration.qubits
    p01 = np.array([float(qubits[p].readout_p01) for p in physical])
    p10 = np.array([float(qubits[p].readout_p10) for p in physical])
    return p01, p10


def flip_readout(
    bits: np.ndarray,
    qubit_of_clbit: Mapping[int, int],
    p01: np.ndarray,
    p10: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Each shot's bits with readout errors drawn independently per shot and bit.

    Args:
        bits: one row per shot, one column per classical bit, as measured.
        qubit_of_clbit: the qubit (index into ``p01`` and ``p10``) each bit measured.
        p01: per qubit, the probability that a 0 reads as 1.
        p10: per qubit, the probability that a 1 reads as 0.
        rng: the random stream (seeded from the job's seed).
    """
    out = bits.copy()
    draws = rng.random(bits.shape)
    if not qubit_of_clbit:
        return out
    clbits = np.fromiter(qubit_of_clbit.keys(), dtype=np.int64, count=len(qubit_of_clbit))
    qubits = np.fromiter(qubit_of_clbit.values(), dtype=np.int64, count=len(qubit_of_clbit))
    columns = bits[:, clbits]
    chance = np.where(columns == 1, p10[qubits][None, :], p01[qubits][None, :])
    out[:, clbits] = columns ^ (draws[:, clbits] < chance)
    return out


def sample_mps(
    gammas: Sequence[Sequence[np.ndarray]],
    lambdas: Sequence[np.ndarray],
    shots: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Shots of every qubit drawn from one matrix product state (Aer's saved form).

    Aer saves the state as, per qubit ``k``, the matrices ``Γ_k^0`` and ``Γ_k^1``,
    and between neighbours the Schmidt values ``λ_k``: the amplitude of bits
    ``i_0 … i_{n-1}`` is ``Γ_0^{i_0} λ_0 Γ_1^{i_1} λ_1 … Γ_{n-1}^{i_{n-1}}``. Bits are
    drawn qubit by qubit from their exact conditional probabilities, with the
    right environments computed once, so a state whose canonical form a
    non-unitary noise operation disturbed is still sampled exactly.

    Returns:
        One row per shot, one column per qubit (0 or 1).
    """
    n = len(gammas)
    blocks = [
        [np.asarray(g) * (np.asarray(lambdas[k])[None, :] if k < n - 1 else 1.0) for g in pair]
        for k, pair in enumerate(gammas)
    ]
    # right[k]: the environment of qubits k.. (a positive matrix on the left bond of k).
    right = [np.ones((1, 1), dtype=complex)] * (n + 1)
    for k in range(n - 1, -1, -1):
        right[k] = blocks[k][0] @ right[k + 1] @ blocks[k][0].conj().T
        right[k] = right[k] + blocks[k][1] @ right[k + 1] @ blocks[k][1].conj().T
    out = np.zeros((shots, n), dtype=np.uint8)
    left = np.ones((shots, 1), dtype=complex)
    for k in range(n):
        branches = [left @ b for b in blocks[k]]
        weights = [
            np.maximum(np.einsum("sa,ab,sb->s", v, right[k + 1], v.conj()).real, 0.0)
            for v in branches
        ]
        total = weights[0] + weights[1]
        one = rng.random(shots) * total < weights[1]
        out[:, k] = one
        left = np.where(one[:, None], branches[1], branches[0])
        left /= np.maximum(np.linalg.norm(left, axis=1, keepdims=True), 1e-300)
    return out
