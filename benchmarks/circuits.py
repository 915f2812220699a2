"""The benchmark circuits, as plain gate lists that every system's converter reads.

One gate list is the single source of each circuit: the Qiskit circuit, the
OpenQASM sent to qharbor and every peer's native circuit object are all built
from it, so every system runs exactly the same gates. Gates follow Qiskit's
conventions (``rz(θ) = exp(-iθZ/2)``, ``cp(λ) = diag(1, 1, 1, e^{iλ})``), and each
converter translates to its library's own (qulacs's rotation sign, for one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Gate names the converters know: one-qubit, two-qubit, and which take an angle.
ONE_QUBIT = frozenset({"h", "x", "rx", "ry", "rz"})
TWO_QUBIT = frozenset({"cx", "cz", "cp", "swap"})
ROTATIONS = frozenset({"rx", "ry", "rz", "cp"})


@dataclass(frozen=True)
class Gate:
    """One gate: its name, the qubits it acts on (control first), and its angle.

    Attributes:
        name: one of ``ONE_QUBIT`` or ``TWO_QUBIT``.
        qubits: the qubits, control first for controlled gates.
        angle: the rotation angle in radians, for ``ROTATIONS``; else 0.
        param: for a parameterised circuit, the index of the parameter this
            gate's angle is taken from; None for a fixed angle.
    """

    name: str
    qubits: tuple[int, ...]
    angle: float = 0.0
    param: int | None = None


@dataclass(frozen=True)
class Circuit:
    """A circuit on ``num_qubits`` qubits.

    Attributes:
        num_qubits: the register's width.
        gates: the gates in order.
        measure: whether every qubit is measured at the end, qubit i into bit i.
        num_params: parameters the gates refer to (0 for a fixed circuit).
    """

    num_qubits: int
    gates: tuple[Gate, ...]
    measure: bool = False
    num_params: int = 0


def ghz(n: int) -> Circuit:
    """(|0…0⟩ + |1…1⟩)/√2 on ``n`` qubits: an H and a chain of CNOTs, measured."""
    gates = [Gate("h", (0,))] + [Gate("cx", (q, q + 1)) for q in range(n - 1)]
    return Circuit(n, tuple(gates), measure=True)


def qft_of_basis_state(n: int, x: int) -> Circuit:
    """The quantum Fourier transform applied to the basis state ``|x⟩``.

    X gates prepare ``|x⟩`` (bit i of x on qubit i), then the textbook QFT with
    its final swaps, so the output is ``Σ_k e^{2πi·xk/N} |k⟩ / √N`` with N = 2^n
    and bit i of k on qubit i (Qiskit's order).
    """
    gates = [Gate("x", (q,)) for q in range(n) if (x >> q) & 1]
    for target in reversed(range(n)):
        gates.append(Gate("h", (target,)))
        for control in reversed(range(target)):
            gates.append(Gate("cp", (control, target), math.pi / 2 ** (target - control)))
    gates.extend(Gate("swap", (q, n - 1 - q)) for q in range(n // 2))
    return Circuit(n, tuple(gates))


def random_layers(n: int, depth: int, seed: int, measure: bool = True) -> Circuit:
    """A random circuit: ``depth`` layers of random ry·rz on every qubit, then a brickwork.

    The brickwork alternates CZ (even layers, pairs starting at qubit 0) and CX
    (odd layers, pairs starting at qubit 1). Angles are uniform in [0, 2π) from
    ``numpy.random.default_rng(seed)``, so the circuit is the same everywhere.
    """
    rng = np.random.default_rng(seed)
    gates: list[Gate] = []
    for layer in range(depth):
        angles = rng.uniform(0.0, 2 * math.pi, size=(n, 2))
        for q in range(n):
            gates.append(Gate("ry", (q,), float(angles[q, 0])))
            gates.append(Gate("rz", (q,), float(angles[q, 1])))
        entangler = "cz" if layer % 2 == 0 else "cx"
        gates.extend(Gate(entangler, (q, q + 1)) for q in range(layer % 2, n - 1, 2))
    return Circuit(n, tuple(gates), measure=measure)


def random_u3_cz(n: int, depth: int, seed: int, measure: bool = True) -> Circuit:
    """``depth`` layers of a random u3 on every qubit, then a CZ brickwork.

    Each ``u3(θ, φ, λ)`` is written as ``rz(λ)``, ``ry(θ)``, ``rz(φ)``: the same
    operator up to a global phase, which no sample sees, in gates every system's
    converter reads. The brickwork's pairs start at qubit 0 on even layers and at
    qubit 1 on odd ones. Angles are uniform in [0, 2π) from
    ``numpy.random.default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    gates: list[Gate] = []
    for layer in range(depth):
        angles = rng.uniform(0.0, 2 * math.pi, size=(n, 3))
        for q in range(n):
            theta, phi, lam = (float(a) for a in angles[q])
            gates += [Gate("rz", (q,), lam), Gate("ry", (q,), theta), Gate("rz", (q,), phi)]
        gates.extend(Gate("cz", (q, q + 1)) for q in range(layer % 2, n - 1, 2))
    return Circuit(n, tuple(gates), measure=measure)


def hardware_efficient_ansatz(n: int, reps: int) -> Circuit:
    """``reps`` blocks of a ry layer and a CX chain, then a last ry layer.

    Parameters are numbered in gate order, ``(reps + 1) * n`` of them.
    """
    gates: list[Gate] = []
    index = 0
    for block in range(reps + 1):
        for q in range(n):
            gates.append(Gate("ry", (q,), param=index))
            index += 1
        if block < reps:
            gates.extend(Gate("cx", (q, q + 1)) for q in range(n - 1))
    return Circuit(n, tuple(gates), num_params=index)


def bind(circuit: Circuit, values: np.ndarray) -> Circuit:
    """The circuit with each parameterised gate's angle taken from ``values``."""
    gates = tuple(
        gate if gate.param is None else Gate(gate.name, gate.qubits, float(values[gate.param]))
        for gate in circuit.gates
    )
    return Circuit(circuit.num_qubits, gates, circuit.measure)


def to_qiskit(circuit: Circuit, parameters: list | None = None):  # type: ignore[no-untyped-def]
    """The circuit as a Qiskit ``QuantumCircuit`` (with Qiskit ``Parameter`` objects
    from ``parameters`` for a parameterised circuit)."""
    from qiskit import QuantumCircuit

    out = QuantumCircuit(circuit.num_qubits, circuit.num_qubits if circuit.measure else 0)
    for gate in circuit.gates:
        angle = gate.angle if gate.param is None else parameters[gate.param]  # type: ignore[index]
        if gate.name in ROTATIONS:
            getattr(out, gate.name)(angle, *gate.qubits)
        else:
            getattr(out, gate.name)(*gate.qubits)
    if circuit.measure:
        out.measure(range(circuit.num_qubits), range(circuit.num_qubits))
    return out
